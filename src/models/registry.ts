// Model registry: the models loaded on this server, loaded on first use and attached to every thread.
import { InferenceError } from "../errors.ts";
import { Arena, type ArenaLayout } from "../pipeline/arena.ts";
import type { ModelDevice } from "../pipeline/device-group.ts";
import type { ModelSpec, TaskType } from "../pipeline/protocol.ts";
import { SlotAllocator } from "../pipeline/slot-allocator.ts";
import type { VisionPool } from "../pipeline/vision-pool.ts";
import { parseModelId } from "./model-id.ts";
import { resolveBatch, resolveInputSize } from "./model-io.ts";
import { BrokenPackageError, readModelPackage, type ModelPackage } from "./package.ts";

export interface RegistrySettings {
  modelCacheDir: string;
  maxBatchSize: number;
  arenaSlots: number;
}

/** A request parked until inference of its slot finishes. */
export interface SlotWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface LoadedModel {
  spec: ModelSpec;
  pkg: ModelPackage;
  arena: Arena;
  allocator: SlotAllocator;
  activeProvider: string;
  /** Per slot: the request waiting for its inference to finish. */
  slotWaiters: (SlotWaiter | undefined)[];
  /** Requests waiting for a free slot, oldest first. */
  admissionQueue: (() => void)[];
}

const SUPPORTED_TASKS: readonly TaskType[] = ["object-detection"];

/** Checks that the outputs fit the YOLOv8 detection layout: one (4 + classes) x anchors tensor per image. */
function checkDetectionOutputs(outputShapes: number[][], classCount: number): void {
  const shape = outputShapes[0];
  if (!shape || shape.length !== 2) {
    throw new BrokenPackageError(`Expected a detection output of shape [batch, 4 + classes, anchors], got [batch, ${shape?.join(", ") ?? ""}].`);
  }
  if (shape[0] !== 4 + classCount) {
    throw new BrokenPackageError(`The output has ${shape[0]} rows per anchor but the package names ${classCount} classes (expected ${4 + classCount}).`);
  }
}

export class ModelRegistry {
  private readonly models = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();

  constructor(
    private readonly settings: RegistrySettings,
    private readonly device: ModelDevice,
    private readonly pool: VisionPool,
  ) {}

  /** The loaded model for `rawId`, loading it first if needed; concurrent callers share one load. */
  async get(rawId: string): Promise<LoadedModel> {
    const modelId = parseModelId(rawId);
    const loaded = this.models.get(modelId.id);
    if (loaded) return loaded;
    let pending = this.loading.get(modelId.id);
    if (!pending) {
      pending = this.load(modelId.id).finally(() => this.loading.delete(modelId.id));
      this.loading.set(modelId.id, pending);
    }
    return pending;
  }

  /** The model loaded under `key`, if any (no loading). */
  loaded(key: string): LoadedModel | undefined {
    return this.models.get(key);
  }

  list(): LoadedModel[] {
    return [...this.models.values()];
  }

  private async load(id: string): Promise<LoadedModel> {
    const pkg = await readModelPackage(this.settings.modelCacheDir, parseModelId(id));
    if (!SUPPORTED_TASKS.includes(pkg.taskType as TaskType)) {
      throw new InferenceError(501, `Task type "${pkg.taskType}" of model ${id} is not supported by this server yet.`);
    }
    const resize = pkg.preprocessing.resize;
    const { session, activeProvider } = await this.device.load(id, pkg.weightsPath, { width: resize.width ?? 640, height: resize.height ?? 640 });
    const input = session.inputs[0]!;
    const size = resolveInputSize(input.shape, { width: resize.width, height: resize.height });
    const batch = resolveBatch(input.shape, this.settings.maxBatchSize);
    try {
      if (session.outputs.some((o) => o.elementType !== "float32")) {
        throw new BrokenPackageError(`Only float32 outputs are supported (outputs: ${session.outputs.map((o) => `${o.name}: ${o.elementType}`).join(", ")}).`);
      }
      checkDetectionOutputs(session.outputShapes, pkg.classNames.length);
    } catch (error) {
      this.device.unload(id);
      throw error;
    }

    const slots = Math.max(batch.capacity, Math.ceil(this.settings.arenaSlots / batch.capacity) * batch.capacity);
    const layout: ArenaLayout = {
      slots,
      paddingSlots: batch.fixed ? batch.capacity - 1 : 0,
      inputShape: [3, size.height, size.width],
      outputs: session.outputs.map((o, i) => ({ name: o.name, shape: session.outputShapes[i]! })),
    };
    const arena = Arena.allocate(layout);
    const spec: ModelSpec = {
      key: id,
      taskType: pkg.taskType as TaskType,
      family: "yolov8",
      classNames: pkg.classNames,
      preprocessing: pkg.preprocessing,
      input: { name: input.name, width: size.width, height: size.height, mean: [0, 0, 0], std: [1, 1, 1] },
      arena: { layout, buffer: arena.buffer },
      batch,
    };
    this.pool.attach(spec);
    this.device.attach(id, spec.arena, batch, input.name, layout.outputs.map((o) => o.name));
    const model: LoadedModel = {
      spec,
      pkg,
      arena,
      allocator: new SlotAllocator(arena),
      activeProvider,
      slotWaiters: new Array(arena.totalSlots).fill(undefined),
      admissionQueue: [],
    };
    this.models.set(id, model);
    const mib = (arena.buffer.byteLength / 2 ** 20).toFixed(0);
    console.log(`loaded ${id}: input ${size.width}x${size.height}, batch ${batch.fixed ? `fixed ${batch.capacity}` : `dynamic <= ${batch.capacity}`}, ${slots} slots (${mib} MiB arena), provider ${activeProvider}`);
    return model;
  }
}

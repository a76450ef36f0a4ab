// Model registry: the models loaded on this server, loaded on first use, attached to every thread, unloaded on request.
import { InferenceError } from "../errors.ts";
import { Arena, SlotState } from "../pipeline/arena.ts";
import { arenaLayoutFor, checkArenaSize } from "../pipeline/arena-size.ts";
import type { ModelDevice } from "../pipeline/device-group.ts";
import type { ModelSpec, TaskType } from "../pipeline/protocol.ts";
import { SlotAllocator } from "../pipeline/slot-allocator.ts";
import { releasePages } from "../pipeline/memory-release.ts";
import type { VisionPool } from "../pipeline/vision-pool.ts";
import { classificationNormalisation } from "./families/classification.ts";
import { requestedModel } from "./aliases.ts";
import type { ModelId } from "./model-id.ts";
import { resolveBatch, resolveInputSize } from "./model-io.ts";
import { resolveOutputLayout } from "./output-layout.ts";
import { BrokenPackageError, ModelNotFoundError, readModelPackage, type ModelPackage } from "./package.ts";
import { RoboflowApiError } from "./roboflow/api.ts";

export interface RegistrySettings {
  modelCacheDir: string;
  maxBatchSize: number;
  arenaSlots: number;
  maxArenaBytes: number;
}

/** Puts a model's package into the cache when it is missing (the Roboflow API download, see roboflow/download.ts). */
export interface ModelProvisioner {
  ensureCached(modelId: ModelId, apiKey?: string | null): Promise<void>;
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
  /** Set when the model is being unloaded: no new request is admitted. */
  closing: boolean;
}

const SUPPORTED_TASKS: readonly TaskType[] = ["object-detection", "instance-segmentation", "classification"];
const NO_NORMALISATION = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
/** How long an unload waits for admitted requests to finish before tearing the model down anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

export class ModelNotReadyError extends InferenceError {
  constructor() {
    super(503, "Model is temporarily not ready - retry request.", { "Retry-After": "1" });
  }
}

export class ModelRegistry {
  private readonly models = new Map<string, LoadedModel>();
  /** Loads in progress, with the API key of the request that started each (a download may depend on it). */
  private readonly loading = new Map<string, { apiKey: string | null; promise: Promise<LoadedModel> }>();
  /** Models being unloaded: their admitted requests still finish, and a reload waits for them. */
  private readonly draining = new Map<string, { model: LoadedModel; done: Promise<void> }>();

  constructor(
    private readonly settings: RegistrySettings,
    private readonly device: ModelDevice,
    private readonly pool: VisionPool,
    private readonly provisioner?: ModelProvisioner,
  ) {}

  /**
   * The loaded model for `rawId` (a `dataset/version` id or an alias), loading it first if needed, and downloading
   * its package first when it is not in the cache (with `apiKey`, see ModelProvisioner). Concurrent callers share
   * one load; other models keep serving meanwhile (the download is asynchronous I/O on this thread). A caller
   * whose key differs from that of a shared load that failed for its key (401, 403, 404...) tries its own.
   */
  async get(rawId: string, apiKey?: string | null): Promise<LoadedModel> {
    const { key, modelId } = requestedModel(rawId);
    const ownKey = apiKey ?? null;
    for (;;) {
      const loaded = this.models.get(key);
      if (loaded) return loaded;
      await this.draining.get(key)?.done;
      const pending = this.loading.get(key);
      if (!pending) {
        const promise = this.load(key, modelId, ownKey).finally(() => this.loading.delete(key));
        this.loading.set(key, { apiKey: ownKey, promise });
        return promise;
      }
      try {
        return await pending.promise;
      } catch (error) {
        // A load that failed for want of (or for) its caller's key is not this caller's answer when its key differs.
        const keyDependent = (error instanceof RoboflowApiError && error.keyDependent) || error instanceof ModelNotFoundError;
        if (!keyDependent || pending.apiKey === ownKey) throw error;
      }
    }
  }

  /** The model loaded (or still draining) under `key`, if any; never loads. */
  loaded(key: string): LoadedModel | undefined {
    return this.models.get(key) ?? this.draining.get(key)?.model;
  }

  list(): LoadedModel[] {
    return [...this.models.values()];
  }

  /** Unloads a model: stops admitting, lets admitted requests finish, then frees its arena and session. */
  async unload(rawId: string): Promise<boolean> {
    const id = requestedModel(rawId).key;
    await this.loading.get(id)?.promise.catch(() => undefined);
    const model = this.models.get(id);
    if (!model) {
      await this.draining.get(id)?.done;
      return false;
    }
    this.models.delete(id);
    model.closing = true;
    for (const wake of model.admissionQueue.splice(0)) wake();
    const done = this.drain(model);
    this.draining.set(id, { model, done });
    await done;
    this.draining.delete(id);
    setTimeout(() => Bun.gc(true), 0);
    return true;
  }

  /** Waits for every slot to come back FREE (bounded), then releases the model's threads' resources. */
  private async drain(model: LoadedModel): Promise<void> {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (model.arena.countInState(SlotState.FREE) < model.arena.layout.slots && Date.now() < deadline) {
      await Bun.sleep(5);
    }
    this.pool.detach(model.spec.key);
    this.device.unload(model.spec.key);
    // Drained: no thread touches the arena again, so its pages go back now, not when the last thread has collected it
    // (not after a drain that timed out: a slot still in use might yet be read).
    if (model.arena.countInState(SlotState.FREE) === model.arena.layout.slots) releasePages(model.arena.buffer);
    console.log(`unloaded ${model.spec.key}`);
  }

  async unloadAll(): Promise<void> {
    await Promise.all([...this.models.keys()].map((id) => this.unload(id)));
  }

  /** Loads the package of `modelId` under the registry key `id` (the alias when one was asked for). */
  private async load(id: string, modelId: ModelId, apiKey: string | null): Promise<LoadedModel> {
    await this.provisioner?.ensureCached(modelId, apiKey);
    const pkg = await readModelPackage(this.settings.modelCacheDir, modelId);
    if (!SUPPORTED_TASKS.includes(pkg.taskType as TaskType)) {
      throw new InferenceError(501, `Task type "${pkg.taskType}" of model ${id} is not supported by this server.`);
    }
    const taskType = pkg.taskType as TaskType;
    const resize = pkg.preprocessing.resize;
    const { session, activeProvider } = await this.device.load(id, pkg.weightsPath, { width: resize.width ?? 640, height: resize.height ?? 640 });
    const input = session.inputs[0]!;
    const size = resolveInputSize(input.shape, { width: resize.width, height: resize.height });
    const batch = resolveBatch(input.shape, this.settings.maxBatchSize);
    let spec: ModelSpec;
    let arena: Arena;
    try {
      if (session.outputs.some((o) => o.elementType !== "float32")) {
        throw new BrokenPackageError(`Only float32 outputs are supported (outputs: ${session.outputs.map((o) => `${o.name}: ${o.elementType}`).join(", ")}).`);
      }
      const layout = resolveOutputLayout(taskType, session.outputShapes, pkg.classNames.length, pkg.multiLabel, pkg.modelType);
      const arenaLayout = arenaLayoutFor(batch, this.settings.arenaSlots, size, session.outputs.map((o, i) => ({ name: o.name, shape: session.outputShapes[i]! })));
      checkArenaSize(id, arenaLayout, this.settings.maxArenaBytes);
      arena = Arena.allocate(arenaLayout);
      const normalisation = taskType === "classification" ? classificationNormalisation(pkg.modelType) : NO_NORMALISATION;
      spec = {
        key: id,
        taskType,
        layout,
        classNames: pkg.classNames,
        colors: pkg.colors,
        preprocessing: pkg.preprocessing,
        input: { name: input.name, width: size.width, height: size.height, mean: [...normalisation.mean], std: [...normalisation.std] },
        arena: { layout: arenaLayout, buffer: arena.buffer },
        batch,
      };
    } catch (error) {
      this.device.unload(id);
      throw error;
    }
    this.pool.attach(spec);
    this.device.attach(id, spec.arena, batch, input.name, spec.arena.layout.outputs.map((o) => o.name));
    const model: LoadedModel = {
      spec,
      pkg,
      arena,
      allocator: new SlotAllocator(arena),
      activeProvider,
      slotWaiters: new Array(arena.totalSlots).fill(undefined),
      admissionQueue: [],
      closing: false,
    };
    this.models.set(id, model);
    const mib = (arena.buffer.byteLength / 2 ** 20).toFixed(0);
    console.log(
      `loaded ${id} (${taskType}): input ${size.width}x${size.height}, batch ${batch.fixed ? `fixed ${batch.capacity}` : `dynamic <= ${batch.capacity}`}, ${spec.arena.layout.slots} slots (${mib} MiB arena), provider ${activeProvider}`,
    );
    return model;
  }
}

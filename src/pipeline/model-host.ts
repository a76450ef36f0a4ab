// Model host: the models loaded on this server as running instances (arenas, sessions on every device, vision workers),
// loaded on first use, unloaded on request, and kept until their last batch has reported.
//
// What a model is (id -> package -> spec) is resolved in src/models; this file hosts it. Every load is a new instance with
// a new arena and a new id (model-instance.ts): an unload that gives up waiting for a slow batch leaves the old instance
// to finish on its own, and nothing of it can ever reach a newer instance of the same model.
import { HttpError } from "../errors.ts";
import { SingleFlight } from "../single-flight.ts";
import { requestedModel } from "../models/aliases.ts";
import type { ModelId } from "../models/model-id.ts";
import { expectedPixelEncoding, pixelEncodingFor, sameEncoding, type InputEncodingSetting } from "../models/input-encoding.ts";
import { checkPackage, resolveModelSpec } from "../models/model-spec.ts";
import { ModelNotFoundError, readModelPackage } from "../models/package.ts";
import { RoboflowApiError } from "../models/roboflow/api.ts";
import type { SoftmaxRule } from "../models/tasks/classification.ts";
import { Arena } from "../workers/arena.ts";
import type { BatchingSettings } from "../workers/batcher.ts";
import { releasePages } from "../workers/memory-release.ts";
import type { AdmissionSettings } from "./admission.ts";
import { arenaLayoutFor, checkArenaSize } from "./arena-size.ts";
import type { ModelDevice } from "./device-group.ts";
import type { ModelInstance } from "./model-instance.ts";
import { ModelQueue } from "./model-queue.ts";
import type { VisionPool } from "./vision-pool.ts";

/** The models section of the configuration. */
export interface ModelHostSettings {
  /** Where model packages live, in the reference's cache layout (`<dataset>/<version>/`). */
  modelCacheDir: string;
  /** Arena slots per model; each holds one preprocessed image and its raw outputs (rounded up to whole batches). */
  arenaSlots: number;
  /** MAX_ARENA_BYTES: the largest arena a model may have; a model over it is refused at import and at load (400). */
  maxArenaBytes: number;
  /** How long an unload waits for admitted requests before failing them (503) and leaving the instance to finish alone. */
  unloadDrainTimeoutMs: number;
  /** CLASSIFICATION_SOFTMAX: "logits" softmaxes only raw logits; "reference" every single-label output, as the reference does. */
  classificationSoftmax: SoftmaxRule;
  /** RFDETR_ONNX_MAX_RESOLUTION: RF-DETR packages of this resolution or more are refused with 507. */
  rfdetrOnnxMaxResolution: number;
  /** INPUT_ENCODING: how arena slots hold inputs, pixels the model normalises itself where it can (docs/compatibility.md §4.1). */
  inputEncoding: InputEncodingSetting;
}

/** Puts a model's package into the cache when it is missing (the Roboflow API download, see roboflow/download.ts). */
export interface ModelProvisioner {
  ensureCached(modelId: ModelId, apiKey?: string | null): Promise<void>;
}

export class ModelHost {
  /** The instance serving each model id now. */
  private readonly live = new Map<string, ModelInstance>();
  /** Every instance not yet released, live or being unloaded, by instance id: batch reports find theirs here. */
  private readonly instances = new Map<number, ModelInstance>();
  /** Loads in progress by model id, each tagged with the API key of the request that started it (a download may depend on it). */
  private readonly loads = new SingleFlight<string, ModelInstance, string | null>();
  /** Unloads waiting for their admitted requests (at most unloadDrainTimeoutMs): a reload of the same id waits for them. */
  private readonly draining = new Map<string, Promise<void>>();
  private nextInstanceId = 1;

  constructor(
    private readonly settings: ModelHostSettings,
    private readonly admission: AdmissionSettings,
    private readonly batching: BatchingSettings,
    private readonly device: ModelDevice,
    private readonly pool: VisionPool,
    private readonly ringDoorbell: () => void,
    private readonly provisioner?: ModelProvisioner,
  ) {}

  /**
   * The instance serving `rawId` (a `dataset/version` id or an alias), loading it first if needed, and downloading
   * its package first when it is not in the cache (with `apiKey`, see ModelProvisioner). Concurrent callers share
   * one load; other models keep serving meanwhile (the download is asynchronous I/O on this thread). A caller
   * whose key differs from that of a shared load that failed for its key (401, 403, 404...) tries its own.
   */
  async get(rawId: string, apiKey?: string | null): Promise<ModelInstance> {
    const { key, modelId } = requestedModel(rawId);
    const ownKey = apiKey ?? null;
    const live = this.live.get(key);
    if (live) return live;
    await this.draining.get(key);
    return this.loads.run(key, {
      tag: ownKey,
      done: () => this.live.get(key),
      work: () => this.load(key, modelId, ownKey),
      // A load that failed for want of (or for) its caller's key is not this caller's answer when its key differs.
      retry: (error, theirs) => ((error instanceof RoboflowApiError && error.keyDependent) || error instanceof ModelNotFoundError) && theirs !== ownKey,
    });
  }

  /** The instance serving `key` now, if any; never loads. */
  loaded(key: string): ModelInstance | undefined {
    return this.live.get(key);
  }

  /** Any instance not yet released (live or being unloaded), by its id. */
  instance(id: number): ModelInstance | undefined {
    return this.instances.get(id);
  }

  list(): ModelInstance[] {
    return [...this.live.values()];
  }

  /**
   * Unloads a model: its instance admits nothing more, its admitted requests get up to unloadDrainTimeoutMs to finish, then
   * the ones still waiting for a batch fail with 503 and the instance is released once its last batch has reported.
   */
  async unload(rawId: string): Promise<boolean> {
    const key = requestedModel(rawId).key;
    await this.loads.settled(key);
    const instance = this.live.get(key);
    if (!instance) {
      await this.draining.get(key);
      return false;
    }
    this.live.delete(key);
    const drain = this.retire(instance).finally(() => this.draining.delete(key));
    this.draining.set(key, drain);
    await drain;
    return true;
  }

  async unloadAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((key) => this.unload(key)));
  }

  /** Closes the instance's queue and waits (bounded) for it to drain; what is left is failed and finishes in the background. */
  private async retire(instance: ModelInstance): Promise<void> {
    instance.queue.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), this.settings.unloadDrainTimeoutMs)));
    const stuck = await Promise.race([instance.queue.drained.then(() => false), timedOut]);
    clearTimeout(timer);
    if (stuck) {
      const key = instance.spec.key;
      console.warn(
        `unloading ${key}: ${instance.queue.slotsInUse} images still in flight after ${this.settings.unloadDrainTimeoutMs} ms; failing them, the instance goes once its batches report`,
      );
      instance.queue.abandon(new HttpError(503, `Model ${key} was unloaded while this request was in flight. Retry the request.`, { "Retry-After": "1" }));
    }
    void instance.queue.drained.then(() => this.release(instance));
  }

  /** No thread touches the instance any more: its workers forget it and its arena's pages go back to the system now. */
  private release(instance: ModelInstance): void {
    this.instances.delete(instance.id);
    this.pool.detach(instance.id);
    this.device.unload(instance.id);
    releasePages(instance.arena.buffer);
    console.log(`unloaded ${instance.spec.key} (instance ${instance.id})`);
    setTimeout(() => Bun.gc(true), 0);
  }

  /** Loads the package of `modelId` as a new instance under `key` (the alias when one was asked for). */
  private async load(key: string, modelId: ModelId, apiKey: string | null): Promise<ModelInstance> {
    await this.provisioner?.ensureCached(modelId, apiKey);
    const pkg = await readModelPackage(this.settings.modelCacheDir, modelId);
    checkPackage(key, pkg, this.settings);
    const id = this.nextInstanceId++;
    const resize = pkg.preprocessing.resize;
    const probeInput = { width: resize.width ?? 640, height: resize.height ?? 640 };
    // The family, and so the normalisation, is only certain once the session's outputs are known: the load asks for
    // what the package's model type implies, and loads again in the rare case the outputs say otherwise.
    const asked = expectedPixelEncoding(this.settings.inputEncoding, pkg);
    let { session, activeProvider } = await this.device.load(id, key, pkg.weightsPath, probeInput, asked);
    let arena: Arena;
    let spec;
    try {
      spec = resolveModelSpec(key, pkg, session, { ...this.settings, maxBatchSize: this.batching.maxBatchSize });
      const wanted = pixelEncodingFor(this.settings.inputEncoding, spec.input, spec.preprocessing.resize.method);
      if (session.inputElement !== "float32" && !sameEncoding(asked, wanted)) {
        this.device.unload(id);
        ({ session, activeProvider } = await this.device.load(id, key, pkg.weightsPath, probeInput, wanted));
        spec = resolveModelSpec(key, pkg, session, { ...this.settings, maxBatchSize: this.batching.maxBatchSize });
      }
      const outputs = session.outputs.map((o, i) => ({ name: o.name, shape: session.outputShapes[i]! }));
      const arenaLayout = arenaLayoutFor(spec.batch, this.settings.arenaSlots, { ...spec.input, element: session.inputElement }, outputs);
      // A 400 naming MAX_ARENA_BYTES rather than a failed allocation's 500.
      checkArenaSize(key, arenaLayout, this.settings.maxArenaBytes);
      arena = Arena.allocate(arenaLayout);
    } catch (error) {
      this.device.unload(id);
      throw error;
    }
    const handle = { layout: arena.layout, buffer: arena.buffer };
    this.pool.attach(id, spec, handle);
    this.device.attach({ instance: id, arena: handle, batch: spec.batch, inputName: spec.input.name, outputNames: arena.layout.outputs.map((o) => o.name) });
    const instance: ModelInstance = {
      id,
      spec,
      pkg,
      arena,
      queue: new ModelQueue(key, arena, this.admission, this.ringDoorbell),
      activeProvider,
    };
    this.instances.set(id, instance);
    this.live.set(key, instance);
    const { batch, input } = spec;
    const mib = (arena.buffer.byteLength / 2 ** 20).toFixed(0);
    console.log(
      `loaded ${key} (${spec.taskType}, ${spec.layout.family}, instance ${id}): input ${input.width}x${input.height}, batch ${batch.fixed ? `fixed ${batch.capacity}` : `dynamic <= ${batch.capacity}`}, ${arena.layout.slots} ${arena.layout.inputElement} slots (${mib} MiB arena), provider ${activeProvider}`,
    );
    return instance;
  }
}

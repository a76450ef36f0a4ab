// Dispatcher: carries one image through admission, preprocessing, batched inference and postprocessing (main thread).
import { abortError, throwIfAborted, untilAborted } from "../deadline.ts";
import { InferenceError } from "../errors.ts";
import { ModelNotReadyError, type LoadedModel, type ModelRegistry } from "../models/registry.ts";
import { SlotState } from "./arena.ts";
import type { BatchReport } from "./inference-device.ts";
import type { ImageInput, ImageMeta, PostprocessResult, PreprocessFlags, TaskParams, VisualizationRequest } from "./protocol.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { VisionPool } from "./vision-pool.ts";
import { ENCODED_BYTES_TYPE } from "../vision/image-input.ts";

export interface DispatcherSettings {
  /** Requests allowed to wait for a free slot per model before new ones are refused. */
  maxQueue: number;
  /** URL images downloading at once, server-wide, before new ones are refused (absent = no limit). */
  urlInput?: { maxConcurrent: number };
}

export class Dispatcher {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly pool: VisionPool,
    private readonly settings: DispatcherSettings,
    private readonly metrics: ServerMetrics,
  ) {}

  /** URL images being downloaded now (they hold no arena slot, so they are bounded here). */
  private downloads = 0;

  /**
   * Runs one image through the model; resolves with the response body (without `inference_id` and `time`).
   * When `signal` aborts (the request's deadline passed, or its client went away) the answer is given at
   * once and the image stops at the next stage boundary: a queued request leaves the queue, a READY slot
   * is freed before any batch takes it. A slot a worker is writing is freed when the worker is done with it.
   */
  infer(
    model: LoadedModel,
    image: ImageInput,
    flags: PreprocessFlags,
    params: TaskParams,
    visualize: VisualizationRequest | null,
    signal?: AbortSignal,
  ): Promise<PostprocessResult> {
    const work = this.carry(model, image, flags, params, visualize, signal);
    if (!signal) return work;
    // The work goes on to its next stage boundary after an abort; its failure then has no listener.
    work.catch(() => {});
    return untilAborted(work, signal);
  }

  private async carry(
    model: LoadedModel,
    image: ImageInput,
    flags: PreprocessFlags,
    params: TaskParams,
    visualize: VisualizationRequest | null,
    signal: AbortSignal | undefined,
  ): Promise<PostprocessResult> {
    // A URL image is downloaded (by a vision worker) before it may claim an arena slot, so a slow
    // or stalled image server holds no slot; preprocessing and the visualisation reuse the bytes.
    if (image.type.toLowerCase() === "url") {
      image = { type: ENCODED_BYTES_TYPE, value: await this.download(image) };
      if (visualize) visualize = { ...visualize, image };
      throwIfAborted(signal);
    }
    const key = model.spec.key;
    const stages = this.metrics.stageClock(key);
    const slot = await this.admit(model, signal);
    stages.lap("queue_wait");
    const inferred = new Promise<void>((resolve, reject) => (model.slotWaiters[slot] = { resolve, reject }));
    // Rejections that land after an earlier failure must not surface as unhandled.
    inferred.catch(() => {});
    try {
      const meta = await this.pool.run<ImageMeta>({ type: "preprocess", key, slot, image, flags });
      stages.lap("preprocess");
      throwIfAborted(signal);
      await (signal ? untilAborted(inferred, signal) : inferred);
      // batch_wait and inference are recorded from the batch report (onInferred).
      stages.skip();
      throwIfAborted(signal);
      // The postprocessing worker returns the slot to FREE itself, success or failure.
      const result = await this.pool.run<PostprocessResult>({ type: "postprocess", key, slot, meta, params, visualize });
      stages.lap("postprocess");
      return result;
    } catch (error) {
      this.reclaim(model, slot);
      throw error;
    } finally {
      this.admitWaiting(model);
    }
  }

  /** Downloads a URL image in a vision worker; refused with 503 while URL_INPUT_MAX_CONCURRENT downloads run. */
  private async download(image: ImageInput): Promise<Uint8Array> {
    if (this.downloads >= (this.settings.urlInput?.maxConcurrent ?? Infinity)) {
      throw new InferenceError(503, "Server is downloading as many URL images as it may at once. Retry later.", { "Retry-After": "1" });
    }
    this.downloads++;
    try {
      return await this.pool.run<Uint8Array>({ type: "fetch", image });
    } finally {
      this.downloads--;
    }
  }

  /** The inference worker finished a batch: wake the requests whose slots it ran. */
  onInferred(batch: BatchReport): void {
    const model = this.registry.loaded(batch.key);
    this.metrics.recordBatch(batch, model?.arena.readyAt);
    if (!model) return;
    for (let slot = batch.start; slot < batch.start + batch.count; slot++) {
      const waiter = model.slotWaiters[slot];
      model.slotWaiters[slot] = undefined;
      waiter?.resolve();
    }
  }

  onBatchFailed(key: string, start: number, count: number, error: InferenceError): void {
    console.error(`inference failed for ${key} slots ${start}..${start + count - 1}: ${error.message}`);
    const model = this.registry.loaded(key);
    if (!model) return;
    for (let slot = start; slot < start + count; slot++) {
      const waiter = model.slotWaiters[slot];
      model.slotWaiters[slot] = undefined;
      waiter?.reject(new InferenceError(500, "Internal error. Inference failed for this batch."));
    }
  }

  /** Claims a free slot, waiting in the model's bounded queue when all are busy (and leaving it on abort). */
  private async admit(model: LoadedModel, signal: AbortSignal | undefined): Promise<number> {
    throwIfAborted(signal);
    if (model.closing) throw new ModelNotReadyError();
    const slot = model.allocator.acquire();
    if (slot >= 0) return slot;
    if (model.admissionQueue.length >= this.settings.maxQueue) {
      throw new InferenceError(503, `Server is at capacity for model ${model.spec.key}. Retry later.`, { "Retry-After": "1" });
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", leave);
        resolve();
      };
      const leave = () => {
        const index = model.admissionQueue.indexOf(wake);
        if (index >= 0) model.admissionQueue.splice(index, 1);
        reject(abortError(signal!));
      };
      model.admissionQueue.push(wake);
      signal?.addEventListener("abort", leave, { once: true });
    });
    return this.admit(model, signal);
  }

  private admitWaiting(model: LoadedModel): void {
    const free = model.arena.layout.slots - model.allocator.inUse();
    for (let i = 0; i < free && model.admissionQueue.length > 0; i++) model.admissionQueue.shift()!();
  }

  /**
   * Returns a failed or abandoned request's slot to FREE. A slot a batch is running is freed when
   * the batch reports back; a READY slot is taken back by compare-and-swap, since the inference
   * worker may be claiming it at this very moment.
   */
  private reclaim(model: LoadedModel, slot: number): void {
    const { arena } = model;
    const state = arena.state(slot);
    if (state === SlotState.FREE) return;
    const takenBack = state === SlotState.READY ? arena.transition(slot, SlotState.READY, SlotState.FREE) : state !== SlotState.RUNNING;
    if (takenBack) {
      model.slotWaiters[slot] = undefined;
      Atomics.store(arena.states, slot, SlotState.FREE);
      return;
    }
    const free = () => {
      Atomics.store(arena.states, slot, SlotState.FREE);
      this.admitWaiting(model);
    };
    model.slotWaiters[slot] = { resolve: free, reject: free };
  }
}

// Dispatcher: carries one image through admission, preprocessing, batched inference and postprocessing (main thread).
import { InferenceError } from "../errors.ts";
import { ModelNotReadyError, type LoadedModel, type ModelRegistry } from "../models/registry.ts";
import { SlotState } from "./arena.ts";
import type { BatchReport } from "./inference-device.ts";
import type { ImageInput, ImageMeta, PostprocessResult, PreprocessFlags, TaskParams, VisualizationRequest } from "./protocol.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { VisionPool } from "./vision-pool.ts";

export interface DispatcherSettings {
  /** Requests allowed to wait for a free slot per model before new ones are refused. */
  maxQueue: number;
}

export class Dispatcher {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly pool: VisionPool,
    private readonly settings: DispatcherSettings,
    private readonly metrics: ServerMetrics,
  ) {}

  /** Runs one image through the model; resolves with the response body (without `inference_id` and `time`). */
  async infer(model: LoadedModel, image: ImageInput, flags: PreprocessFlags, params: TaskParams, visualize: VisualizationRequest | null): Promise<PostprocessResult> {
    const key = model.spec.key;
    const stages = this.metrics.stageClock(key);
    const slot = await this.admit(model);
    stages.lap("queue_wait");
    const inferred = new Promise<void>((resolve, reject) => (model.slotWaiters[slot] = { resolve, reject }));
    // Rejections that land after an earlier failure must not surface as unhandled.
    inferred.catch(() => {});
    try {
      const meta = await this.pool.run<ImageMeta>({ type: "preprocess", key, slot, image, flags });
      stages.lap("preprocess");
      await inferred;
      // batch_wait and inference are recorded from the batch report (onInferred).
      stages.skip();
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

  /** Claims a free slot, waiting in the model's bounded queue when all are busy. */
  private async admit(model: LoadedModel): Promise<number> {
    if (model.closing) throw new ModelNotReadyError();
    const slot = model.allocator.acquire();
    if (slot >= 0) return slot;
    if (model.admissionQueue.length >= this.settings.maxQueue) {
      throw new InferenceError(503, `Server is at capacity for model ${model.spec.key}. Retry later.`, { "Retry-After": "1" });
    }
    await new Promise<void>((resolve) => model.admissionQueue.push(resolve));
    return this.admit(model);
  }

  private admitWaiting(model: LoadedModel): void {
    const free = model.arena.layout.slots - model.allocator.inUse();
    for (let i = 0; i < free && model.admissionQueue.length > 0; i++) model.admissionQueue.shift()!();
  }

  /** Returns a failed request's slot to FREE; a slot still running is freed when its batch reports back. */
  private reclaim(model: LoadedModel, slot: number): void {
    const state = model.arena.state(slot);
    if (state === SlotState.FREE) return;
    if (state === SlotState.RUNNING) {
      const free = () => {
        Atomics.store(model.arena.states, slot, SlotState.FREE);
        this.admitWaiting(model);
      };
      model.slotWaiters[slot] = { resolve: free, reject: free };
      return;
    }
    model.slotWaiters[slot] = undefined;
    Atomics.store(model.arena.states, slot, SlotState.FREE);
  }
}

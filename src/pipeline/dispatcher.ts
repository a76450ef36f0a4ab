// Dispatcher: carries a request's images through admission, preprocessing, batched inference and postprocessing (main thread).
//
// It only sequences stages: slots, queues and admission belong to each instance's ModelQueue, threads to the pools.
import { fromWireError, HttpError, toWireError } from "../errors.ts";
import type { TaskParams } from "../models/task.ts";
import { ENCODED_BYTES_TYPE, type ImageInput } from "../vision/image-input.ts";
import type { PreprocessSwitches } from "../vision/preprocess.ts";
import type { UrlInputSettings } from "../vision/url-policy.ts";
import type { BatchReport, ImageMeta, PostprocessResult, VisualizationRequest } from "../workers/protocol.ts";
import { throwIfAborted, untilAborted } from "../deadline.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { ModelHost } from "./model-host.ts";
import type { ModelInstance } from "./model-instance.ts";
import type { VisionPool } from "./vision-pool.ts";

/** One request's images and what to do with them. */
export interface InferenceJob {
  images: ImageInput[];
  switches: PreprocessSwitches;
  params: TaskParams;
  /** Also draw the predictions on each image (visualize_predictions). */
  visualization: { strokeWidth: number; labels: boolean } | null;
  /** Aborts at the request's deadline or when its client goes away. */
  signal?: AbortSignal;
}

export class Dispatcher {
  /** URL images being downloaded now (they hold no arena slot, so they are bounded here). */
  private downloads = 0;

  constructor(
    private readonly host: ModelHost,
    private readonly pool: VisionPool,
    /** URL_INPUT_MAX_CONCURRENT: URL images downloading at once, server-wide, before new ones are refused. */
    private readonly urlInput: Pick<UrlInputSettings, "maxConcurrent">,
    private readonly metrics: ServerMetrics,
  ) {}

  /**
   * Runs every image of a request through `instance`; resolves with one response body per image (without
   * `inference_id` and `time`). The images are admitted together or not at all, each in its own slot, so they batch
   * with everyone's. When the request is answered early (an image failed, its deadline passed, its client left), its
   * other images stop at their next stage boundary: a queued one leaves the queue, a READY slot is withdrawn before any
   * batch takes it, a running one skips postprocessing.
   */
  async infer(instance: ModelInstance, job: InferenceJob): Promise<PostprocessResult[]> {
    // A URL image is downloaded (by a vision worker) before the request is admitted, so a slow or stalled image server
    // holds no slot; preprocessing and the visualisation reuse the bytes.
    const images = await untilAborted(Promise.all(job.images.map((image) => this.downloaded(image))), job.signal);
    const request = new AbortController();
    const signal = job.signal ? AbortSignal.any([job.signal, request.signal]) : request.signal;
    const slots = instance.queue.admit(images.length, signal);
    const autoOrient = instance.spec.preprocessing.autoOrient && !job.switches.disableAutoOrient;
    const carried = images.map((image, i) => {
      const visualize: VisualizationRequest | null = job.visualization ? { image, autoOrient, ...job.visualization } : null;
      const work = this.carry(instance, slots[i]!, image, job, visualize, signal);
      // One image failing answers the request: its siblings stop (an unexpected error is a 500, as the HTTP layer words it).
      work.catch((error) => request.abort(fromWireError(toWireError(error))));
      return untilAborted(work, signal);
    });
    return Promise.all(carried);
  }

  /** The batch ran: wake the requests of its slots in its instance (an instance being unloaded included). */
  onInferred(batch: BatchReport): void {
    const instance = this.host.instance(batch.instance);
    if (!instance) return;
    this.metrics.recordBatch(instance.spec.key, batch, instance.arena.readyAt);
    instance.queue.onInferred(batch.start, batch.count);
  }

  onBatchFailed(instanceId: number, start: number, count: number, error: HttpError): void {
    const instance = this.host.instance(instanceId);
    console.error(`inference failed for ${instance?.spec.key ?? `instance ${instanceId}`} slots ${start}..${start + count - 1}: ${error.message}`);
    instance?.queue.onBatchFailed(start, count, new HttpError(500, "Internal error. Inference failed for this batch."));
  }

  /** One image from its queue place to its response body; its slot goes back whatever happens. */
  private async carry(
    instance: ModelInstance,
    slotPromise: Promise<number>,
    image: ImageInput,
    job: InferenceJob,
    visualize: VisualizationRequest | null,
    signal: AbortSignal,
  ): Promise<PostprocessResult> {
    const { queue } = instance;
    const stages = this.metrics.stageClock(instance.spec.key);
    const slot = await slotPromise;
    stages.lap("queue_wait");
    const inferred = queue.inferred(slot);
    let answered = false;
    try {
      throwIfAborted(signal);
      const meta = await this.pool.run<ImageMeta>({ type: "preprocess", instance: instance.id, slot, image, switches: job.switches });
      stages.lap("preprocess");
      throwIfAborted(signal);
      await untilAborted(inferred, signal);
      // batch_wait and inference are recorded from the batch report (onInferred).
      stages.skip();
      throwIfAborted(signal);
      const result = await this.pool.run<PostprocessResult>({ type: "postprocess", instance: instance.id, slot, meta, params: job.params, visualize });
      stages.lap("postprocess");
      answered = true;
      return result;
    } finally {
      queue.release(slot, answered);
    }
  }

  /** The image itself, or for a `url` image its bytes, downloaded in a vision worker; 503 while URL_INPUT_MAX_CONCURRENT downloads run. */
  private async downloaded(image: ImageInput): Promise<ImageInput> {
    if (image.type.toLowerCase() !== "url") return image;
    if (this.downloads >= this.urlInput.maxConcurrent) {
      throw new HttpError(503, "Server is downloading as many URL images as it may at once. Retry later.", { "Retry-After": "1" });
    }
    this.downloads++;
    try {
      return { type: ENCODED_BYTES_TYPE, value: await this.pool.run<Uint8Array>({ type: "fetch", image }) };
    } finally {
      this.downloads--;
    }
  }
}

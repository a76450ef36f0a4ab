// Server metrics: every series /metrics exports (HTTP answers, per-stage times, batch sizes, queues, arena, workers, thread memory) and their recorders.
import { sharedNow } from "../workers/arena.ts";
import type { BatchReport } from "../workers/protocol.ts";
import type { ThreadMemory } from "../workers/thread-memory.ts";
import type { ModelHost } from "./model-host.ts";
import { Counter, Gauge, Histogram, exposition } from "./prometheus.ts";
import type { VisionPool } from "./vision-pool.ts";

/**
 * Where an image spends its time, in order; per image they add up to its time in the pipeline.
 * queue_wait: waiting for a free arena slot. preprocess: from handing it to a vision worker
 * until its tensor is READY. batch_wait: READY until its batch starts in ONNX Runtime.
 * inference: that ONNX Runtime call. postprocess: from INFERRED until its response body exists.
 */
export type Stage = "queue_wait" | "preprocess" | "batch_wait" | "inference" | "postprocess";

/** Upper bounds of the batch-size histogram buckets. */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Upper bounds (seconds) of the stage histograms: 0.5 ms (a postprocess) to a minute (a deep queue). */
const STAGE_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Per-model occupancy, worker health and thread memory, read from the pipeline when /metrics is scraped. */
export interface PipelineSample {
  models: { key: string; queued: number; slotsInUse: number; slots: number; arenaBytes: number }[];
  visionWorkerRestarts: number;
  /** The HTTP thread's memory (`http`) and each vision worker's that answered (`vision-<n>`, in pool order). */
  threads: { thread: string; memory: ThreadMemory }[];
}

/** `httpThread` is the HTTP thread's own reading: only that thread can take it. */
export async function samplePipeline(host: ModelHost, pool: VisionPool, httpThread: ThreadMemory): Promise<PipelineSample> {
  const vision = await pool.memory();
  return {
    models: host.list().map((m) => ({
      key: m.spec.key,
      queued: m.queue.queued,
      slotsInUse: m.queue.slotsInUse,
      slots: m.arena.layout.slots,
      arenaBytes: m.arena.buffer.byteLength,
    })),
    visionWorkerRestarts: pool.restarts,
    threads: [{ thread: "http", memory: httpThread }, ...vision.flatMap((memory, i) => (memory ? [{ thread: `vision-${i}`, memory }] : []))],
  };
}

/** Times one image's consecutive stages: each lap records the time since the previous one. */
export class StageClock {
  private last = performance.now();

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly modelKey: string,
  ) {}

  lap(stage: Stage): void {
    const now = performance.now();
    this.metrics.recordStage(this.modelKey, stage, now - this.last);
    this.last = now;
  }

  /** Restarts the clock without recording: the stages just passed are recorded from the batch report. */
  skip(): void {
    this.last = performance.now();
  }
}

export class ServerMetrics {
  private readonly httpResponses = new Counter("http_requests_total", "HTTP requests answered, by matched route and status code.", ["route", "status"]);
  private readonly stageSeconds = new Histogram(
    "inference_stage_seconds",
    "Time one image spent in each pipeline stage: queue_wait (for an arena slot), preprocess, batch_wait (READY until its batch starts), inference, postprocess.",
    ["model_id", "stage"],
    STAGE_SECONDS_BUCKETS,
  );
  private readonly batchSize = new Histogram("inference_batch_size", "Images per ONNX Runtime call.", ["model_id"], BATCH_SIZE_BUCKETS);
  private readonly batchesBySize = new Counter("inference_batches_by_size_total", "ONNX Runtime calls by exact batch size.", ["model_id", "size"]);
  private readonly inferenceSeconds = new Counter("inference_seconds_total", "Time spent inside ONNX Runtime calls.", ["model_id"]);
  private readonly imagesInFlight = new Gauge("inference_images_in_flight", "Images accepted and not yet answered (queued or holding an arena slot).", ["model_id"]);
  private readonly imagesQueued = new Gauge("inference_images_queued", "Images waiting for a free arena slot.", ["model_id"]);
  private readonly slotsInUse = new Gauge("arena_slots_in_use", "Arena slots not FREE (being preprocessed, batched, run or postprocessed).", ["model_id"]);
  private readonly slots = new Gauge("arena_slots", "Arena slots requests can be assigned to.", ["model_id"]);
  private readonly arenaBytes = new Gauge("arena_bytes", "Size of the model's arena (shared memory for every slot's input tensor and raw outputs, padding slots included).", [
    "model_id",
  ]);
  private readonly workerRestarts = new Counter("vision_worker_restarts_total", "Vision workers replaced after a crash.");
  private readonly threadHeapBytes = new Gauge("thread_js_heap_bytes", "JavaScript heap of the HTTP thread and of each vision worker (objects live or not yet collected).", [
    "thread",
  ]);
  private readonly threadExternalBytes = new Gauge(
    "thread_external_memory_bytes",
    "Memory outside the JavaScript heap held by a thread's objects (request bodies, decoded images), live or not yet collected: GC_EVERY_MB bounds the garbage part.",
    ["thread"],
  );
  private readonly pacedCollections = new Counter(
    "thread_paced_collections_total",
    "Garbage collections a thread ran because GC_EVERY_MB of request bodies or images passed through it (a replaced vision worker starts again at 0).",
    ["thread"],
  );

  recordHttpResponse(route: string | undefined, status: number): void {
    this.httpResponses.inc({ route: route ?? "unmatched", status: String(status) });
  }

  recordStage(modelKey: string, stage: Stage, ms: number): void {
    this.stageSeconds.observe({ model_id: modelKey, stage }, ms / 1000);
  }

  stageClock(modelKey: string): StageClock {
    return new StageClock(this, modelKey);
  }

  /**
   * One ONNX Runtime call over slots start..start+count-1, reported just after it ended.
   * `readyAt` (the arena's, sharedNow() ms) gives each image's batch_wait.
   */
  recordBatch(modelKey: string, batch: Pick<BatchReport, "start" | "count" | "inferMs">, readyAt?: Float64Array): void {
    const model_id = modelKey;
    this.batchSize.observe({ model_id }, batch.count);
    this.batchesBySize.inc({ model_id, size: String(batch.count) });
    this.inferenceSeconds.inc({ model_id }, batch.inferMs / 1000);
    const startedAt = sharedNow() - batch.inferMs;
    for (let slot = batch.start; slot < batch.start + batch.count; slot++) {
      this.recordStage(model_id, "inference", batch.inferMs);
      if (readyAt) this.recordStage(model_id, "batch_wait", Math.max(0, startedAt - readyAt[slot]!));
    }
  }

  toPrometheus(sample: PipelineSample): string {
    for (const gauge of [this.imagesInFlight, this.imagesQueued, this.slotsInUse, this.slots, this.arenaBytes]) gauge.reset();
    for (const m of sample.models) {
      const labels = { model_id: m.key };
      this.imagesInFlight.set(labels, m.queued + m.slotsInUse);
      this.imagesQueued.set(labels, m.queued);
      this.slotsInUse.set(labels, m.slotsInUse);
      this.slots.set(labels, m.slots);
      this.arenaBytes.set(labels, m.arenaBytes);
    }
    this.workerRestarts.set({}, sample.visionWorkerRestarts);
    for (const family of [this.threadHeapBytes, this.threadExternalBytes, this.pacedCollections]) family.reset();
    for (const { thread, memory } of sample.threads) {
      this.threadHeapBytes.set({ thread }, memory.heapBytes);
      this.threadExternalBytes.set({ thread }, memory.externalBytes);
      this.pacedCollections.set({ thread }, memory.pacedCollections);
    }
    return exposition([
      this.httpResponses,
      this.imagesInFlight,
      this.imagesQueued,
      this.stageSeconds,
      this.batchSize,
      this.batchesBySize,
      this.inferenceSeconds,
      this.slotsInUse,
      this.slots,
      this.arenaBytes,
      this.workerRestarts,
      this.threadHeapBytes,
      this.threadExternalBytes,
      this.pacedCollections,
    ]);
  }
}

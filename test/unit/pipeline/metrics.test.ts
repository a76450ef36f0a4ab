// Specification of the server's /metrics series: names, labels, and which events move them.
import { describe, expect, test } from "bun:test";
import { sharedNow } from "../../../src/workers/arena.ts";
import { ServerMetrics, type PipelineSample } from "../../../src/pipeline/metrics.ts";

const idle: PipelineSample = { models: [], visionWorkerRestarts: 0, threads: [] };

/** The value of one series line, e.g. `series(text, 'http_requests_total{route="/x",status="200"}')`. */
function series(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe("ServerMetrics", () => {
  test("counts HTTP answers by matched route and status, and unmatched paths under one label", () => {
    const m = new ServerMetrics();
    m.recordHttpResponse("/infer/object_detection", 200);
    m.recordHttpResponse("/infer/object_detection", 200);
    m.recordHttpResponse("/infer/object_detection", 503);
    m.recordHttpResponse(undefined, 404);
    const text = m.toPrometheus(idle);
    expect(series(text, 'http_requests_total{route="/infer/object_detection",status="200"}')).toBe(2);
    expect(series(text, 'http_requests_total{route="/infer/object_detection",status="503"}')).toBe(1);
    expect(series(text, 'http_requests_total{route="unmatched",status="404"}')).toBe(1);
  });

  test("a batch moves the batch-size histogram, the exact per-size counter, inference time and each image's inference and batch_wait stages", () => {
    const m = new ServerMetrics();
    const readyAt = new Float64Array(8);
    const now = sharedNow();
    readyAt[2] = now - 30 - 40; // ready 30 ms before a 40 ms batch started
    readyAt[3] = now - 10 - 40;
    m.recordBatch("a/1", { start: 2, count: 2, inferMs: 40 }, readyAt);
    m.recordBatch("a/1", { start: 0, count: 1, inferMs: 20 }, readyAt);
    const text = m.toPrometheus(idle);
    expect(series(text, 'inference_batches_by_size_total{model_id="a/1",size="2"}')).toBe(1);
    expect(series(text, 'inference_batches_by_size_total{model_id="a/1",size="1"}')).toBe(1);
    expect(series(text, 'inference_batch_size_bucket{model_id="a/1",le="1"}')).toBe(1);
    expect(series(text, 'inference_batch_size_bucket{model_id="a/1",le="2"}')).toBe(2);
    expect(series(text, 'inference_batch_size_sum{model_id="a/1"}')).toBe(3);
    expect(series(text, 'inference_seconds_total{model_id="a/1"}')).toBeCloseTo(0.06, 9);
    expect(series(text, 'inference_stage_seconds_count{model_id="a/1",stage="inference"}')).toBe(3);
    expect(series(text, 'inference_stage_seconds_sum{model_id="a/1",stage="inference"}')).toBeCloseTo(0.1, 9);
    // Slot 2 waited ~30 ms and slot 3 ~10 ms; the clock moved a little while the test ran.
    expect(series(text, 'inference_stage_seconds_bucket{model_id="a/1",stage="batch_wait",le="0.01"}')).toBeLessThanOrEqual(1);
    expect(series(text, 'inference_stage_seconds_bucket{model_id="a/1",stage="batch_wait",le="0.05"}')).toBeGreaterThanOrEqual(2);
  });

  test("a stage clock records the time since its previous lap, and skip records nothing", async () => {
    const m = new ServerMetrics();
    const clock = m.stageClock("a/1");
    await Bun.sleep(20);
    clock.lap("queue_wait");
    await Bun.sleep(20);
    clock.skip();
    clock.lap("postprocess");
    const text = m.toPrometheus(idle);
    expect(series(text, 'inference_stage_seconds_sum{model_id="a/1",stage="queue_wait"}')).toBeGreaterThanOrEqual(0.015);
    expect(series(text, 'inference_stage_seconds_sum{model_id="a/1",stage="postprocess"}')).toBeLessThan(0.015);
    expect(series(text, 'inference_stage_seconds_count{model_id="a/1",stage="preprocess"}')).toBeUndefined();
  });

  test("occupancy, arena size and worker restarts come from the pipeline sample taken at scrape time", () => {
    const m = new ServerMetrics();
    const busy = m.toPrometheus({ models: [{ key: "a/1", queued: 5, slotsInUse: 64, slots: 64, arenaBytes: 333_000_000 }], visionWorkerRestarts: 2, threads: [] });
    expect(series(busy, 'inference_images_queued{model_id="a/1"}')).toBe(5);
    expect(series(busy, 'inference_images_in_flight{model_id="a/1"}')).toBe(69);
    expect(series(busy, 'arena_slots_in_use{model_id="a/1"}')).toBe(64);
    expect(series(busy, 'arena_slots{model_id="a/1"}')).toBe(64);
    expect(series(busy, 'arena_bytes{model_id="a/1"}')).toBe(333_000_000);
    expect(series(busy, "vision_worker_restarts_total")).toBe(2);
    // A model no longer loaded is no longer exported.
    expect(series(m.toPrometheus(idle), 'arena_slots{model_id="a/1"}')).toBeUndefined();
    expect(series(m.toPrometheus(idle), 'arena_bytes{model_id="a/1"}')).toBeUndefined();
  });

  test("each thread's memory comes from the sample, labelled by thread; a thread missing from a later sample is no longer exported", () => {
    const m = new ServerMetrics();
    const text = m.toPrometheus({
      ...idle,
      threads: [
        { thread: "http", memory: { heapBytes: 4_000_000, externalBytes: 9_000_000, pacedCollections: 12 } },
        { thread: "vision-1", memory: { heapBytes: 6_000_000, externalBytes: 30_000_000, pacedCollections: 40 } },
      ],
    });
    expect(series(text, 'thread_js_heap_bytes{thread="http"}')).toBe(4_000_000);
    expect(series(text, 'thread_external_memory_bytes{thread="http"}')).toBe(9_000_000);
    expect(series(text, 'thread_paced_collections_total{thread="http"}')).toBe(12);
    expect(series(text, 'thread_external_memory_bytes{thread="vision-1"}')).toBe(30_000_000);
    expect(series(text, 'thread_paced_collections_total{thread="vision-1"}')).toBe(40);
    expect(series(m.toPrometheus(idle), 'thread_external_memory_bytes{thread="vision-1"}')).toBeUndefined();
  });

  test("every family is announced with HELP and TYPE even before anything happened", () => {
    const text = new ServerMetrics().toPrometheus(idle);
    for (const [name, type] of [
      ["http_requests_total", "counter"],
      ["inference_images_in_flight", "gauge"],
      ["inference_images_queued", "gauge"],
      ["inference_stage_seconds", "histogram"],
      ["inference_batch_size", "histogram"],
      ["inference_batches_by_size_total", "counter"],
      ["inference_seconds_total", "counter"],
      ["arena_slots_in_use", "gauge"],
      ["arena_slots", "gauge"],
      ["arena_bytes", "gauge"],
      ["vision_worker_restarts_total", "counter"],
      ["thread_js_heap_bytes", "gauge"],
      ["thread_external_memory_bytes", "gauge"],
      ["thread_paced_collections_total", "counter"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
      expect(text).toMatch(new RegExp(`# HELP ${name} \\S`));
    }
  });
});

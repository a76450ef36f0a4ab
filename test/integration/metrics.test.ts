// Specification of /metrics on a running server: answered requests, stage times and occupancy show up per route and model.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import sharp from "sharp";
import { THREAD_NAMES } from "../../src/workers/thread-name.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;

beforeAll(async () => {
  // Two inference workers with three intra-op threads each: ONNX Runtime starts two of its own per session beside
  // the thread that calls it, on any machine.
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "colour-probe/1", INFERENCE_WORKERS_PER_DEVICE: "2", ORT_INTRA_OP_THREADS: "3" });
});

afterAll(async () => {
  await server?.stop();
});

test("/metrics counts answers by route and status and times every stage of the images it served", async () => {
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#d02020" } })
    .jpeg()
    .toBuffer();
  const image = { type: "base64", value: jpeg.toString("base64") };
  for (let i = 0; i < 3; i++) expect((await server.post("/infer/object_detection", { model_id: "colour-probe/1", image })).status).toBe(200);
  expect((await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: "bm90IGFuIGltYWdl" } })).status).toBe(400);
  expect((await fetch(`${server.url}/no-such-route`)).status).toBe(404);

  const response = await fetch(`${server.url}/metrics`);
  expect(response.headers.get("content-type")).toStartWith("text/plain");
  const text = await response.text();
  expect(text).toContain('http_requests_total{route="/infer/object_detection",status="200"} 3\n');
  expect(text).toContain('http_requests_total{route="/infer/object_detection",status="400"} 1\n');
  expect(text).toContain('http_requests_total{route="unmatched",status="404"} 1\n');
  // Every admitted image waited for a slot; only the three decodable ones went further.
  expect(text).toContain('inference_stage_seconds_count{model_id="colour-probe/1",stage="queue_wait"} 4\n');
  for (const stage of ["preprocess", "batch_wait", "inference", "postprocess"]) {
    expect(text).toContain(`inference_stage_seconds_count{model_id="colour-probe/1",stage="${stage}"} 3\n`);
  }
  expect(text).toContain('inference_batches_by_size_total{model_id="colour-probe/1",size="1"} 3\n');
  expect(text).toMatch(/arena_slots\{model_id="colour-probe\/1"\} \d+\n/);
  // The colour probe's arena (Stretch to: 8.8 fixed-point pixel slots): per slot a 3x640x640 input of 2 bytes and a
  // 7x4 float output, and a little alignment.
  const arenaBytes = Number(/arena_bytes\{model_id="colour-probe\/1"\} (\d+)\n/.exec(text)?.[1]);
  const slots = Number(/arena_slots\{model_id="colour-probe\/1"\} (\d+)\n/.exec(text)?.[1]);
  expect(arenaBytes).toBeGreaterThanOrEqual(slots * (3 * 640 * 640 * 2 + 7 * 4 * 4));
  expect(arenaBytes).toBeLessThan(slots * (3 * 640 * 640 * 2 + 7 * 4 * 4) + 64 * 1024);
  expect(text).toContain('arena_slots_in_use{model_id="colour-probe/1"} 0\n');
  expect(text).toContain('inference_images_queued{model_id="colour-probe/1"} 0\n');
  expect(text).toContain("vision_worker_restarts_total 0\n");
});

test("/metrics reports the memory of the HTTP thread and of each vision worker, each thread's own", async () => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
  // Two vision workers (the test servers' NUM_WORKERS); every thread holds views of the model's arena outside its heap.
  for (const thread of ["http", "vision-0", "vision-1"]) {
    expect(value(`thread_js_heap_bytes{thread="${thread}"}`)).toBeGreaterThan(0);
    expect(value(`thread_external_memory_bytes{thread="${thread}"}`)).toBeGreaterThanOrEqual(Number(/arena_bytes\{model_id="colour-probe\/1"\} (\d+)/.exec(text)?.[1]));
    expect(value(`thread_paced_collections_total{thread="${thread}"}`)).toBe(0);
  }
  expect(text).not.toContain('thread="vision-2"');
});

test.skipIf(process.platform !== "linux")("names its threads: vision workers, inference workers, session loaders and ONNX Runtime's intra-op threads", () => {
  const names = readdirSync(`/proc/${server.pid}/task`).map((tid) => readFileSync(`/proc/${server.pid}/task/${tid}/comm`, "utf8").trim());
  const count = (name: string) => names.filter((n) => n === name).length;
  // A thread the runtime starts later from a worker's thread (a garbage-collector helper) inherits that worker's
  // name, so workers are counted at least; intra-op threads start inside session creation, where no script runs.
  expect(count(THREAD_NAMES.vision)).toBeGreaterThanOrEqual(2);
  expect(count(THREAD_NAMES.inferenceRun)).toBeGreaterThanOrEqual(2);
  expect(count(THREAD_NAMES.sessionLoader)).toBeGreaterThanOrEqual(2);
  expect(count(THREAD_NAMES.ortIntraOp)).toBe(4);
});

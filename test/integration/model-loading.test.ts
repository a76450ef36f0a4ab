// Specification of loading a model while others serve: session creation and the batch probe run on the device's
// session loader, so the inference worker keeps running the loaded models' batches meanwhile; concurrent first
// requests for a model share one load.
import { afterAll, beforeAll, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;
let probeImage: string;

beforeAll(async () => {
  // The probe on: loading fixture-yolov8n-seg then takes seconds on a CPU (session, then batches of 1, 2, 4, 8 timed).
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "colour-probe/1", BATCH_SIZE_PROBE: "true", MAX_BATCH_SIZE: "8", ARENA_SLOTS: "16" });
  for (let waited = 0; !/batch probe colour-probe\/1/.test(server.output()) && waited < 10_000; waited += 50) await Bun.sleep(50);
  probeImage = (
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .png()
      .toBuffer()
  ).toString("base64");
});

afterAll(async () => {
  await server?.stop();
});

test("keeps answering a loaded model's requests while another model's session is created and its batches probed", async () => {
  let loading = true;
  const adding = server.post("/model/add", { model_id: "fixture-yolov8n-seg/1" }).finally(() => (loading = false));
  const probed = () => /batch probe fixture-yolov8n-seg\/1 \(cpu\): batch 1 /.test(server.output());
  let answered = 0;
  // The probe runs after /model/add has answered (when the arena is handed over): serve until it is logged too.
  for (const began = Date.now(); (loading || !probed()) && Date.now() - began < 30_000; ) {
    const response = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: probeImage } });
    expect(response.status).toBe(200);
    answered++;
  }
  expect((await adding).status).toBe(200);
  expect(probed()).toBe(true);
  // Stalled behind the load, only the one or two requests sent before the session creation began would complete.
  expect(answered).toBeGreaterThanOrEqual(10);
});

test("loads a model once for many concurrent first requests, all of which are answered", async () => {
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => server.post("/infer/classification", { model_id: "cls-probe/1", image: { type: "base64", value: probeImage } })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
  expect(server.output().match(/loaded cls-probe\/1 /g)).toHaveLength(1);
});

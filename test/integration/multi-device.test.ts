// Specification of several inference workers (CUDA_DEVICES) batching the same model arenas: every worker serves
// batches, no slot runs twice, and each request still gets the answer for its own image.
//
// Two CPU "devices" stand in for two GPUs: CUDA_DEVICES=0,0 with the CPU execution provider starts two inference
// workers exactly as two GPUs would, and the claiming between them is the same.
import { afterAll, beforeAll, expect, test } from "bun:test";
import sharp from "sharp";
import { loadConfig } from "../../src/config.ts";
import { startServer, type RunningServer } from "../../src/main.ts";
import { FIXTURE_CACHE } from "./server-process.ts";

const MODEL = "fixture-yolov8n/1";
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      MODEL_CACHE_DIR: FIXTURE_CACHE,
      DEMO_MODEL_ID: "",
      PRELOAD_MODELS: MODEL,
      EXECUTION_PROVIDERS: "cpu",
      CUDA_DEVICES: "0,0",
      INFERENCE_WORKERS_PER_DEVICE: "1",
      ORT_INTRA_OP_THREADS: "1",
      NUM_WORKERS: "2",
      MAX_BATCH_SIZE: "2",
      ARENA_SLOTS: "8",
      // Two workers sharing batches is what is tested: keep batches of 2 whatever this CPU's probe would say.
      BATCH_SIZE_PROBE: "false",
    }),
  );
});

afterAll(async () => {
  await server?.stop();
});

/** A JPEG of a few rectangles on a background; `seed` varies the scene so every answer differs. */
async function scene(seed: number): Promise<string> {
  const rects = Array.from({ length: 3 }, (_, i) => {
    const fill = `rgb(${(seed * 67 + i * 80) % 256},${(seed * 31 + i * 40) % 256},${(seed * 11 + i * 120) % 256})`;
    return `<rect x="${(seed * 83 + i * 170) % 460}" y="${(seed * 47 + i * 90) % 300}" width="${80 + (((seed + i) * 29) % 100)}" height="${70 + (((seed + i) * 41) % 90)}" fill="${fill}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="rgb(${(seed * 23) % 200},90,${(seed * 37) % 200})"/>${rects.join("")}</svg>`;
  return (await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer()).toString("base64");
}

async function detect(image: string): Promise<unknown> {
  const res = await fetch(`${server.url}/infer/object_detection`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model_id: MODEL, image: { type: "base64", value: image } }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { predictions: { detection_id: string }[] };
  return body.predictions.map(({ detection_id, ...rest }) => rest);
}

test("starts one inference worker per listed device and loads the model on each", () => {
  expect(server.pipeline.device.size).toBe(2);
  expect(server.pipeline.activeProvider).toBe("cpu");
});

test("both workers run batches of the same model and every request gets its own image's answer", async () => {
  const images = await Promise.all(Array.from({ length: 12 }, (_, i) => scene(i + 1)));
  const alone: unknown[] = [];
  for (const image of images) alone.push(await detect(image));
  expect(new Set(alone.map((a) => JSON.stringify(a))).size).toBe(images.length);

  const before = server.pipeline.device.batchesPerDevice();
  for (let round = 0; round < 2; round++) {
    const together = await Promise.all(images.map(detect));
    together.forEach((predictions, i) => expect(predictions).toEqual(alone[i]));
  }
  const ran = server.pipeline.device.batchesPerDevice().map((n, i) => n - before[i]!);
  // 24 images in batches of at most 2: both workers took a share while the other was busy.
  expect(ran[0]).toBeGreaterThan(0);
  expect(ran[1]).toBeGreaterThan(0);
  expect(ran[0]! + ran[1]!).toBeGreaterThanOrEqual(12);
}, 60_000);

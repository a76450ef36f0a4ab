// Specification of greedy batching with a real-cost model: concurrent requests share ONNX Runtime calls
// and each still gets the answer for its own image.
import { afterAll, beforeAll, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "fixture-yolov8n/1", MAX_BATCH_SIZE: "4", ARENA_SLOTS: "8" });
});

afterAll(async () => {
  await server?.stop();
});

/** A JPEG of a few coloured shapes on a background; `seed` varies the scene. */
async function scene(seed: number): Promise<string> {
  const shapes = Array.from({ length: 4 }, (_, i) => {
    const x = (seed * 97 + i * 151) % 480;
    const y = (seed * 53 + i * 211) % 320;
    const size = 60 + (((seed + i) * 37) % 120);
    const fill = `rgb(${(seed * 71 + i * 50) % 256},${(seed * 13 + i * 90) % 256},${(seed * 29 + i * 130) % 256})`;
    return i % 2 === 0
      ? `<rect x="${x}" y="${y}" width="${size}" height="${size * 0.7}" fill="${fill}"/>`
      : `<circle cx="${x + size / 2}" cy="${y + size / 2}" r="${size / 2}" fill="${fill}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="rgb(${(seed * 41) % 200},${(seed * 17) % 200},90)"/>${shapes.join("")}</svg>`;
  return (await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer()).toString("base64");
}

async function detect(image: string) {
  const res = await server.post("/infer/object_detection", { model_id: "fixture-yolov8n/1", image: { type: "base64", value: image } });
  expect(res.status).toBe(200);
  const body = await res.json();
  return body.predictions.map(({ detection_id, ...rest }: any) => rest);
}

test("batches concurrent requests to a slow model and answers each with what it gets alone", async () => {
  const images = await Promise.all(Array.from({ length: 12 }, (_, i) => scene(i + 1)));
  const alone: unknown[] = [];
  for (const image of images) alone.push(await detect(image));
  // Distinct scenes give distinct answers, so a mixed-up response could not pass unnoticed.
  expect(new Set(alone.map((a) => JSON.stringify(a))).size).toBe(images.length);

  const together = await Promise.all(images.map(detect));
  together.forEach((predictions, i) => expect(predictions).toEqual(alone[i]));

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const sizes = [...metrics.matchAll(/inference_batches_by_size_total\{model_id="fixture-yolov8n\/1",size="(\d+)"\} (\d+)/g)].map((m) => Number(m[1]));
  expect(Math.max(...sizes)).toBeGreaterThan(1);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
});

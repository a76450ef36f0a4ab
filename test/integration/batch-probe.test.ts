// Specification of the batch probe in the real server: a dynamic-batch model is timed on load and its batches stay within the cap it chose.
import { afterAll, beforeAll, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "colour-probe/1", BATCH_SIZE_PROBE: "true", MAX_BATCH_SIZE: "8", ARENA_SLOTS: "16" });
});

afterAll(async () => {
  await server?.stop();
});

test("times doubling batch sizes when the model loads, logs them, and never runs a batch above the cap it chose", async () => {
  const logged = /batch probe colour-probe\/1 \(cpu\): batch 1 [\d.]+(?:, batch (?:2|4|8) [\d.]+)* ms\/image -> batches up to (\d+)/;
  // The inference worker probes when the model attaches, just after the server starts listening.
  for (let waited = 0; !logged.test(server.output()) && waited < 10_000; waited += 50) await Bun.sleep(50);
  const probe = logged.exec(server.output());
  expect(probe, server.output()).not.toBeNull();
  const cap = Number(probe![1]);
  expect([1, 2, 4, 8]).toContain(cap);

  const png = (
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .png()
      .toBuffer()
  ).toString("base64");
  const answers = await Promise.all(
    Array.from({ length: 24 }, () => server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: png } })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(24).fill(200));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const sizes = [...metrics.matchAll(/^inference_batches_by_size_total\{model_id="colour-probe\/1",size="(\d+)"\} \d+$/gm)].map((m) => Number(m[1]));
  expect(sizes.length).toBeGreaterThan(0);
  for (const size of sizes) expect(size).toBeLessThanOrEqual(cap);
});

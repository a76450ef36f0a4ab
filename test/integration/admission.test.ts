// Specification of admission by expected wait over real HTTP: once the model's service rate is measured, a request that
// would wait past MAX_QUEUE_WAIT_MS is refused at once with 503 and a Retry-After, and every request is answered or refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const SLOW = "cls-probe-slow/1";
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({
    MODEL_CACHE_DIR: FIXTURE_CACHE,
    PRELOAD_MODELS: SLOW,
    MAX_BATCH_SIZE: "2",
    ARENA_SLOTS: "4",
    MAX_QUEUE: "1000",
    MAX_QUEUE_WAIT_MS: "1000",
  });
});

afterAll(async () => {
  await server?.stop();
});

async function classify(image: string): Promise<Response> {
  return server.post("/infer/classification", { model_id: SLOW, image: { type: "base64", value: image } });
}

describe("admission by expected wait", () => {
  test("refuses what would wait past MAX_QUEUE_WAIT_MS with 503 and a Retry-After, and answers the rest", async () => {
    const image = (
      await sharp({ create: { width: 32, height: 32, channels: 3, background: "#ff0000" } })
        .png()
        .toBuffer()
    ).toString("base64");
    // The service rate is measured over a second of busy time: keep the model busy for two, whatever this machine's speed.
    const began = performance.now();
    let warmed = 0;
    while (performance.now() - began < 2000) {
      await Promise.all([classify(image), classify(image)]);
      warmed += 2;
    }
    const imagesPerSecond = (warmed * 1000) / (performance.now() - began);
    // Three seconds' worth of images at that rate would wait well past MAX_QUEUE_WAIT_MS (one second).
    const burst = Math.max(20, Math.ceil(3 * imagesPerSecond));
    const answers = await Promise.all(Array.from({ length: burst }, () => classify(image)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    const refused = answers.filter((r) => r.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await refused[0]!.json()).message).toMatch(/expected wait \(\d+ ms\) exceeds MAX_QUEUE_WAIT_MS/);
  });
});

// Specification of unloading under load and of answers to lists: no answer ever belongs to another request, and every slot comes back.
//
// Reproduces the fault probe's sequence (issue "Never a wrong 200"): a model whose batches outlive the unload's drain is
// removed while a batch runs and loaded again at once; the old batch reports after the new instance has taken its
// place. The colour classifier's answer names its image's colour, so a wrong answer is visible.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const SLOW = "cls-probe-slow/1";
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({
    MODEL_CACHE_DIR: FIXTURE_CACHE,
    PRELOAD_MODELS: SLOW,
    MAX_BATCH_SIZE: "8",
    ARENA_SLOTS: "16",
    UNLOAD_DRAIN_TIMEOUT_MS: "300",
    INFERENCE_WORKERS_PER_DEVICE: "2",
  });
});

afterAll(async () => {
  await server?.stop();
});

async function solid(colour: string): Promise<string> {
  return (
    await sharp({ create: { width: 32, height: 32, channels: 3, background: colour } })
      .png()
      .toBuffer()
  ).toString("base64");
}

/** One classification request; resolves with its status and its top class (null when not answered 200). */
async function classify(image: string, model = SLOW): Promise<{ status: number; top: string | null }> {
  const res = await server.post("/infer/classification", { model_id: model, image: { type: "base64", value: image } });
  const body = (await res.json()) as { top?: string };
  return { status: res.status, top: res.status === 200 ? body.top! : null };
}

/** A series of /metrics for a model, e.g. arena_slots_in_use. */
async function gauge(name: string, model: string): Promise<number | null> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{model_id="${model}"}`));
  return line ? Number(line.split(" ").at(-1)) : null;
}

describe("unloading a model while its batches run", () => {
  test("a batch that reports after its model was removed and loaded again wakes nobody of the new instance; every slot comes back", async () => {
    const red = await solid("#ff0000");
    const blue = await solid("#0000ff");
    const old = Array.from({ length: 16 }, () => classify(red));
    // Let the first batches start, then remove the model: they outlive the 300 ms drain.
    await Bun.sleep(600);
    const removed = await server.post("/model/remove", { model_id: SLOW });
    expect(removed.status).toBe(200);
    expect(server.output()).toMatch(/still in flight after 300 ms/);
    const added = await server.post("/model/add", { model_id: SLOW });
    expect(added.status).toBe(200);
    const fresh = await Promise.all(Array.from({ length: 8 }, () => classify(blue)));
    const stale = await Promise.all(old);

    // Every answer of the new instance is its own image's; the old requests are answered correctly or told to retry.
    expect(fresh).toEqual(Array.from({ length: 8 }, () => ({ status: 200, top: "blue" })));
    for (const answer of stale)
      expect([
        { status: 200, top: "red" },
        { status: 503, top: null },
      ]).toContainEqual(answer);
    expect(stale.some((answer) => answer.status === 503)).toBe(true);

    // The old instance lets go once its last batch has reported; the new one holds no slot with no traffic.
    const deadline = Date.now() + 20_000;
    while (!/unloaded cls-probe-slow\/1 \(instance \d+\)/.test(server.output()) && Date.now() < deadline) await Bun.sleep(100);
    expect(server.output()).toMatch(/unloaded cls-probe-slow\/1 \(instance \d+\)/);
    expect(await gauge("arena_slots_in_use", SLOW)).toBe(0);
    expect(await gauge("inference_images_in_flight", SLOW)).toBe(0);
    // With nothing in flight, a later unload does not wait for anything.
    const started = performance.now();
    expect((await server.post("/model/remove", { model_id: SLOW })).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(250);
  }, 90_000);
});

describe("answers to lists", () => {
  test("a list with more images than MAX_IMAGES_PER_REQUEST is refused with 413 naming the cap", async () => {
    const image = await solid("#00ff00");
    const res = await server.post("/infer/classification", { model_id: "cls-probe/1", image: Array.from({ length: 257 }, () => ({ type: "base64", value: image })) });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toMatch(/at most 256 images per request \(MAX_IMAGES_PER_REQUEST\)/);
  });

  test("a list that one bad image fails is answered at once, and its other images give their slots back", async () => {
    const image = await solid("#00ff00");
    const images = Array.from({ length: 40 }, (_, i) => ({ type: "base64", value: i === 1 ? "not an image" : image }));
    const res = await server.post("/infer/classification", { model_id: SLOW, image: images });
    expect(res.status).toBe(400);
    // Its siblings were cancelled: nothing stays queued or holds a slot for long (40 images would take seconds to run).
    const deadline = Date.now() + 5_000;
    while (((await gauge("inference_images_in_flight", SLOW)) ?? 0) > 0 && Date.now() < deadline) await Bun.sleep(50);
    expect(await gauge("inference_images_in_flight", SLOW)).toBe(0);
    expect(await gauge("arena_slots_in_use", SLOW)).toBe(0);
    expect(await classify(image)).toEqual({ status: 200, top: "green" });
  }, 60_000);
});

// Specification of request deadlines (REQUEST_TIMEOUT_MS) and client departures over real HTTP: 504 on time, slots back, no inference wasted.
//
// BATCH_MAX_WAIT_MS holds a lone request's partial batch for seconds, so it is still waiting
// (READY, not yet run) when its deadline passes or its client leaves.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const TIMEOUT_MS = 600;
let server: ServerProcess;
let png: string;

beforeAll(async () => {
  server = await startServerProcess({
    MODEL_CACHE_DIR: FIXTURE_CACHE,
    PRELOAD_MODELS: "colour-probe/1",
    REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
    BATCH_MAX_WAIT_MS: "4000",
    MAX_BATCH_SIZE: "4",
  });
  png = (
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 100, b: 250 } } })
      .png()
      .toBuffer()
  ).toString("base64");
});

afterAll(async () => {
  await server?.stop();
});

/** The value of one /metrics series for colour-probe/1, e.g. arena_slots_in_use. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{model_id="colour-probe/1"`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const body = (images: number) => ({
  model_id: "colour-probe/1",
  image: images === 1 ? { type: "base64", value: png } : Array.from({ length: images }, () => ({ type: "base64", value: png })),
});

describe("REQUEST_TIMEOUT_MS", () => {
  test("answers 504 with a message when the deadline passes, frees the slot, and runs no inference for it", async () => {
    const started = performance.now();
    const res = await server.post("/infer/object_detection", body(1));
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect((await res.json()).message).toContain("REQUEST_TIMEOUT_MS");
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 2000);
    expect(await metric("arena_slots_in_use")).toBe(0);
    expect(await metric("inference_batch_size_count")).toBe(0);
  });

  test("requests that finish in time are answered as usual (a full batch runs at once)", async () => {
    const res = await server.post("/infer/object_detection", body(4));
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveLength(4);
    expect(await metric("inference_batch_size_count")).toBe(1);
  });
});

describe("client departure", () => {
  test("a client that disconnects while its image waits for a batch costs no inference, and its slot is freed", async () => {
    const batchesBefore = await metric("inference_batch_size_count");
    const controller = new AbortController();
    const request = fetch(`${server.url}/infer/object_detection`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body(1)),
      signal: controller.signal,
    }).catch((error: Error) => error);
    await Bun.sleep(200);
    expect(await metric("arena_slots_in_use")).toBe(1);
    controller.abort();
    expect(await request).toBeInstanceOf(Error);
    await Bun.sleep(200);
    expect(await metric("arena_slots_in_use")).toBe(0);
    expect(await metric("inference_batch_size_count")).toBe(batchesBefore);
  });
});

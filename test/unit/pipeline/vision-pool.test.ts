// Specification of the vision pool's supervision: a worker that crashes or hangs is replaced, its tasks fail with 500, the pool keeps serving.
import { afterEach, describe, expect, test } from "bun:test";
import { VisionPool } from "../../../src/pipeline/vision-pool.ts";
import { DEFAULT_URL_INPUT_SETTINGS } from "../../../src/vision/url-policy.ts";
import type { VisionInit } from "../../../src/workers/protocol.ts";

const WORKER = new URL("./workers/misbehaving.worker.ts", import.meta.url);
const SWITCHES = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };
const task = (type: string) => ({ type: "preprocess" as const, instance: 1, slot: 0, image: { type }, switches: SWITCHES });

let pool: VisionPool | undefined;

/** The pool's settings: `numWorkers` workers, a task timeout, the defaults for the rest. */
function init(numWorkers: number, visionTaskTimeoutMs: number): VisionInit {
  return {
    control: new SharedArrayBuffer(8),
    vision: { numWorkers, visionTaskTimeoutMs, maxImagePixels: 1e6, decodeAtReducedSize: false },
    urlInput: DEFAULT_URL_INPUT_SETTINGS,
    memory: { gcEveryBytes: 0 },
  };
}
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
});

describe("VisionPool supervision", () => {
  test("fails the tasks of a worker that crashes with a 500, replaces it, and keeps serving", async () => {
    pool = new VisionPool(init(1, 0), WORKER);
    await pool.ready();
    await expect(pool.run(task("crash"))).rejects.toMatchObject({ status: 500 });
    expect(pool.restarts).toBe(1);
    expect(await pool.run(task("ok"))).toEqual({ width: 1, height: 1, staticCropApplied: false });
  });

  test("replaces a worker whose task outlives the task timeout, failing that task with a 500", async () => {
    pool = new VisionPool(init(1, 300), WORKER);
    await pool.ready();
    const started = performance.now();
    await expect(pool.run(task("hang"))).rejects.toMatchObject({ status: 500 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(pool.restarts).toBe(1);
    expect(await pool.run(task("ok"))).toEqual({ width: 1, height: 1, staticCropApplied: false });
  });

  test("leaves workers alone whose tasks finish in time", async () => {
    pool = new VisionPool(init(2, 2000), WORKER);
    await pool.ready();
    const results = await Promise.all(Array.from({ length: 20 }, () => pool!.run(task("ok"))));
    expect(results).toHaveLength(20);
    await Bun.sleep(50);
    expect(pool.restarts).toBe(0);
  });
});

describe("VisionPool memory readings", () => {
  test("each vision worker reports its own JavaScript heap, the memory its objects hold outside it, and its paced collections", async () => {
    pool = new VisionPool(init(2, 0));
    await pool.ready();
    const readings = await pool.memory();
    expect(readings).toHaveLength(2);
    for (const reading of readings) {
      expect(reading!.heapBytes).toBeGreaterThan(0);
      expect(reading!.externalBytes).toBeGreaterThanOrEqual(0);
      expect(reading!.pacedCollections).toBe(0);
    }
  });

  test("a worker that does not answer in time reads as null, so a scrape never waits for a task timeout", async () => {
    pool = new VisionPool(init(1, 0), WORKER); // the stand-in never answers a memory request
    await pool.ready();
    const started = performance.now();
    expect(await pool.memory(200)).toEqual([null]);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

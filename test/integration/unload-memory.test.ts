// Specification of unloading over real HTTP: /model/clear and /model/remove give the memory of a model back (its
// arena, shared by every thread, and its ONNX Runtime session). Measured as the server process's resident set
// size (VmRSS of /proc/<pid>/status, all threads together) before loading, while loaded, and after unloading.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

// 640x640 inputs: each arena slot holds 4.7 MiB of input alone, so 3 models x 32 slots touch ~450 MiB.
const MODELS = ["colour-probe/1", "colour-probe-letterbox/1", "seg-probe-v8/1"];
const SLOTS = 32;
const MIB = 2 ** 20;

let server: ServerProcess;
let image: string;

const linux = process.platform === "linux";

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "", MAX_BATCH_SIZE: "8", ARENA_SLOTS: String(SLOTS) });
  image = (
    await sharp({ create: { width: 64, height: 48, channels: 3, background: "#a05030" } })
      .png()
      .toBuffer()
  ).toString("base64");
});

afterAll(async () => {
  await server?.stop();
});

/** The server process's resident set size in bytes. */
function rss(): number {
  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

const route = (modelId: string) => (modelId.startsWith("seg-") ? "/infer/instance_segmentation" : "/infer/object_detection");

/** Loads every model and runs more requests than it has slots (slots are handed out in ring order), so every slot is written. */
async function loadAndUse(): Promise<void> {
  for (const modelId of MODELS) {
    expect((await server.post("/model/add", { model_id: modelId })).status).toBe(200);
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(Array.from({ length: SLOTS / 2 + 4 }, () => server.post(route(modelId), { model_id: modelId, image: { type: "base64", value: image } })));
      expect(answers.map((r) => r.status)).toEqual(new Array(SLOTS / 2 + 4).fill(200));
    }
  }
}

/** The lowest RSS seen within `ms` (memory given back may take a moment: threads drop their views, then collect). */
async function settledRss(ms: number, target = 0): Promise<number> {
  let lowest = rss();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && lowest > target) {
    await Bun.sleep(250);
    lowest = Math.min(lowest, rss());
  }
  return lowest;
}

describe.skipIf(!linux)("unloading", () => {
  test("gives a model's memory back: RSS returns near its level before the models were loaded", async () => {
    // A first cycle pays the one-time costs (code paths, allocator pools, JIT) that are no leak.
    await loadAndUse();
    await server.post("/model/clear", {});
    const before = await settledRss(3_000);

    await loadAndUse();
    const loaded = rss();
    const growth = loaded - before;
    console.log(`RSS before ${(before / MIB).toFixed(0)} MiB, loaded ${(loaded / MIB).toFixed(0)} MiB (+${(growth / MIB).toFixed(0)} MiB)`);
    // Otherwise this test would measure nothing.
    expect(growth).toBeGreaterThan(200 * MIB);

    expect((await (await server.post("/model/clear", {})).json()).models).toEqual([]);
    // Unloading gives the memory back at once (see src/workers/memory-release.ts): a short wait is enough.
    const tolerance = Math.max(48 * MIB, 0.1 * growth);
    const afterClear = await settledRss(3_000, before + tolerance);
    console.log(`RSS after /model/clear ${(afterClear / MIB).toFixed(0)} MiB (tolerance +${(tolerance / MIB).toFixed(0)} MiB)`);
    expect(afterClear - before).toBeLessThan(tolerance);

    // The same through /model/remove, one model at a time.
    await loadAndUse();
    expect(rss() - before).toBeGreaterThan(200 * MIB);
    for (const modelId of MODELS) expect((await server.post("/model/remove", { model_id: modelId })).status).toBe(200);
    const afterRemove = await settledRss(3_000, before + tolerance);
    console.log(`RSS after /model/remove ${(afterRemove / MIB).toFixed(0)} MiB`);
    expect(afterRemove - before).toBeLessThan(tolerance);
  }, 120_000);
});

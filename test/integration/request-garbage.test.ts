// Specification of collection pacing over real HTTP: the garbage answered requests leave behind (their bodies on the
// HTTP thread, their decoded pixels in the vision workers) is collected as the server goes, instead of piling up.
// Measured per thread from /metrics (thread_external_memory_bytes: memory outside the JavaScript heap held by a
// thread's objects, live or not yet collected), which the allocator's habits do not blur as they blur the process's RSS.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { noiseJpeg } from "../../bench/images.ts";
import { scrapeMetrics, threadMemoryReadings } from "../../bench/server-metrics.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const MIB = 2 ** 20;
const CLIENTS = 8;
const WARM_REQUESTS = 80;
const REQUESTS = 600;
const GC_EVERY_MB = 16;
const WIDTH = 1280;
const HEIGHT = 720;

let server: ServerProcess | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function rss(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

/** Sends `count` requests from CLIENTS closed-loop clients; every one must be answered with 200. */
async function send(s: ServerProcess, count: number, body: unknown): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next++ < count) {
      const response = await s.post("/infer/object_detection", body);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

/** Per thread (`http`, `vision-0`, ...): its external memory and paced collections, as /metrics reads them now. */
const threadMemory = async (s: ServerProcess) => threadMemoryReadings(await scrapeMetrics(s.url));

describe.skipIf(process.platform !== "linux")("garbage of answered requests", () => {
  test("each thread collects after every GC_EVERY_MB of bodies or images, so none holds more than that plus the requests in flight", async () => {
    // About 0.4 MiB to send and 2.6 MiB of pixels once decoded.
    const jpeg = await noiseJpeg(WIDTH, HEIGHT);
    server = await startServerProcess({
      MODEL_CACHE_DIR: FIXTURE_CACHE,
      PRELOAD_MODELS: "colour-probe/1",
      MAX_BATCH_SIZE: "4",
      ARENA_SLOTS: "8",
      GC_EVERY_MB: String(GC_EVERY_MB),
    });
    const s = server;
    // Before any request each thread holds only what lives as long as it does (its views of the model's arena).
    const idle = await threadMemory(s);
    expect([...idle.keys()].sort()).toEqual(["http", "vision-0", "vision-1"]);

    const body = { model_id: "colour-probe/1", image: { type: "base64", value: Buffer.from(jpeg).toString("base64") } };
    await send(s, WARM_REQUESTS, body);
    const warmRss = rss(s.pid);
    const highest = new Map([...idle.keys()].map((thread) => [thread, 0]));
    let highestRss = warmRss;
    let loading = true;
    const sampling = (async () => {
      while (loading) {
        for (const [thread, { externalBytes }] of await threadMemory(s)) highest.set(thread, Math.max(highest.get(thread)!, externalBytes - idle.get(thread)!.externalBytes));
        highestRss = Math.max(highestRss, rss(s.pid));
        await Bun.sleep(50);
      }
    })();
    await send(s, REQUESTS, body);
    loading = false;
    await sampling;
    const after = await threadMemory(s);

    // A request holds its body (base64 text and bytes) and its pixels; CLIENTS of them are in flight at most.
    const perRequest = jpeg.length * 2.5 + WIDTH * HEIGHT * 3;
    const bound = GC_EVERY_MB * MIB + CLIENTS * perRequest;
    console.log(
      `highest external memory above idle over ${REQUESTS} requests (MiB), bound ${(bound / MIB).toFixed(0)}: ` +
        [...highest].map(([thread, bytes]) => `${thread} ${(bytes / MIB).toFixed(0)}`).join(", ") +
        `; RSS ${((highestRss - warmRss) / MIB).toFixed(0)} MiB above warm`,
    );
    for (const [thread, bytes] of highest) expect({ thread, bytes: Math.min(bytes, bound) }).toEqual({ thread, bytes });
    // The pacer did the collecting: the vision workers saw at least WARM_REQUESTS + REQUESTS decoded images between them.
    const visionCollections = [...after].filter(([thread]) => thread.startsWith("vision-")).reduce((sum, [, r]) => sum + r.pacedCollections, 0);
    expect(visionCollections).toBeGreaterThanOrEqual(Math.floor(((WARM_REQUESTS + REQUESTS) * WIDTH * HEIGHT * 3) / (2 * GC_EVERY_MB * MIB)));
    expect(after.get("http")!.pacedCollections).toBeGreaterThan(0);
    expect(highestRss - warmRss).toBeLessThan(256 * MIB);
  }, 120_000);
});

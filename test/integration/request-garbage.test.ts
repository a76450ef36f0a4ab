// Specification of collection pacing over real HTTP: the garbage answered requests leave behind (their bodies on the
// HTTP thread, their decoded pixels in the vision workers) is collected as the server goes, instead of piling up.
// Measured as the server process's resident set size (VmRSS), all threads together, with and without GC_EVERY_MB.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const MIB = 2 ** 20;
const CLIENTS = 8;
const WARM_REQUESTS = 80;
const REQUESTS = 600;

let server: ServerProcess | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function rss(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

/** A 1280x720 JPEG of noise: about 0.4 MiB to send and 2.6 MiB of pixels once decoded. */
async function largeJpeg(): Promise<string> {
  const noise = Buffer.alloc(1280 * 720 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return (
    await sharp(noise, { raw: { width: 1280, height: 720, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer()
  ).toString("base64");
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

/** RSS growth of a fresh server over REQUESTS requests after a warm-up: the highest reading, every 50 ms, above the warm one. */
async function growthUnderLoad(gcEveryMb: string, image: string): Promise<number> {
  // glibc's default thresholds: MALLOC_KEEP_LARGE_BUFFERS keeps freed image buffers in the heap, which shrinks the
  // unpaced growth this test compares against and leaves the comparison to chance (README "Configuration").
  server = await startServerProcess({
    MODEL_CACHE_DIR: FIXTURE_CACHE,
    PRELOAD_MODELS: "colour-probe/1",
    MAX_BATCH_SIZE: "4",
    ARENA_SLOTS: "8",
    GC_EVERY_MB: gcEveryMb,
    MALLOC_KEEP_LARGE_BUFFERS: "false",
  });
  const body = { model_id: "colour-probe/1", image: { type: "base64", value: image } };
  await send(server, WARM_REQUESTS, body);
  const pid = server.pid;
  const warm = rss(pid);
  let highest = warm;
  const sampler = setInterval(() => (highest = Math.max(highest, rss(pid))), 50);
  await send(server, REQUESTS, body);
  clearInterval(sampler);
  highest = Math.max(highest, rss(pid));
  await server.stop();
  server = undefined;
  return highest - warm;
}

describe.skipIf(process.platform !== "linux")("garbage of answered requests", () => {
  test("stays bounded with GC_EVERY_MB: RSS grows less than half as much as when the engine alone decides, and under 256 MiB", async () => {
    const image = await largeJpeg();
    const unpaced = await growthUnderLoad("0", image);
    const paced = await growthUnderLoad("16", image);
    console.log(`RSS growth over ${REQUESTS} requests: ${(unpaced / MIB).toFixed(0)} MiB with GC_EVERY_MB=0, ${(paced / MIB).toFixed(0)} MiB with 16`);
    expect(paced).toBeLessThan(256 * MIB);
    expect(paced).toBeLessThan(unpaced / 2);
  }, 120_000);
});

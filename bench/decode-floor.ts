// Decode floor: what the cores do when they do nothing but decode the JPEGs clients send, the most a server on them could answer.
//
// One Bun worker per core, each decoding the same JPEG into RGB pixels with the server's decode call (src/vision/decode.ts: sharp,
// one libvips thread per operation) in a loop; images/s of all workers together over one window that every worker shares, and
// the process's CPU time per decode over that window (the main thread sleeps through it): on a machine shared with other work
// the images/s follow the other work, the CPU time per decode much less.
import { readFileSync } from "node:fs";
import { sharedNow } from "../src/workers/arena.ts";
import type { DecodeFloorReply, DecodeFloorRun } from "./decode-floor.worker.ts";
import { summariseLatencies, type LatencySummary } from "./latency.ts";
import { parseStat } from "./thread-cpu.ts";

export interface DecodeFloorResult {
  workers: number;
  seconds: number;
  /** Decodes that ended inside the window, all workers together. */
  decodes: number;
  imagesPerSec: number;
  /** Per decode, with every worker busy. */
  decodeMs: LatencySummary;
  /** CPU milliseconds of the whole process (every thread) during the window, per decode counted. */
  cpuMsPerDecode: number;
}

/** The floor from each worker's decode times inside a window of `seconds` and the process's CPU seconds during it. */
export function decodeFloor(perWorkerDecodeMs: readonly (readonly number[])[], seconds: number, cpuSeconds: number): DecodeFloorResult {
  const all = perWorkerDecodeMs.flat();
  return {
    workers: perWorkerDecodeMs.length,
    seconds,
    decodes: all.length,
    imagesPerSec: all.length / seconds,
    decodeMs: summariseLatencies(all),
    cpuMsPerDecode: all.length > 0 ? (cpuSeconds * 1000) / all.length : Number.NaN,
  };
}

const processCpuSeconds = () => parseStat(readFileSync(`/proc/${process.pid}/stat`, "utf8")).cpuSeconds;

function nextReply(worker: Worker): Promise<DecodeFloorReply> {
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<DecodeFloorReply>) => resolve(event.data);
    worker.onerror = (event) => resolve({ type: "failed", message: event.message });
  });
}

/** Runs `workers` decode loops at once: `warmupSeconds` uncounted, then a window of `seconds`. */
export async function measureDecodeFloor(jpeg: Uint8Array, options: { workers: number; warmupSeconds: number; seconds: number; gcEveryBytes: number }): Promise<DecodeFloorResult> {
  const workers = Array.from({ length: options.workers }, () => new Worker(new URL("./decode-floor.worker.ts", import.meta.url)));
  try {
    const ready = await Promise.all(workers.map(nextReply));
    const notReady = ready.find((r) => r.type !== "ready");
    if (notReady) throw new Error(`decode floor worker: ${JSON.stringify(notReady)}`);
    const windowStart = sharedNow() + options.warmupSeconds * 1000;
    const run: DecodeFloorRun = { jpeg, windowStart, windowEnd: windowStart + options.seconds * 1000, gcEveryBytes: options.gcEveryBytes };
    const replied = Promise.all(
      workers.map((worker) => {
        const reply = nextReply(worker);
        worker.postMessage(run);
        return reply;
      }),
    );
    await Bun.sleep(Math.max(0, run.windowStart - sharedNow()));
    const cpuAtStart = processCpuSeconds();
    await Bun.sleep(Math.max(0, run.windowEnd - sharedNow()));
    const cpuSeconds = processCpuSeconds() - cpuAtStart;
    const replies = await replied;
    return decodeFloor(
      replies.map((reply) => {
        if (reply.type !== "ran") throw new Error(`decode floor worker: ${reply.type === "failed" ? reply.message : reply.type}`);
        return reply.decodeMs;
      }),
      options.seconds,
      cpuSeconds,
    );
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

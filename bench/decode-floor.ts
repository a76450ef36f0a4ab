// Decode floor: what the cores do when they do nothing but decode the JPEGs clients send, the most a server on them could answer.
//
// One Bun worker per core, each decoding the same JPEG into RGB pixels with the server's decode call (src/vision/decode.ts: sharp,
// one libvips thread per operation) in a loop; images/s of all workers together over one window that every worker shares.
import { sharedNow } from "../src/pipeline/arena.ts";
import type { DecodeFloorReply, DecodeFloorRun } from "./decode-floor.worker.ts";
import { summariseLatencies, type LatencySummary } from "./latency.ts";

export interface DecodeFloorResult {
  workers: number;
  seconds: number;
  /** Decodes that ended inside the window, all workers together. */
  decodes: number;
  imagesPerSec: number;
  /** Per decode, with every worker busy. */
  decodeMs: LatencySummary;
}

/** The floor from each worker's decode times inside a window of `seconds`. */
export function decodeFloor(perWorkerDecodeMs: readonly (readonly number[])[], seconds: number): DecodeFloorResult {
  const all = perWorkerDecodeMs.flat();
  return { workers: perWorkerDecodeMs.length, seconds, decodes: all.length, imagesPerSec: all.length / seconds, decodeMs: summariseLatencies(all) };
}

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
    const replies = await Promise.all(
      workers.map((worker) => {
        const reply = nextReply(worker);
        worker.postMessage(run);
        return reply;
      }),
    );
    return decodeFloor(
      replies.map((reply) => {
        if (reply.type !== "ran") throw new Error(`decode floor worker: ${reply.type === "failed" ? reply.message : reply.type}`);
        return reply.decodeMs;
      }),
      options.seconds,
    );
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

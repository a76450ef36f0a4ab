// Decode floor worker: decodes one JPEG into RGB pixels over and over, with the server's own decode call, and counts the decodes
// that end inside a window shared by every worker (bench/decode-floor.ts).
import { sharedNow } from "../src/workers/arena.ts";
import { CollectionPacer } from "../src/workers/collection-pacer.ts";
import { decodeImage } from "../src/vision/decode.ts";

declare const self: Worker;

export interface DecodeFloorRun {
  jpeg: Uint8Array;
  /** The window, on sharedNow()'s clock: decodes before it warm up, decodes that end inside it count. */
  windowStart: number;
  windowEnd: number;
  /** As the server's vision workers collect (GC_EVERY_MB): after every so many bytes of encoded and decoded image. */
  gcEveryBytes: number;
}

export type DecodeFloorReply = { type: "ready" } | { type: "ran"; decodeMs: number[] } | { type: "failed"; message: string };

self.onmessage = async (event: MessageEvent<DecodeFloorRun>) => {
  const { jpeg, windowStart, windowEnd, gcEveryBytes } = event.data;
  const pacer = new CollectionPacer(gcEveryBytes);
  const decodeMs: number[] = [];
  try {
    while (sharedNow() < windowEnd) {
      const startedAt = sharedNow();
      const image = await decodeImage(jpeg, { autoOrient: true });
      const endedAt = sharedNow();
      if (endedAt >= windowStart && endedAt < windowEnd) decodeMs.push(endedAt - startedAt);
      pacer.count(jpeg.length + image.data.length);
      pacer.collectIfDue();
    }
    self.postMessage({ type: "ran", decodeMs } satisfies DecodeFloorReply);
  } catch (error) {
    self.postMessage({ type: "failed", message: (error as Error).message } satisfies DecodeFloorReply);
  }
};
self.postMessage({ type: "ready" } satisfies DecodeFloorReply);

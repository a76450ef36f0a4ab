// Allocator soak worker: decodes a sequence of JPEGs over and over with the server's decode call, collecting garbage as the
// vision workers do, until told to stop (bench/malloc-soak.ts).
import { CollectionPacer } from "../src/workers/collection-pacer.ts";
import { decodeImage } from "../src/vision/decode.ts";

declare const self: Worker;

export interface SoakRun {
  jpegs: Uint8Array[];
  /** Stops after this many decodes. */
  decodes: number;
  gcEveryBytes: number;
}

export type SoakReply = { type: "ready" } | { type: "ran"; decodeMs: number[][] } | { type: "failed"; message: string };

self.onmessage = async (event: MessageEvent<SoakRun>) => {
  const { jpegs, decodes, gcEveryBytes } = event.data;
  const pacer = new CollectionPacer(gcEveryBytes);
  const decodeMs: number[][] = jpegs.map(() => []);
  try {
    for (let i = 0; i < decodes; i++) {
      const k = i % jpegs.length;
      const startedAt = performance.now();
      const image = await decodeImage(jpegs[k]!, { autoOrient: true });
      decodeMs[k]!.push(performance.now() - startedAt);
      pacer.count(jpegs[k]!.length + image.data.length);
      pacer.collectIfDue();
    }
    self.postMessage({ type: "ran", decodeMs } satisfies SoakReply);
  } catch (error) {
    self.postMessage({ type: "failed", message: (error as Error).message } satisfies SoakReply);
  }
};
self.postMessage({ type: "ready" } satisfies SoakReply);

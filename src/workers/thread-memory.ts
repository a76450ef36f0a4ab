// One thread's JavaScript memory: what its heap holds, and what its objects hold outside the heap (request bodies,
// sharp's pixels) until they are collected. Collection pacing bounds the latter (collection-pacer.ts); /metrics
// exports both for the HTTP thread and every vision worker, read when it is scraped.
import { heapStats } from "bun:jsc";
import type { CollectionPacer } from "./collection-pacer.ts";

export interface ThreadMemory {
  /** The JavaScriptCore heap's size (its objects, live or not yet collected). */
  heapBytes: number;
  /** Memory outside the heap that the heap's objects hold (ArrayBuffers and buffers native code handed over), live or not yet collected. */
  externalBytes: number;
  /** Collections the thread's pacer ran (GC_EVERY_MB). */
  pacedCollections: number;
}

/** The calling thread's reading (each Worker has a heap of its own). */
export function readThreadMemory(pacer: CollectionPacer): ThreadMemory {
  const stats = heapStats();
  return { heapBytes: stats.heapSize, externalBytes: stats.extraMemorySize, pacedCollections: pacer.collections };
}

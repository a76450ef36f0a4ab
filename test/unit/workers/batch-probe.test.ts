// Specification of the batch probe policy: which sizes are timed, and the batch cap the timings give.
import { describe, expect, test } from "bun:test";
import { chooseBatchCap, nextProbeSize, type ProbeSample } from "../../../src/workers/batch-probe.ts";

/** Runs the probe against a cost model (ms per image at each size), as the inference worker does against ORT. */
function probe(msPerImage: (size: number) => number, maxBatch: number): { timed: number[]; cap: number } {
  const samples: ProbeSample[] = [];
  for (let size = nextProbeSize(samples, maxBatch); size !== null; size = nextProbeSize(samples, maxBatch)) {
    samples.push({ size, msPerImage: msPerImage(size) });
  }
  return { timed: samples.map((s) => s.size), cap: chooseBatchCap(samples, maxBatch) };
}

describe("batch probe", () => {
  test("on a GPU-like device, where every doubling is cheaper per image, times every size up to the maximum and batches fully", () => {
    expect(probe((n) => 5 / n + 0.4, 32)).toEqual({ timed: [1, 2, 4, 8, 16, 32], cap: 32 });
  });

  test("on a CPU where larger batches cost more per image (YOLOv8n on 2 cores), stops after one doubling and runs one image at a time", () => {
    const measured: Record<number, number> = { 1: 61, 2: 68, 4: 77, 8: 87 };
    expect(probe((n) => measured[n]!, 32)).toEqual({ timed: [1, 2], cap: 1 });
  });

  test("stops at the first doubling that cuts the time per image by less than 10%", () => {
    const measured: Record<number, number> = { 1: 10, 2: 6, 4: 4.2, 8: 4, 16: 3, 32: 2 };
    expect(probe((n) => measured[n]!, 32)).toEqual({ timed: [1, 2, 4, 8], cap: 4 });
  });

  test("picks the smallest timed size whose time per image is within 5% of the best, for the lower latency", () => {
    expect(
      chooseBatchCap(
        [
          { size: 1, msPerImage: 10 },
          { size: 2, msPerImage: 4.1 },
          { size: 4, msPerImage: 4 },
          { size: 8, msPerImage: 4.5 },
        ],
        32,
      ),
    ).toBe(2);
  });

  test("keeps within a maximum that is not a power of two", () => {
    expect(probe((n) => 8 / n, 6)).toEqual({ timed: [1, 2, 4, 6], cap: 6 });
  });

  test("without timings the cap is the maximum", () => {
    expect(chooseBatchCap([], 16)).toBe(16);
  });
});

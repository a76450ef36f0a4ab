// Batch probe policy: which batch sizes to time when a model loads, and the batch cap the timings call for.
//
// Batching pays on a GPU (a batch of 32 costs little more than one image) but not always on a
// CPU, where a large batch can cost more per image than a single one, so a server that batched up
// to MAX_BATCH_SIZE under load got slower the busier it was (BENCHMARKS.md, "Batching on a CPU
// hurt; the batch probe fixed it"). The
// device's session loader times doubling batch sizes once per model, and its batches are capped
// where the time per image stops improving.

export interface ProbeSample {
  size: number;
  msPerImage: number;
}

/** A doubling must cut the time per image by this much for the probe to try the next one (so a flat or worsening curve costs two sizes). */
export const PROBE_MIN_GAIN = 0.1;
/** Sizes within this much of the best time per image count as equally good; the smallest of them wins (lower latency). */
export const CAP_TOLERANCE = 0.05;

function best(samples: readonly ProbeSample[]): number {
  return Math.min(...samples.map((s) => s.msPerImage));
}

/** The next batch size to time (1, 2, 4, … up to maxBatch), or null once a doubling stopped paying or the maximum is timed. */
export function nextProbeSize(samples: readonly ProbeSample[], maxBatch: number): number | null {
  const last = samples.at(-1);
  if (!last) return 1;
  if (last.size >= maxBatch) return null;
  const previous = samples.at(-2);
  if (previous && last.msPerImage > previous.msPerImage * (1 - PROBE_MIN_GAIN)) return null;
  return Math.min(last.size * 2, maxBatch);
}

/** The batch cap: the smallest timed size whose time per image is within CAP_TOLERANCE of the best. */
export function chooseBatchCap(samples: readonly ProbeSample[], maxBatch: number): number {
  if (samples.length === 0) return maxBatch;
  const limit = best(samples) * (1 + CAP_TOLERANCE);
  const good = samples.filter((s) => s.msPerImage <= limit).map((s) => s.size);
  return Math.min(...good);
}

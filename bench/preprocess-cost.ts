// Preprocessing cost: decoding and preprocessing one image into a model input, alone on one thread, per image size.
import type { ModelPackage } from "../src/models/package.ts";
import { preprocessInto } from "../src/vision/preprocess.ts";
import type { BenchImage } from "./images.ts";
import { summariseLatencies, type LatencySummary } from "./latency.ts";

export interface PreprocessCost {
  /** "640x480" -> milliseconds per image (decode, orient, resize, normalise into CHW float32). */
  bySize: Record<string, LatencySummary>;
  /** Mean over the images as the load generator sends them (round robin). */
  meanMs: number;
}

const NO_SWITCHES = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };

/** Detection's normalisation; other models' mean and std cost the same. */
const UNIT_NORMALISATION = { mean: [0, 0, 0], std: [1, 1, 1] } as const;

export async function measurePreprocessCost(pkg: ModelPackage, size: { width: number; height: number }, images: BenchImage[], rounds: number): Promise<PreprocessCost> {
  const input = { ...size, ...UNIT_NORMALISATION };
  const target = new Float32Array(3 * size.width * size.height);
  // Once untimed: the first decode loads codecs and warms the JIT.
  for (const image of images) await preprocessInto(image.jpeg, pkg.preprocessing, NO_SWITCHES, input, target);
  const times = new Map<string, number[]>();
  const all: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const image of images) {
      const t0 = performance.now();
      await preprocessInto(image.jpeg, pkg.preprocessing, NO_SWITCHES, input, target);
      const ms = performance.now() - t0;
      const key = `${image.width}x${image.height}`;
      times.set(key, [...(times.get(key) ?? []), ms]);
      all.push(ms);
    }
  }
  const bySize: Record<string, LatencySummary> = {};
  for (const [key, ms] of times) bySize[key] = summariseLatencies(ms);
  return { bySize, meanMs: all.reduce((a, b) => a + b, 0) / all.length };
}

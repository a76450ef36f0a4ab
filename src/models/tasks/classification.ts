// Classification task: one image's class scores to the reference's response body (single- and multi-label).
import { pythonRound } from "../../python-rounding.ts";

/** Per-request postprocessing parameters (the request's `confidence`). */
export interface ClassificationParams {
  confidence: number;
}

/** The original decoded image's size (before static crop), as the response reports it. */
export interface ImageSize {
  width: number;
  height: number;
}

/** One single-label prediction as the reference serialises it (`class` is the aliased `class_name`). */
export interface ClassificationPrediction {
  class: string;
  class_id: number;
  confidence: number;
}

export interface SingleLabelClassificationBody {
  image: ImageSize;
  predictions: ClassificationPrediction[];
  /** The first prediction's class, or "" when none passed the threshold. */
  top: string;
  /** The first prediction's confidence, or 0 when none passed the threshold. */
  confidence: number;
}

export interface MultiLabelClassificationBody {
  /** Width and height swapped, as the reference reports them (see postprocessClassification). */
  image: ImageSize;
  /** Every class, in class order, with its raw score. */
  predictions: Record<string, { confidence: number; class_id: number }>;
  /** Classes whose score is strictly above the threshold, in class order. */
  predicted_classes: string[];
}

/** The response body without `inference_id`, `time` and `visualization`, which the caller adds. */
export type ClassificationBody = SingleLabelClassificationBody | MultiLabelClassificationBody;

/**
 * How far a row's sum may stray from 1 and still count as a probability distribution. A float32
 * softmax over thousands of classes sums to 1 within ~1e-5, fp16 within a few 1e-4; logits
 * (unbounded, signed) essentially never land inside [0, 1] with a sum this close to 1.
 */
const DISTRIBUTION_SUM_TOLERANCE = 1e-3;

/**
 * True when a row of scores is already a probability distribution: every value finite and in
 * [0, 1], and the sum within 1e-3 of 1. Such rows (e.g. a YOLOv8-cls export, whose graph ends in
 * Softmax) are used as they are; any other row is taken for logits and softmaxed. The reference
 * softmaxes every row, which flattens an exported distribution a second time; by default we don't
 * (SoftmaxRule).
 */
export function isProbabilityDistribution(row: ArrayLike<number>): boolean {
  if (row.length === 0) return false;
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const value = row[i]!;
    if (!(value >= 0 && value <= 1)) return false;
    sum += value;
  }
  return Math.abs(sum - 1) <= DISTRIBUTION_SUM_TOLERANCE;
}

/**
 * Which single-label rows are softmaxed: "logits" (the default) only rows that are not already a
 * probability distribution (isProbabilityDistribution); "reference" every row, as the reference
 * does (docs/model-families.md §6), so a model whose export ends in Softmax answers with the reference's
 * flattened confidences (e.g. 0.0018 over 1000 classes).
 */
export type SoftmaxRule = "logits" | "reference";

/** A single-label row's class probabilities under `rule`: the row itself when it is used as is, else its softmax. */
export function singleLabelScores(row: Float32Array, rule: SoftmaxRule): Float32Array {
  return rule === "logits" && isProbabilityDistribution(row) ? row : softmax(row);
}

/**
 * `exp(x - max(x)) / sum(exp(x - max(x)))` in float32, step by step as NumPy computes it on the
 * reference's float32 output (its sum included), so confidences round to the same 4 decimals.
 */
export function softmax(row: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  const exponentials = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) exponentials[i] = Math.exp(Math.fround(row[i]! - max));
  const sum = float32PairwiseSum(exponentials, 0, exponentials.length);
  const probabilities = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) probabilities[i] = exponentials[i]! / sum;
  return probabilities;
}

/**
 * NumPy's float32 `sum`: plain accumulation below 8 values, eight running partial sums for up to
 * 128, and recursive halving (at multiples of 8) above that. Float32 rounding after every add.
 */
function float32PairwiseSum(values: Float32Array, start: number, count: number): number {
  const f = Math.fround;
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum = f(sum + values[start + i]!);
    return sum;
  }
  if (count <= 128) {
    const partial = Array.from(values.subarray(start, start + 8));
    let i = 8;
    for (; i < count - (count % 8); i += 8) {
      for (let j = 0; j < 8; j++) partial[j] = f(partial[j]! + values[start + i + j]!);
    }
    const [p0, p1, p2, p3, p4, p5, p6, p7] = partial as [number, number, number, number, number, number, number, number];
    let sum = f(f(f(p0 + p1) + f(p2 + p3)) + f(f(p4 + p5) + f(p6 + p7)));
    for (; i < count; i++) sum = f(sum + values[start + i]!);
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return f(float32PairwiseSum(values, start, half) + float32PairwiseSum(values, start + half, count - half));
}

/**
 * Builds one image's classification body from its `C` raw scores (row `n` of the model's `B × C`
 * output).
 *
 * Single-label: scores are softmaxed unless already a distribution (isProbabilityDistribution), or
 * always with `softmaxRule: "reference"` (SoftmaxRule);
 * classes scoring below `confidence` (inclusive threshold, on the unrounded score) are dropped;
 * confidences are rounded to 4 decimals and sorted by the rounded value, descending, ties in
 * class order.
 *
 * Multi-label: scores are reported raw (no sigmoid, no rounding) for every class;
 * `predicted_classes` are those strictly above `confidence`. The reference builds this body's
 * `image` from its (height, width) tuple in the wrong order, so `width` holds the image's height
 * and `height` its width; clients see that, so we reproduce it (square images hide it).
 */
export function postprocessClassification(
  output: Float32Array,
  params: ClassificationParams,
  image: ImageSize,
  classNames: string[],
  options: { multiLabel: boolean; softmaxRule?: SoftmaxRule },
): ClassificationBody {
  const nameOf = (classId: number) => classNames[classId] ?? String(classId);

  if (options.multiLabel) {
    // A null-prototype object: a class named "__proto__" stays an ordinary key.
    const predictions: Record<string, { confidence: number; class_id: number }> = Object.create(null);
    const predictedClasses: string[] = [];
    for (let i = 0; i < output.length; i++) {
      const name = nameOf(i);
      predictions[name] = { confidence: output[i]!, class_id: i };
      if (output[i]! > params.confidence) predictedClasses.push(name);
    }
    return { image: { width: image.height, height: image.width }, predictions, predicted_classes: predictedClasses };
  }

  const scores = singleLabelScores(output, options.softmaxRule ?? "logits");
  const predictions: ClassificationPrediction[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (scores[i]! < params.confidence) continue;
    predictions.push({ class: nameOf(i), class_id: i, confidence: pythonRound(scores[i]!, 4) });
  }
  // Array.prototype.sort is stable: equal rounded confidences keep class order, as Python's sorted.
  predictions.sort((a, b) => b.confidence - a.confidence);
  const first = predictions[0];
  return {
    image: { width: image.width, height: image.height },
    predictions,
    top: first?.class ?? "",
    confidence: first?.confidence ?? 0,
  };
}

// Model I/O: an ONNX model's signature, and what its input shape says about image size and batching.
import type { InputElement } from "./input-encoding.ts";

/** One input or output of an ONNX model, as ONNX Runtime describes it (a symbolic dimension is its name). */
export interface TensorSignature {
  name: string;
  elementType: string;
  shape: (number | string)[];
}

/** What a created session tells about its model. */
export interface SessionSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** One image's concrete output shapes (batch axis removed), learned from a probe run. */
  outputShapes: number[][];
  metadata: Record<string, string>;
}

/**
 * A loaded session's signature as the model was exported, and how its arena holds inputs: pixels when the session
 * runs the model rewritten to take them (onnx/pixel-input.ts; `inputs` still shows the exported float input).
 */
export interface LoadedSignature extends SessionSignature {
  inputElement: InputElement;
}

/** Input height and width: the ONNX dims when fixed, else the package's resize size, else 640. */
export function resolveInputSize(shape: readonly (number | string)[], fallback: { width?: number; height?: number }): { width: number; height: number } {
  const dim = (i: number, alt: number | undefined) => (typeof shape[i] === "number" && (shape[i] as number) > 0 ? (shape[i] as number) : (alt ?? 640));
  return { height: dim(2, fallback.height), width: dim(3, fallback.width) };
}

/**
 * The image-input shapes one TensorRT engine must cover: every batch the server runs (1..maxBatchSize, tuned for the
 * largest) at the model's image size. Null when the input's shape is fully fixed or is not an image batch.
 */
export function inputShapeRange(
  shape: readonly (number | string)[],
  imageSize: { width?: number; height?: number },
  maxBatchSize: number,
): { min: number[]; opt: number[]; max: number[] } | null {
  const fixed = (dim: number | string | undefined): dim is number => typeof dim === "number" && dim > 0;
  if (shape.length !== 4 || shape.every(fixed)) return null;
  const size = resolveInputSize(shape, imageSize);
  const batch = resolveBatch(shape, maxBatchSize);
  const channels = fixed(shape[1]) ? shape[1] : 3;
  const rows = (n: number) => [n, channels, size.height, size.width];
  return { min: rows(batch.fixed ? batch.capacity : 1), opt: rows(batch.capacity), max: rows(batch.capacity) };
}

/** A fixed ONNX batch dim is run as is; a dynamic one batches up to maxBatchSize. */
export function resolveBatch(shape: readonly (number | string)[], maxBatchSize: number): { capacity: number; fixed: boolean } {
  const dim = shape[0];
  if (typeof dim === "number" && dim > 0) return { capacity: dim, fixed: true };
  return { capacity: maxBatchSize, fixed: false };
}

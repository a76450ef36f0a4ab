// Model I/O: what an ONNX input shape says about image size and batching.

/** Input height and width: the ONNX dims when fixed, else the package's resize size, else 640. */
export function resolveInputSize(shape: readonly (number | string)[], fallback: { width?: number; height?: number }): { width: number; height: number } {
  const dim = (i: number, alt: number | undefined) => (typeof shape[i] === "number" && (shape[i] as number) > 0 ? (shape[i] as number) : (alt ?? 640));
  return { height: dim(2, fallback.height), width: dim(3, fallback.width) };
}

/** A fixed ONNX batch dim is run as is; a dynamic one batches up to maxBatchSize. */
export function resolveBatch(shape: readonly (number | string)[], maxBatchSize: number): { capacity: number; fixed: boolean } {
  const dim = shape[0];
  if (typeof dim === "number" && dim > 0) return { capacity: dim, fixed: true };
  return { capacity: maxBatchSize, fixed: false };
}

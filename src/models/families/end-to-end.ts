// End-to-end (NMS-free) detection rows, the output of YOLOv10 and YOLO26 (their family files): K × 6 rows (x1, y1, x2, y2, score, class) into final detections.
import { allocateDetectionCandidates, setCandidate, type DetectionCandidates } from "../../vision/nms.ts";
import type { Detections } from "./family.ts";

/** Values per row: x1, y1, x2, y2, score, class id. */
export const END_TO_END_ROW = 6;

/**
 * The model has already suppressed duplicates, so the reference (§5.1) runs no NMS: it keeps the
 * rows whose score is **strictly** above `confidence` (float32), in the model's order, and YOLOv10
 * then keeps the first `max_detections` of them (`maxDetections`; pass null for YOLO26, which has
 * no cap). The class is column 5 (a float holding an integer); IoU threshold and class-agnostic
 * NMS do not apply. Rows whose class is not an integer in [0, numClasses) are dropped (the
 * reference would fail looking its name up). Returns the detections in output order.
 */
export function decodeEndToEndDetections(
  output: Float32Array,
  numRows: number,
  numClasses: number,
  confidence: number,
  maxDetections: number | null,
): DetectionCandidates {
  const needed = END_TO_END_ROW * numRows;
  if (output.length < needed) throw new Error(`end-to-end output holds ${output.length} values, ${needed} needed for ${numRows} rows`);
  const threshold = Math.fround(confidence);
  const cap = maxDetections === null ? numRows : Math.max(0, Math.min(numRows, maxDetections));
  const keep = (row: number): boolean => {
    const classValue = output[row + 5]!;
    return output[row + 4]! > threshold && Number.isInteger(classValue) && classValue >= 0 && classValue < numClasses;
  };

  let passing = 0;
  for (let r = 0, row = 0; r < numRows && passing < cap; r++, row += END_TO_END_ROW) if (keep(row)) passing++;

  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let r = 0, row = 0; r < numRows && count < passing; r++, row += END_TO_END_ROW) {
    if (!keep(row)) continue;
    setCandidate(candidates, count, output[row]!, output[row + 1]!, output[row + 2]!, output[row + 3]!, output[row + 4]!, output[row + 4]!, output[row + 5]!, r);
    count++;
  }
  return candidates;
}

/** Every decoded row is reported, in the model's order. */
export function unsuppressed(candidates: DetectionCandidates): Detections {
  return { candidates, kept: Int32Array.from({ length: candidates.count }, (_, i) => i) };
}

/** K × 6 rows in output 0 (the layout YOLOv10 and YOLO26 detection share). */
export function endToEndRows(shapes: number[][]): number | null {
  const s = shapes[0];
  return s && s.length === 2 && s[1] === END_TO_END_ROW ? s[0]! : null;
}

// End-to-end (NMS-free) detection rows, the output of YOLOv10 and YOLO26 (detection, segmentation and pose): K rows of x1, y1, x2, y2, score, class and, for segmentation and pose, further values, into final detections.
import { allocateDetectionCandidates, setCandidate, type DetectionCandidates } from "../../vision/nms.ts";

/** The leading values of every row: x1, y1, x2, y2, score, class id. */
export const END_TO_END_ROW = 6;

/**
 * The model has already suppressed duplicates, so the reference (docs/compatibility.md §5.1, docs/model-families.md §3,
 * docs/model-families.md §4.4) runs no NMS: it keeps the rows whose score is **strictly** above `confidence` (float32), in the model's order,
 * and YOLOv10 then keeps the first `max_detections` of them (`maxDetections`; pass null for YOLO26, which has no cap).
 * The class is column 5 (a float holding an integer); IoU threshold and class-agnostic NMS do not apply. Rows whose
 * class is not an integer in [0, numClasses) are dropped (the reference would fail looking its name up). Rows are
 * `rowLength` values long (6, or more when mask coefficients or keypoints follow); each candidate's `row` is its row
 * index. Returns the detections in output order.
 */
export function decodeEndToEndDetections(
  output: Float32Array,
  numRows: number,
  numClasses: number,
  confidence: number,
  maxDetections: number | null,
  rowLength = END_TO_END_ROW,
): DetectionCandidates {
  if (rowLength < END_TO_END_ROW) throw new Error(`end-to-end rows of ${rowLength} values lack the ${END_TO_END_ROW} box columns`);
  const needed = rowLength * numRows;
  if (output.length < needed) throw new Error(`end-to-end output holds ${output.length} values, ${needed} needed for ${numRows} rows of ${rowLength}`);
  const threshold = Math.fround(confidence);
  const cap = maxDetections === null ? numRows : Math.max(0, Math.min(numRows, maxDetections));
  const keep = (row: number): boolean => {
    const classValue = output[row + 5]!;
    return output[row + 4]! > threshold && Number.isInteger(classValue) && classValue >= 0 && classValue < numClasses;
  };

  let passing = 0;
  for (let r = 0, row = 0; r < numRows && passing < cap; r++, row += rowLength) if (keep(row)) passing++;

  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let r = 0, row = 0; r < numRows && count < passing; r++, row += rowLength) {
    if (!keep(row)) continue;
    setCandidate(candidates, count, output[row]!, output[row + 1]!, output[row + 2]!, output[row + 3]!, output[row + 4]!, output[row + 4]!, output[row + 5]!, r);
    count++;
  }
  return candidates;
}

/** K × 6 rows in output 0 (the layout YOLOv10 and YOLO26 detection share). */
export function endToEndRows(shapes: number[][]): number | null {
  const s = shapes[0];
  return s && s.length === 2 && s[1] === END_TO_END_ROW ? s[0]! : null;
}

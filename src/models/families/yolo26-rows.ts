// YOLO26 end-to-end rows with extra columns (segmentation's mask coefficients, pose's keypoints): one image's K rows into final detections.
import { allocateDetectionCandidates, setCandidate, truncateCandidates, type DetectionCandidates } from "../../vision/nms.ts";

/** Leading values of every YOLO26 row: x1, y1, x2, y2 (input pixels), score, class id. */
export const YOLO26_BOX_COLUMNS = 6;

/**
 * Rows of `rowLength` values, `[x1, y1, x2, y2, score, class, extra…]`, already suppressed by the
 * model (spec §3, §4.4): kept when the score is **strictly** above `confidence` (float32), in output
 * order, with no NMS and no `max_detections` cap. The class is column 5; like end-to-end.ts, rows
 * whose class is not an integer in [0, numClasses) are dropped (the reference would fail naming them).
 * `row` of each candidate is its row index, for the extra columns.
 */
export function decodeYolo26Rows(output: Float32Array, numRows: number, rowLength: number, numClasses: number, confidence: number): DetectionCandidates {
  if (rowLength < YOLO26_BOX_COLUMNS) throw new Error(`YOLO26 rows of ${rowLength} values lack the ${YOLO26_BOX_COLUMNS} box columns`);
  const needed = rowLength * numRows;
  if (output.length < needed) throw new Error(`YOLO26 output holds ${output.length} values, ${needed} needed for ${numRows} rows of ${rowLength}`);
  const threshold = Math.fround(confidence);
  const candidates = allocateDetectionCandidates(numRows);
  let count = 0;
  for (let r = 0, at = 0; r < numRows; r++, at += rowLength) {
    const score = output[at + 4]!;
    const classValue = output[at + 5]!;
    if (!(score > threshold) || !Number.isInteger(classValue) || classValue < 0 || classValue >= numClasses) continue;
    setCandidate(candidates, count, output[at]!, output[at + 1]!, output[at + 2]!, output[at + 3]!, score, score, classValue, r);
    count++;
  }
  return truncateCandidates(candidates, count);
}

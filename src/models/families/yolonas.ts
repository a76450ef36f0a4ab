// YOLO-NAS detection outputs: one image's boxes (N × 4, x1 y1 x2 y2) and class scores (N × C) into candidates.
import { allocateDetectionCandidates, setCandidate, truncateCandidates, type DetectionCandidates } from "../../vision/nms.ts";

/**
 * The reference (§5.1) builds rows `[x1, y1, x2, y2, max class score, classes]` with the boxes
 * already in xyxy (no xywh conversion), then filters and suppresses them like any other family:
 * an anchor is a candidate when its max class score is >= `confidence` (float32, inclusive); its
 * class is the first class holding that max; score and class confidence are both that max.
 * An anchor with a NaN class score is dropped, as NumPy's max propagates NaN.
 */
export function decodeYoloNasDetections(
  boxes: Float32Array,
  scores: Float32Array,
  numClasses: number,
  numAnchors: number,
  confidence: number,
): DetectionCandidates {
  if (boxes.length < 4 * numAnchors) throw new Error(`YOLO-NAS boxes hold ${boxes.length} values, ${4 * numAnchors} needed for ${numAnchors} anchors`);
  if (scores.length < numClasses * numAnchors) {
    throw new Error(`YOLO-NAS scores hold ${scores.length} values, ${numClasses * numAnchors} needed for ${numClasses} classes × ${numAnchors} anchors`);
  }
  if (numClasses <= 0 || numAnchors <= 0) return allocateDetectionCandidates(0);
  const threshold = Math.fround(confidence);

  // Pass 1: anchors where some class score reaches the threshold (a NaN never does).
  let passing = 0;
  for (let a = 0, row = 0; a < numAnchors; a++, row += numClasses) {
    for (let c = 0; c < numClasses; c++) {
      if (scores[row + c]! >= threshold) {
        passing++;
        break;
      }
    }
  }

  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let a = 0, row = 0; a < numAnchors && count < passing; a++, row += numClasses) {
    let score = scores[row]!;
    let classId = 0;
    for (let c = 1; c < numClasses; c++) {
      const value = scores[row + c]!;
      if (value > score) {
        score = value;
        classId = c;
      } else if (value !== value) {
        score = Number.NaN;
        break;
      }
    }
    if (!(score >= threshold)) continue;
    setCandidate(candidates, count, boxes[4 * a]!, boxes[4 * a + 1]!, boxes[4 * a + 2]!, boxes[4 * a + 3]!, score, score, classId, a);
    count++;
  }
  return count === passing ? candidates : truncateCandidates(candidates, count);
}

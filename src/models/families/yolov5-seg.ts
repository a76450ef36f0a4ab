// YOLOv5-family segmentation output (v5 seg, and v7 seg's first output): one image's row-major N × (5 + C + 32) tensor into candidates and mask-coefficient locations.
import { allocateDetectionCandidates, type DetectionCandidates } from "../../vision/nms.ts";
import { MASK_COEFFICIENTS, type SegmentationCandidates } from "../../vision/masks.ts";

/**
 * Each anchor's row is cx, cy, w, h, objectness, C class scores, 32 mask coefficients. Used as is
 * by the reference: the score (threshold, NMS order, response confidence) is the objectness alone;
 * the class is the first argmax of the class scores, whose max is the class confidence.
 *
 * Float32 fidelity: the threshold is compared as float32 (inclusive), the corners are float32
 * results of cx ∓ w/2. A NaN objectness fails the threshold; a NaN class score is NumPy's max and
 * argmax (the first NaN wins), as the reference would carry it.
 */
export function decodeYolov5Segmentation(
  output: Float32Array,
  numClasses: number,
  numAnchors: number,
  confidence: number,
): SegmentationCandidates {
  const rowLength = 5 + numClasses + MASK_COEFFICIENTS;
  const needed = rowLength * numAnchors;
  if (output.length < needed) {
    throw new Error(`YOLOv5-seg output holds ${output.length} values, ${needed} needed for ${numClasses} classes × ${numAnchors} anchors`);
  }
  const coefficients = { start: 5 + numClasses, rowStep: rowLength, coefficientStep: 1 };
  if (numClasses <= 0 || numAnchors <= 0) return { candidates: allocateDetectionCandidates(0), coefficients };
  const threshold = Math.fround(confidence);

  let passing = 0;
  for (let a = 0, at = 4; a < numAnchors; a++, at += rowLength) if (output[at]! >= threshold) passing++;

  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let a = 0, row = 0; a < numAnchors; a++, row += rowLength) {
    const score = output[row + 4]!;
    if (!(score >= threshold)) continue;
    writeCandidate(candidates, count++, output, row, numClasses, score, a);
  }
  return { candidates, coefficients };
}

function writeCandidate(
  candidates: DetectionCandidates,
  index: number,
  output: Float32Array,
  row: number,
  numClasses: number,
  score: number,
  anchor: number,
): void {
  const classes = row + 5;
  let classConfidence = output[classes]!;
  let classId = 0;
  if (classConfidence === classConfidence) {
    for (let c = 1; c < numClasses; c++) {
      const value = output[classes + c]!;
      if (value > classConfidence) {
        classConfidence = value;
        classId = c;
      } else if (value !== value) {
        classConfidence = value;
        classId = c;
        break;
      }
    }
  }
  const cx = output[row]!;
  const cy = output[row + 1]!;
  const halfW = output[row + 2]! / 2;
  const halfH = output[row + 3]! / 2;
  candidates.x1[index] = cx - halfW;
  candidates.y1[index] = cy - halfH;
  candidates.x2[index] = cx + halfW;
  candidates.y2[index] = cy + halfH;
  candidates.score[index] = score;
  candidates.classConfidence[index] = classConfidence;
  candidates.classId[index] = classId;
  candidates.row[index] = anchor;
}

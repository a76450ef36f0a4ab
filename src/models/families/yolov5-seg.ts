// YOLOv5-family segmentation output (v5 seg, and v7 seg's first output): one image's row-major N × (5 + C + 32) tensor into candidates and mask-coefficient locations.
import { MASK_COEFFICIENTS, type SegmentationCandidates } from "../../vision/masks.ts";
import { decodeObjectnessRows } from "./yolov5.ts";

/**
 * Each anchor's row is cx, cy, w, h, objectness, C class scores, 32 mask coefficients, decoded as
 * YOLOv5 detection's rows are (score = objectness alone, class = first argmax; see yolov5.ts);
 * coefficient k of anchor a sits at row a, column 5 + C + k.
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
  return {
    candidates: decodeObjectnessRows(output, numClasses, numAnchors, rowLength, confidence),
    coefficients: { start: 5 + numClasses, rowStep: rowLength, coefficientStep: 1 },
  };
}

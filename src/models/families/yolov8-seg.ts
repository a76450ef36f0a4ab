// YOLOv8-family segmentation output (v8, v11 seg): one image's channel-major (4 + C + 32) × N tensor into candidates and mask-coefficient locations.
import { MASK_COEFFICIENTS, type SegmentationCandidates } from "../../vision/masks.ts";
import { decodeYolov8Detections } from "./yolov8.ts";

/**
 * Rows of `output` are cx, cy, w, h, one score row per class, then the 32 mask-coefficient rows,
 * each `numAnchors` long. The detection rows decode exactly as YOLOv8 detection's (score = max class
 * score, first argmax, float32 threshold and corners); coefficient k of anchor a is row 4 + C + k.
 */
export function decodeYolov8Segmentation(
  output: Float32Array,
  numClasses: number,
  numAnchors: number,
  confidence: number,
): SegmentationCandidates {
  const needed = (4 + numClasses + MASK_COEFFICIENTS) * numAnchors;
  if (output.length < needed) {
    throw new Error(`YOLOv8-seg output holds ${output.length} values, ${needed} needed for ${numClasses} classes × ${numAnchors} anchors`);
  }
  return {
    candidates: decodeYolov8Detections(output, numClasses, numAnchors, confidence),
    coefficients: { start: (4 + numClasses) * numAnchors, rowStep: 1, coefficientStep: numAnchors },
  };
}

// YOLO26 instance segmentation: one image's K × (6 + 32) end-to-end rows into detections carrying their mask coefficients (spec §3).
import { MASK_COEFFICIENTS, type SegmentationCandidates } from "../../vision/masks.ts";
import { YOLO26_BOX_COLUMNS, decodeYolo26Rows } from "./yolo26-rows.ts";

/** Values per row: x1, y1, x2, y2, score, class, then the 32 mask coefficients. */
export const YOLO26_SEGMENTATION_ROW = YOLO26_BOX_COLUMNS + MASK_COEFFICIENTS;

/**
 * Rows `[x1, y1, x2, y2, conf, class, m0 … m31]` in input pixels: score strictly above
 * `confidence`, no NMS, no cap (yolo26-rows.ts). The candidates are final: every one is reported,
 * in order, so their masks come from masks.ts `decodeMasks` with `gatherMaskCoefficients` over all
 * of them (indices 0 … count-1), exactly as YOLOv8-seg's survivors of NMS.
 */
export function decodeYolo26Segmentation(output: Float32Array, numRows: number, numClasses: number, confidence: number): SegmentationCandidates {
  return {
    candidates: decodeYolo26Rows(output, numRows, YOLO26_SEGMENTATION_ROW, numClasses, confidence),
    coefficients: { start: YOLO26_BOX_COLUMNS, rowStep: YOLO26_SEGMENTATION_ROW, coefficientStep: 1 },
  };
}

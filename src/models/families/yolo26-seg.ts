// YOLO26 segmentation family: end-to-end K × (6 + 32) rows (no NMS, no cap) plus 32 × mh × mw prototypes (docs/model-families.md §3).
import { MASK_COEFFICIENTS, type MaskCoefficientLayout, type SegmentationCandidates } from "../../vision/masks.ts";
import { decodeEndToEndDetections, END_TO_END_ROW } from "./end-to-end.ts";
import { UNIT_NORMALISATION, unsuppressed, type SegmentationFamily } from "./family.ts";
import { findPrototypeOutputs, prototypeMasks, type PrototypeOutputs } from "./prototype-masks.ts";
import { selectsYolo26 } from "./yolo26.ts";

/** Values per row: x1, y1, x2, y2, score, class, then the 32 mask coefficients. */
export const YOLO26_SEGMENTATION_ROW = END_TO_END_ROW + MASK_COEFFICIENTS;

export interface Yolo26SegmentationLayout extends PrototypeOutputs {
  family: "yolo26-seg";
}

/** Coefficient k of row r sits at column 6 + k. */
const COEFFICIENTS: MaskCoefficientLayout = { start: END_TO_END_ROW, rowStep: YOLO26_SEGMENTATION_ROW, coefficientStep: 1 };

/**
 * Rows `[x1, y1, x2, y2, conf, class, m0 … m31]` in input pixels: score strictly above `confidence`, no NMS, no cap
 * (end-to-end.ts). Every candidate is final, in output order, and its mask coefficients are where COEFFICIENTS says.
 */
export function decodeYolo26Segmentation(output: Float32Array, numRows: number, numClasses: number, confidence: number): SegmentationCandidates {
  return { candidates: decodeEndToEndDetections(output, numRows, numClasses, confidence, null, YOLO26_SEGMENTATION_ROW), coefficients: COEFFICIENTS };
}

export const YOLO26_SEG: SegmentationFamily<Yolo26SegmentationLayout> = {
  name: "yolo26-seg",
  task: "instance-segmentation",
  selects: selectsYolo26,
  // K × 38 rows are YOLOv5-seg rows of one class too: only the model type tells them apart.
  recognisedWithoutModelType: false,
  defaultModelType: "yolo26n-seg",
  recognise(shapes, { classNames: { length: classCount } }) {
    const found = findPrototypeOutputs(shapes);
    const rows = found && shapes[found.predictionsOutput]!;
    if (!found || rows![1] !== YOLO26_SEGMENTATION_ROW) return null;
    return { family: "yolo26-seg", numClasses: classCount, numAnchors: rows![0]!, ...found };
  },
  expects: () => `YOLO26 [batch, detections, ${YOLO26_SEGMENTATION_ROW}] and prototypes [batch, 32, h, w]`,
  normalisation: () => UNIT_NORMALISATION,
  // Rows strictly above the confidence, in the model's order; every one is reported (docs/model-families.md §3).
  detect: (layout, outputs, params) =>
    unsuppressed(decodeYolo26Segmentation(outputs(layout.predictionsOutput), layout.numAnchors, layout.numClasses, params.confidence).candidates),
  masks: (layout, outputs, detections, reported, boxes, geometry, params) => prototypeMasks(layout, COEFFICIENTS, outputs, detections, reported, boxes, geometry, params),
};

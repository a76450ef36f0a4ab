// YOLOv5 segmentation family (v5 seg, v7 seg): row-major N × (5 + C + 32) predictions with objectness, plus 32 × mh × mw prototypes.
import { MASK_COEFFICIENTS, type MaskCoefficientLayout } from "../../vision/masks.ts";
import { UNIT_NORMALISATION, suppressed, type SegmentationFamily } from "./family.ts";
import { findPrototypeOutputs, prototypeMasks, type PrototypeOutputs } from "./prototype-masks.ts";
import { decodeObjectnessRows, selectsYolov5 } from "./yolov5.ts";

export interface Yolov5SegmentationLayout extends PrototypeOutputs {
  family: "yolov5-seg";
}

/** Coefficient k of anchor a sits at row a, column 5 + C + k. */
function coefficients(layout: Yolov5SegmentationLayout): MaskCoefficientLayout {
  return { start: 5 + layout.numClasses, rowStep: 5 + layout.numClasses + MASK_COEFFICIENTS, coefficientStep: 1 };
}

export const YOLOV5_SEG: SegmentationFamily<Yolov5SegmentationLayout> = {
  name: "yolov5-seg",
  task: "instance-segmentation",
  selects: selectsYolov5,
  recognisedWithoutModelType: true,
  defaultModelType: "yolov5-seg",
  recognise(shapes, { classNames: { length: classCount } }) {
    const found = findPrototypeOutputs(shapes);
    const predictions = found && shapes[found.predictionsOutput]!;
    if (!found || predictions![1] !== 5 + classCount + MASK_COEFFICIENTS) return null;
    return { family: "yolov5-seg", numClasses: classCount, numAnchors: predictions![0]!, ...found };
  },
  expects: ({ classNames: { length: classCount } }) => `YOLOv5 [batch, anchors, ${5 + classCount + MASK_COEFFICIENTS}] and prototypes [batch, 32, h, w]`,
  normalisation: () => UNIT_NORMALISATION,
  // Rows decode as YOLOv5 detection's (score = objectness alone, class = first argmax; see yolov5.ts).
  detect: (layout, outputs, params) =>
    suppressed(decodeObjectnessRows(outputs(layout.predictionsOutput), layout.numClasses, layout.numAnchors, 5 + layout.numClasses + MASK_COEFFICIENTS, params.confidence), params),
  masks: (layout, outputs, detections, reported, boxes, geometry, params) => prototypeMasks(layout, coefficients(layout), outputs, detections, reported, boxes, geometry, params),
};

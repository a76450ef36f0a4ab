// YOLOv8 segmentation family (v8, v11 seg): channel-major (4 + C + 32) × N predictions plus 32 × mh × mw prototypes.
import { MASK_COEFFICIENTS, type MaskCoefficientLayout } from "../../vision/masks.ts";
import { UNIT_NORMALISATION, suppressed, type SegmentationFamily } from "./family.ts";
import { findPrototypeOutputs, prototypeMasks, type PrototypeOutputs } from "./prototype-masks.ts";
import { decodeYolov8Detections, selectsYolov8 } from "./yolov8.ts";

export interface Yolov8SegmentationLayout extends PrototypeOutputs {
  family: "yolov8-seg";
}

/** Coefficient k of anchor a is row 4 + C + k of the channel-major predictions. */
function coefficients(layout: Yolov8SegmentationLayout): MaskCoefficientLayout {
  return { start: (4 + layout.numClasses) * layout.numAnchors, rowStep: 1, coefficientStep: layout.numAnchors };
}

export const YOLOV8_SEG: SegmentationFamily<Yolov8SegmentationLayout> = {
  name: "yolov8-seg",
  task: "instance-segmentation",
  selects: selectsYolov8,
  recognisedWithoutModelType: true,
  defaultModelType: "yolov8-seg",
  recognise(shapes, { classNames: { length: classCount } }) {
    const found = findPrototypeOutputs(shapes);
    const predictions = found && shapes[found.predictionsOutput]!;
    if (!found || predictions![0] !== 4 + classCount + MASK_COEFFICIENTS) return null;
    return { family: "yolov8-seg", numClasses: classCount, numAnchors: predictions![1]!, ...found };
  },
  expects: ({ classNames: { length: classCount } }) => `YOLOv8 [batch, ${4 + classCount + MASK_COEFFICIENTS}, anchors] and prototypes [batch, 32, h, w]`,
  normalisation: () => UNIT_NORMALISATION,
  // The detection rows decode exactly as YOLOv8 detection's (score = max class score, first argmax, float32 threshold and corners).
  detect: (layout, outputs, params) => suppressed(decodeYolov8Detections(outputs(layout.predictionsOutput), layout.numClasses, layout.numAnchors, params.confidence), params),
  masks: (layout, outputs, detections, reported, boxes, geometry, params) => prototypeMasks(layout, coefficients(layout), outputs, detections, reported, boxes, geometry, params),
};

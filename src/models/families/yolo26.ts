// YOLO26 detection family: end-to-end K × 6 rows (no NMS, no max_detections cap; docs/model-families.md §3).
import { decodeEndToEndDetections, endToEndRows } from "./end-to-end.ts";
import { UNIT_NORMALISATION, unsuppressed, type ObjectDetectionFamily } from "./family.ts";

export interface Yolo26DetectionLayout {
  family: "yolo26";
  numClasses: number;
  numRows: number;
}

/** `yolo26`, `yolo26{n,s,b,m,l,x}` and friends (docs/compatibility.md §3.1). */
export const selectsYolo26 = (modelType: string): boolean => /^yolov?26/.test(modelType.trim().toLowerCase());

export const YOLO26: ObjectDetectionFamily<Yolo26DetectionLayout> = {
  name: "yolo26",
  task: "object-detection",
  selects: selectsYolo26,
  recognisedWithoutModelType: false,
  defaultModelType: "yolo26",
  recognise(shapes, { classNames: { length: classCount } }) {
    const rows = endToEndRows(shapes);
    return rows === null ? null : { family: "yolo26", numClasses: classCount, numRows: rows };
  },
  expects: () => "end-to-end YOLOv10/YOLO26 [batch, detections, 6]",
  normalisation: () => UNIT_NORMALISATION,
  detect: (layout, outputs, params) => unsuppressed(decodeEndToEndDetections(outputs(0), layout.numRows, layout.numClasses, params.confidence, null)),
};

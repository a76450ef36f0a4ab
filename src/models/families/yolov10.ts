// YOLOv10 detection family: end-to-end K × 6 rows (no NMS), capped at max_detections.
import { decodeEndToEndDetections, endToEndRows } from "./end-to-end.ts";
import { UNIT_NORMALISATION, unsuppressed, type ObjectDetectionFamily } from "./family.ts";

export interface Yolov10DetectionLayout {
  family: "yolov10";
  numClasses: number;
  numRows: number;
}

export const YOLOV10: ObjectDetectionFamily<Yolov10DetectionLayout> = {
  name: "yolov10",
  task: "object-detection",
  // `yolov10*` (docs/compatibility.md §3.1).
  selects: (modelType) => /^yolov?10/.test(modelType.trim().toLowerCase()),
  // Without a model type, K × 6 rows are taken for YOLOv10: only the model type tells YOLO26 (uncapped) apart.
  recognisedWithoutModelType: true,
  defaultModelType: "yolov10",
  recognise(shapes, { classNames: { length: classCount } }) {
    const rows = endToEndRows(shapes);
    return rows === null ? null : { family: "yolov10", numClasses: classCount, numRows: rows };
  },
  expects: () => "end-to-end YOLOv10/YOLO26 [batch, detections, 6]",
  normalisation: () => UNIT_NORMALISATION,
  detect: (layout, outputs, params) => unsuppressed(decodeEndToEndDetections(outputs(0), layout.numRows, layout.numClasses, params.confidence, params.maxDetections)),
};

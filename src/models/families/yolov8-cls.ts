// YOLOv8 classification family: `yolov8`, `yolov8{n,s,m,l,x}` on a classification project; an Ultralytics export ends in Softmax.
// It decodes classifiers whose model type names no family (their outputs are all alike).
import { HALF_NORMALISATION, classScoresFamily } from "./class-scores.ts";
import { selectsYolov8 } from "./yolov8.ts";

export const YOLOV8_CLS = classScoresFamily({
  name: "yolov8-cls",
  selects: selectsYolov8,
  recognisedWithoutModelType: true,
  defaultModelType: "yolov8",
  normalisation: HALF_NORMALISATION,
});

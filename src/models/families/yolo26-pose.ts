// YOLO26 pose family: end-to-end K × (6 + 3 · Kp) rows, keypoints after the box, score and class columns; no NMS, no cap (docs/model-families.md §4.4).
import { gatherKeypoints, KEYPOINT_VALUES } from "../../vision/keypoints.ts";
import { decodeEndToEndDetections, END_TO_END_ROW } from "./end-to-end.ts";
import { UNIT_NORMALISATION, unsuppressed, type KeypointFamily } from "./family.ts";
import { selectsYolo26 } from "./yolo26.ts";

export interface Yolo26PoseLayout {
  family: "yolo26-pose";
  numClasses: number;
  numRows: number;
  numKeypoints: number;
}

const rowLength = (layout: Yolo26PoseLayout) => END_TO_END_ROW + KEYPOINT_VALUES * layout.numKeypoints;

export const YOLO26_POSE: KeypointFamily<Yolo26PoseLayout> = {
  name: "yolo26-pose",
  task: "keypoint-detection",
  selects: selectsYolo26,
  recognisedWithoutModelType: false,
  defaultModelType: "yolo26n-pose",
  recognise(shapes, { classNames: { length: classCount }, maxKeypoints }) {
    const s = shapes[0];
    if (shapes.length !== 1 || !s || s.length !== 2 || maxKeypoints === null || s[1] !== END_TO_END_ROW + KEYPOINT_VALUES * maxKeypoints) return null;
    return { family: "yolo26-pose", numClasses: classCount, numRows: s[0]!, numKeypoints: maxKeypoints };
  },
  expects: ({ maxKeypoints }) => `YOLO26 pose [batch, detections, ${maxKeypoints === null ? "6 + 3 x keypoints" : END_TO_END_ROW + KEYPOINT_VALUES * maxKeypoints}]`,
  normalisation: () => UNIT_NORMALISATION,
  detect: (layout, outputs, params) => unsuppressed(decodeEndToEndDetections(outputs(0), layout.numRows, layout.numClasses, params.confidence, null, rowLength(layout))),
  keypoints: (layout, outputs, detections, reported) =>
    gatherKeypoints(outputs(0), { start: END_TO_END_ROW, rowStep: rowLength(layout), valueStep: 1, keypoints: layout.numKeypoints }, detections.candidates, reported),
};

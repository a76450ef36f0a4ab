// YOLOv8 pose family (v8, v11 pose): channel-major (4 + C + 3 · Kp) × N, decoded like YOLOv8 detection and suppressed with the keypoints carried along (docs/model-families.md §4.3).
import { gatherKeypoints, KEYPOINT_VALUES, type KeypointLayout } from "../../vision/keypoints.ts";
import { suppressed, UNIT_NORMALISATION, type KeypointFamily } from "./family.ts";
import { decodeYolov8Detections, selectsYolov8 } from "./yolov8.ts";

export interface Yolov8PoseLayout {
  family: "yolov8-pose";
  numClasses: number;
  numAnchors: number;
  numKeypoints: number;
}

/** Keypoint value v of keypoint j of anchor a is row 4 + C + 3j + v. */
function keypointLayout(layout: Yolov8PoseLayout): KeypointLayout {
  return { start: (4 + layout.numClasses) * layout.numAnchors, rowStep: 1, valueStep: layout.numAnchors, keypoints: layout.numKeypoints };
}

export const YOLOV8_POSE: KeypointFamily<Yolov8PoseLayout> = {
  name: "yolov8-pose",
  task: "keypoint-detection",
  // `yolov8`, `yolov8{n..x}(-pose)`, `yolov11{n..x}(-pose)` on a keypoint project (docs/model-families.md §4.1).
  selects: selectsYolov8,
  recognisedWithoutModelType: true,
  defaultModelType: "yolov8n-pose",
  // The reference's load check (docs/model-families.md §4.1): the rows past the box and class rows hold exactly the largest class's keypoints.
  recognise(shapes, { classNames: { length: classCount }, maxKeypoints }) {
    const s = shapes[0];
    if (shapes.length !== 1 || !s || s.length !== 2 || maxKeypoints === null || s[0] !== 4 + classCount + KEYPOINT_VALUES * maxKeypoints) return null;
    return { family: "yolov8-pose", numClasses: classCount, numAnchors: s[1]!, numKeypoints: maxKeypoints };
  },
  expects: ({ classNames: { length: classCount }, maxKeypoints }) =>
    `YOLOv8 pose [batch, ${maxKeypoints === null ? `4 + ${classCount} + 3 x keypoints` : 4 + classCount + KEYPOINT_VALUES * maxKeypoints}, anchors] (keypoints from keypoints_metadata.json)`,
  normalisation: () => UNIT_NORMALISATION,
  // Box and class rows decode exactly as YOLOv8 detection's; the contract NMS follows (docs/model-families.md §4.3).
  detect: (layout, outputs, params) => suppressed(decodeYolov8Detections(outputs(0), layout.numClasses, layout.numAnchors, params.confidence), params),
  keypoints: (layout, outputs, detections, reported) => gatherKeypoints(outputs(0), keypointLayout(layout), detections.candidates, reported),
};

// Tests of the pose families: YOLOv8/v11 channel-major output through the contract NMS with keypoints carried, and YOLO26 end-to-end rows (docs/model-families.md §4.3, §4.4).
import { describe, expect, test } from "bun:test";
import { YOLO26_POSE, type Yolo26PoseLayout } from "../../../../src/models/families/yolo26-pose.ts";
import { YOLOV8_POSE, type Yolov8PoseLayout } from "../../../../src/models/families/yolov8-pose.ts";
import type { DetectionParams } from "../../../../src/models/task.ts";
import type { RescaleGeometry } from "../../../../src/vision/boxes.ts";
import { keypointPredictions, rescaleKeypoints } from "../../../../src/vision/keypoints.ts";
import { recognitionContext } from "./recognition-context.ts";

/** One anchor: cx, cy, w, h, class scores, keypoint triplets. */
interface Anchor {
  box: [number, number, number, number];
  classes: number[];
  keypoints: number[];
}

/** (4 + C + 3 Kp) rows × N anchors, channel-major. */
function channelMajor(anchors: Anchor[]): Float32Array {
  const rows = anchors.map((a) => [...a.box, ...a.classes, ...a.keypoints]);
  const channels = rows[0]!.length;
  return Float32Array.from({ length: channels * anchors.length }, (_, i) => rows[i % anchors.length]![Math.floor(i / anchors.length)]!);
}

const ANCHORS: Anchor[] = [
  { box: [100, 100, 40, 40], classes: [0.3, 0.6], keypoints: [90, 95, 0.9, 110, 95, 0.2] },
  // Inside the first box with a lower score and the same class: suppressed by the contract NMS.
  { box: [100, 100, 20, 20], classes: [0.1, 0.5], keypoints: [1, 2, 0.3, 4, 5, 0.6] },
  { box: [300, 200, 60, 80], classes: [0.8, 0.1], keypoints: [300, 180, 0.7, 310, 230, 0.1] },
  { box: [500, 500, 10, 10], classes: [0.2, 0.3], keypoints: [0, 0, 0, 0, 0, 0] },
];

const PARAMS: DetectionParams = { confidence: 0.4, iouThreshold: 0.3, classAgnosticNms: false, maxDetections: 300, classFilter: null };
const v8Layout: Yolov8PoseLayout = { family: "yolov8-pose", numClasses: 2, numAnchors: 4, numKeypoints: 2 };

describe("the YOLOv8 pose family", () => {
  const output = channelMajor(ANCHORS);
  const outputs = () => output;

  test("decodes boxes as YOLOv8 detection and suppresses them with the contract NMS", () => {
    const { candidates, kept } = YOLOV8_POSE.detect(v8Layout, outputs, PARAMS);
    expect(Array.from(candidates.row)).toEqual([0, 1, 2]);
    expect(Array.from(candidates.classId)).toEqual([1, 1, 0]);
    expect(Array.from(candidates.score)).toEqual([0.6, 0.5, 0.8].map(Math.fround));
    expect([candidates.x1[0], candidates.y1[0], candidates.x2[0], candidates.y2[0]]).toEqual([80, 80, 120, 120]);
    expect(Array.from(kept).map((i) => candidates.row[i])).toEqual([2, 0]);
  });

  test("NMS carries keypoints like mask coefficients: survivors keep their own anchor's", () => {
    const detections = YOLOV8_POSE.detect(v8Layout, outputs, PARAMS);
    const values = YOLOV8_POSE.keypoints(v8Layout, outputs, detections, detections.kept);
    expect(Array.from(values)).toEqual([300, 180, 0.7, 310, 230, 0.1, 90, 95, 0.9, 110, 95, 0.2].map(Math.fround));
  });

  test("keypoints then map to the image and become the response lists", () => {
    const detections = YOLOV8_POSE.detect(v8Layout, outputs, PARAMS);
    const values = YOLOV8_POSE.keypoints(v8Layout, outputs, detections, detections.kept);
    const geometry: RescaleGeometry = { inputWidth: 640, inputHeight: 640, imageWidth: 1280, imageHeight: 320, resize: "stretch", staticCrop: null };
    rescaleKeypoints(values, geometry);
    expect(keypointPredictions(values.subarray(6, 12), ["head", "tail"], 0.25)).toEqual([{ x: 180, y: 48, confidence: Math.fround(0.9), class_id: 0, class: "head" }]);
  });

  test("refuses an output too small for its layout", () => {
    expect(() => YOLOV8_POSE.detect(v8Layout, () => new Float32Array(10), PARAMS)).toThrow("YOLOv8 output holds 10 values");
  });

  test("is recognised when the rows past the box and class rows hold exactly the metadata's largest keypoint count, as the reference's load check", () => {
    expect(YOLOV8_POSE.recognise([[56, 8400]], recognitionContext(1, { maxKeypoints: 17 }))).toEqual({ family: "yolov8-pose", numClasses: 1, numAnchors: 8400, numKeypoints: 17 });
    expect(YOLOV8_POSE.recognise([[21, 4]], recognitionContext(2, { maxKeypoints: 5 }))).toMatchObject({ numKeypoints: 5 });
    expect(YOLOV8_POSE.recognise([[56, 8400]], recognitionContext(2, { maxKeypoints: 17 }))).toBeNull();
    expect(YOLOV8_POSE.recognise([[21, 4]], recognitionContext(2, { maxKeypoints: 3 }))).toBeNull();
    expect(YOLOV8_POSE.recognise([[56, 8400]], recognitionContext(1))).toBeNull();
  });
});

describe("the YOLO26 pose family", () => {
  // Rows of 6 + 3 * 2: x1, y1, x2, y2, conf, class, two keypoints.
  const rows = [
    [80, 80, 120, 120, 0.6, 1, 90, 95, 0.9, 110, 95, 0.2],
    [90, 90, 110, 110, 0.5, 1, 1, 2, 0.3, 4, 5, 0.6],
    [270, 160, 330, 240, 0.4, 0, 300, 180, 0.7, 310, 230, 0.1],
    [0, 0, 10, 10, 0.9, 2, 0, 0, 0, 0, 0, 0],
    [0, 0, 10, 10, 0.9, 0.5, 0, 0, 0, 0, 0, 0],
  ];
  const output = Float32Array.from(rows.flat());
  const layout: Yolo26PoseLayout = { family: "yolo26-pose", numClasses: 2, numRows: 5, numKeypoints: 2 };

  test("keeps rows strictly above the threshold in output order, no NMS, no cap, valid classes only", () => {
    const detections = YOLO26_POSE.detect(layout, () => output, PARAMS);
    expect(Array.from(detections.candidates.row)).toEqual([0, 1]);
    expect(Array.from(detections.kept)).toEqual([0, 1]);
    expect(Array.from(YOLO26_POSE.detect(layout, () => output, { ...PARAMS, confidence: 0.3 }).candidates.row)).toEqual([0, 1, 2]);
    expect(Array.from(YOLO26_POSE.keypoints(layout, () => output, detections, Int32Array.of(1, 0)))).toEqual([1, 2, 0.3, 4, 5, 0.6, 90, 95, 0.9, 110, 95, 0.2].map(Math.fround));
    const { candidates } = detections;
    expect([candidates.x1[1], candidates.y1[1], candidates.x2[1], candidates.y2[1]]).toEqual([90, 90, 110, 110]);
  });

  test("refuses an output too small for its rows", () => {
    expect(() => YOLO26_POSE.detect({ ...layout, numRows: 6 }, () => output, PARAMS)).toThrow("72 needed for 6 rows of 12");
  });

  test("is recognised from rows of 6 + 3 x the metadata's largest keypoint count", () => {
    expect(YOLO26_POSE.recognise([[300, 57]], recognitionContext(1, { maxKeypoints: 17 }))).toEqual({ family: "yolo26-pose", numClasses: 1, numRows: 300, numKeypoints: 17 });
    expect(YOLO26_POSE.recognise([[300, 56]], recognitionContext(1, { maxKeypoints: 17 }))).toBeNull();
  });
});

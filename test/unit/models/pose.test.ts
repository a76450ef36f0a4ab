// Tests of pose decoding: YOLOv8/v11 channel-major output through the contract NMS with keypoints carried, and YOLO26 end-to-end rows (spec §4.3, §4.4).
import { describe, expect, test } from "bun:test";
import { decodeYolo26Pose, decodeYolov8Pose, yolov8PoseKeypointCount } from "../../../src/models/families/pose.ts";
import type { RescaleGeometry } from "../../../src/vision/boxes.ts";
import { gatherKeypoints, keypointPredictions, rescaleKeypoints } from "../../../src/vision/keypoints.ts";
import { nonMaxSuppression } from "../../../src/vision/nms.ts";

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

describe("decodeYolov8Pose", () => {
  const output = channelMajor(ANCHORS);

  test("decodes boxes as YOLOv8 detection and points each candidate at its anchor's keypoint rows", () => {
    const { candidates, keypoints } = decodeYolov8Pose(output, 2, 4, 2, 0.4);
    expect(Array.from(candidates.row)).toEqual([0, 1, 2]);
    expect(Array.from(candidates.classId)).toEqual([1, 1, 0]);
    expect(Array.from(candidates.score)).toEqual([0.6, 0.5, 0.8].map(Math.fround));
    expect([candidates.x1[0], candidates.y1[0], candidates.x2[0], candidates.y2[0]]).toEqual([80, 80, 120, 120]);
    expect(keypoints).toEqual({ start: 6 * 4, rowStep: 1, valueStep: 4, keypoints: 2 });
    expect(Array.from(gatherKeypoints(output, keypoints, candidates, Int32Array.of(2)))).toEqual([300, 180, 0.7, 310, 230, 0.1].map(Math.fround));
  });

  test("NMS carries keypoints like mask coefficients: survivors keep their own anchor's", () => {
    const { candidates, keypoints } = decodeYolov8Pose(output, 2, 4, 2, 0.4);
    const kept = nonMaxSuppression(candidates, { iouThreshold: 0.3, classAgnostic: false, maxDetections: 300 });
    expect(Array.from(kept).map((i) => candidates.row[i])).toEqual([2, 0]);
    const values = gatherKeypoints(output, keypoints, candidates, kept);
    expect(Array.from(values.subarray(6, 12))).toEqual([90, 95, 0.9, 110, 95, 0.2].map(Math.fround));
  });

  test("keypoints then map to the image and become the response lists", () => {
    const { candidates, keypoints } = decodeYolov8Pose(output, 2, 4, 2, 0.4);
    const kept = nonMaxSuppression(candidates, { iouThreshold: 0.3, classAgnostic: false, maxDetections: 300 });
    const values = gatherKeypoints(output, keypoints, candidates, kept);
    const geometry: RescaleGeometry = { inputWidth: 640, inputHeight: 640, imageWidth: 1280, imageHeight: 320, resize: "stretch", staticCrop: null };
    rescaleKeypoints(values, geometry);
    expect(keypointPredictions(values.subarray(6, 12), ["head", "tail"], 0.25)).toEqual([{ x: 180, y: 48, confidence: Math.fround(0.9), class_id: 0, class: "head" }]);
  });

  test("refuses an output too small for its layout", () => {
    expect(() => decodeYolov8Pose(new Float32Array(10), 2, 4, 2, 0.4)).toThrow("48 needed for 2 classes and 2 keypoints × 4 anchors");
  });
});

describe("yolov8PoseKeypointCount", () => {
  test("is the metadata's largest keypoint count when the channels agree with it", () => {
    expect(yolov8PoseKeypointCount(56, 1, 17)).toBe(17);
    expect(yolov8PoseKeypointCount(21, 2, 5)).toBe(5);
  });

  test("refuses a package whose channels disagree with the class names and metadata, as the reference's load check", () => {
    expect(() => yolov8PoseKeypointCount(56, 2, 17)).toThrow("a pose output of 56 channels holds 50 keypoint values after 4 box and 2 class rows");
    expect(() => yolov8PoseKeypointCount(21, 2, 3)).toThrow("largest class has 3 keypoints (9 values)");
  });
});

describe("decodeYolo26Pose", () => {
  // Rows of 6 + 3 * 2: x1, y1, x2, y2, conf, class, two keypoints.
  const rows = [
    [80, 80, 120, 120, 0.6, 1, 90, 95, 0.9, 110, 95, 0.2],
    [90, 90, 110, 110, 0.5, 1, 1, 2, 0.3, 4, 5, 0.6],
    [270, 160, 330, 240, 0.4, 0, 300, 180, 0.7, 310, 230, 0.1],
    [0, 0, 10, 10, 0.9, 2, 0, 0, 0, 0, 0, 0],
    [0, 0, 10, 10, 0.9, 0.5, 0, 0, 0, 0, 0, 0],
  ];
  const output = Float32Array.from(rows.flat());

  test("keeps rows strictly above the threshold in output order, no NMS, no cap, valid classes only", () => {
    const { candidates, keypoints } = decodeYolo26Pose(output, 5, 2, 2, 0.4);
    expect(Array.from(candidates.row)).toEqual([0, 1]);
    expect(Array.from(decodeYolo26Pose(output, 5, 2, 2, 0.3).candidates.row)).toEqual([0, 1, 2]);
    expect(keypoints).toEqual({ start: 6, rowStep: 12, valueStep: 1, keypoints: 2 });
    expect(Array.from(gatherKeypoints(output, keypoints, candidates, Int32Array.of(1, 0)))).toEqual([1, 2, 0.3, 4, 5, 0.6, 90, 95, 0.9, 110, 95, 0.2].map(Math.fround));
    expect([candidates.x1[1], candidates.y1[1], candidates.x2[1], candidates.y2[1]]).toEqual([90, 90, 110, 110]);
  });

  test("refuses an output too small for its rows", () => {
    expect(() => decodeYolo26Pose(output, 6, 2, 2, 0.4)).toThrow("72 needed for 6 rows of 12");
  });
});

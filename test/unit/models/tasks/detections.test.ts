// Tests for the object-detection predictions pipeline on a YOLOv8 output: decode → NMS → max_detections → rescale → build → class_filter.
import { describe, expect, test } from "bun:test";
import { YOLOV8 } from "../../../../src/models/families/yolov8.ts";
import type { DetectionParams } from "../../../../src/models/task.ts";
import { detectionPredictions, type ObjectDetectionPrediction } from "../../../../src/models/tasks/detections.ts";
import type { RescaleGeometry } from "../../../../src/vision/boxes.ts";

const classNames = ["circle", "square", "triangle", "hex-nut", "blob"];
const numClasses = classNames.length;
const numAnchors = 8400;

/** What the task answers for one YOLOv8 output (the server's path: family decode, then the detections task). */
function postprocessObjectDetection(output: Float32Array, params: DetectionParams, geometry: RescaleGeometry, names: string[]): ObjectDetectionPrediction[] {
  const layout = { family: "yolov8" as const, numClasses, numAnchors };
  return detectionPredictions(
    YOLOV8,
    layout,
    YOLOV8.detect(layout, () => output, params),
    params,
    geometry,
    names,
  );
}

interface PlantedAnchor {
  anchor: number;
  cx: number;
  cy: number;
  w: number;
  h: number;
  classId: number;
  score: number;
}

/** A 9 × 8400 output like the parity fixture's, zero except for the planted anchors. */
function syntheticOutput(planted: PlantedAnchor[]): Float32Array {
  const output = new Float32Array((4 + numClasses) * numAnchors);
  for (const { anchor, cx, cy, w, h, classId, score } of planted) {
    output[anchor] = cx;
    output[numAnchors + anchor] = cy;
    output[2 * numAnchors + anchor] = w;
    output[3 * numAnchors + anchor] = h;
    output[(4 + classId) * numAnchors + anchor] = score;
  }
  return output;
}

// Model input 640×640, image 640×480 stretched: x unchanged, y × 0.75.
const stretched640x480: RescaleGeometry = {
  inputWidth: 640,
  inputHeight: 640,
  imageWidth: 640,
  imageHeight: 480,
  resize: "stretch",
  staticCrop: null,
};

const defaults: DetectionParams = { confidence: 0.4, iouThreshold: 0.3, classAgnosticNms: false, maxDetections: 300, classFilter: null };

const planted: PlantedAnchor[] = [
  // xyxy 270,220,370,420 → y × 0.75: 165, 315 → centre (320, 240), 100 × 150.
  { anchor: 10, cx: 320, cy: 320, w: 100, h: 200, classId: 0, score: 0.9 },
  // Inside anchor 10's box, same class, lower score: suppressed.
  { anchor: 20, cx: 320, cy: 320, w: 90, h: 190, classId: 0, score: 0.8 },
  // Same box as anchor 10, another class: survives class-aware NMS only.
  { anchor: 30, cx: 320, cy: 320, w: 100, h: 200, classId: 3, score: 0.6 },
  // xyxy 74.5,79.5,125.5,120.5 → x rounds half-to-even to 74, 126; y × 0.75 = 59.625, 90.375 → 60, 90.
  { anchor: 40, cx: 100, cy: 100, w: 51, h: 41, classId: 1, score: 0.5 },
  // Below the confidence threshold.
  { anchor: 50, cx: 500, cy: 500, w: 20, h: 20, classId: 2, score: 0.3 },
];

type PredictionWithoutId = Omit<ObjectDetectionPrediction, "detection_id">;

const bigCircle: PredictionWithoutId = { x: 320, y: 240, width: 100, height: 150, confidence: Math.fround(0.9), class: "circle", class_id: 0 };
const bigHexNut: PredictionWithoutId = { ...bigCircle, confidence: Math.fround(0.6), class: "hex-nut", class_id: 3 };
const smallSquare: PredictionWithoutId = { x: 100, y: 75, width: 52, height: 30, confidence: Math.fround(0.5), class: "square", class_id: 1 };

function withoutIds(predictions: ObjectDetectionPrediction[]): PredictionWithoutId[] {
  return predictions.map(({ detection_id: _, ...rest }) => rest);
}

function run(params: Partial<DetectionParams> = {}, geometry: RescaleGeometry = stretched640x480): ObjectDetectionPrediction[] {
  return postprocessObjectDetection(syntheticOutput(planted), { ...defaults, ...params }, geometry, classNames);
}

describe("YOLOv8 detections on a synthetic 9 × 8400 output", () => {
  test("matches the hand-computed predictions with class-aware NMS", () => {
    expect(withoutIds(run())).toEqual([bigCircle, bigHexNut, smallSquare]);
  });

  test("class-agnostic NMS also suppresses the same box of another class", () => {
    expect(withoutIds(run({ classAgnosticNms: true }))).toEqual([bigCircle, smallSquare]);
  });

  test("confidence 0 and iou_threshold 1 keep every anchor up to max_detections, best first", () => {
    const predictions = run({ iouThreshold: 1, confidence: 0, maxDetections: 300 });
    expect(predictions.length).toBe(300);
    expect(withoutIds(predictions.slice(0, 5)).map((p) => p.confidence)).toEqual([0.9, 0.8, 0.6, 0.5, 0.3].map(Math.fround));
  });

  test("max_detections keeps the best predictions", () => {
    expect(withoutIds(run({ maxDetections: 2 }))).toEqual([bigCircle, bigHexNut]);
  });

  test("class_filter applies after max_detections", () => {
    // The top prediction is a circle; filtering before the cap would have kept the square instead.
    expect(run({ maxDetections: 1, classFilter: ["square"] })).toEqual([]);
    expect(withoutIds(run({ maxDetections: 3, classFilter: ["square"] }))).toEqual([smallSquare]);
  });

  test("an empty class_filter keeps every class", () => {
    expect(withoutIds(run({ classFilter: [] }))).toEqual([bigCircle, bigHexNut, smallSquare]);
  });

  test("gives every prediction its own uuid4 detection_id", () => {
    const ids = run().map((p) => p.detection_id);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("names a class without a class name by its id", () => {
    const output = syntheticOutput([{ anchor: 0, cx: 100, cy: 100, w: 10, h: 10, classId: 4, score: 0.9 }]);
    const predictions = postprocessObjectDetection(output, defaults, stretched640x480, classNames.slice(0, 2));
    expect(predictions.map((p) => p.class)).toEqual(["4"]);
  });

  test("rescales through a letterbox and a static crop", () => {
    // 1000×800 cropped to its left half (500×800), letterboxed: s = 0.8, pad_x = 120; box 120..520 × 0..640 is the region.
    const geometry: RescaleGeometry = {
      inputWidth: 640,
      inputHeight: 640,
      imageWidth: 1000,
      imageHeight: 800,
      resize: "letterbox",
      staticCrop: { xMin: 50, yMin: 0, xMax: 100, yMax: 100 },
    };
    const output = syntheticOutput([{ anchor: 7, cx: 320, cy: 320, w: 400, h: 640, classId: 2, score: 0.75 }]);
    const predictions = postprocessObjectDetection(output, defaults, geometry, classNames);
    expect(withoutIds(predictions)).toEqual([{ x: 750, y: 400, width: 500, height: 800, confidence: Math.fround(0.75), class: "triangle", class_id: 2 }]);
  });
});

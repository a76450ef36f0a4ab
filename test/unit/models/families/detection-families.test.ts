// Tests of the detection families (YOLOv5/v7 objectness rows, YOLO-NAS boxes + scores, YOLOv10/YOLO26 end-to-end rows): decoders and the answers they give.
import { describe, expect, test } from "bun:test";
import { decodeEndToEndDetections } from "../../../../src/models/families/end-to-end.ts";
import type { FamilyLayout, OutputViews } from "../../../../src/models/families/family.ts";
import type { DetectionParams } from "../../../../src/models/task.ts";
import type { ObjectDetectionPrediction } from "../../../../src/models/tasks/detections.ts";
import { taskResponse } from "../../../../src/models/tasks/task-response.ts";
import { decodeYoloNasDetections } from "../../../../src/models/families/yolonas.ts";
import { decodeYolov5Detections } from "../../../../src/models/families/yolov5.ts";
import type { RescaleGeometry } from "../../../../src/vision/boxes.ts";

const classNames = ["cat", "dog", "fox"];
const NC = classNames.length;
const identity: RescaleGeometry = { inputWidth: 640, inputHeight: 640, imageWidth: 640, imageHeight: 640, resize: "stretch", staticCrop: null };
const defaults: DetectionParams = { confidence: 0.4, iouThreshold: 0.3, classAgnosticNms: false, maxDetections: 300, classFilter: null };

/** The object-detection answer for one image's outputs, through the family the layout names (the server's path). */
function postprocessDetectionOutputs(layout: FamilyLayout, outputs: OutputViews, params: DetectionParams, geometry: RescaleGeometry, names: string[]): ObjectDetectionPrediction[] {
  const spec = { layout, classNames: names, keypoints: null, softmaxRule: "logits" as const };
  const body = taskResponse(spec, outputs, { task: "object-detection", detection: params }, geometry) as { predictions: ObjectDetectionPrediction[] };
  return body.predictions;
}

const withoutIds = (predictions: ObjectDetectionPrediction[]) => predictions.map(({ detection_id: _, ...rest }) => rest);
const f = Math.fround;

/** Planted anchors, shared by every family: xyxy box, class scores. */
interface Planted {
  box: [number, number, number, number];
  scores: [number, number, number];
  objectness?: number;
}

const planted: Planted[] = [
  // A dog box, and a smaller dog box inside it (NMS suppresses it: overlap over its own area is 1).
  { box: [100, 100, 300, 300], scores: [0.1, 0.9, 0], objectness: 0.8 },
  { box: [150, 150, 250, 250], scores: [0, 0.7, 0.2], objectness: 0.75 },
  // A fox box elsewhere.
  { box: [400, 100, 500, 160], scores: [0, 0.1, 0.5], objectness: 0.6 },
  // Below every threshold.
  { box: [10, 10, 20, 20], scores: [0.3, 0, 0], objectness: 0.3 },
];

function yolov5Output(anchors: Planted[]): Float32Array {
  const row = 5 + NC;
  const out = new Float32Array(anchors.length * row);
  anchors.forEach(({ box: [x1, y1, x2, y2], scores, objectness }, a) => {
    out.set([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, objectness ?? 0, ...scores], a * row);
  });
  return out;
}

function yoloNasOutputs(anchors: Planted[]): [Float32Array, Float32Array] {
  return [Float32Array.from(anchors.flatMap((a) => a.box)), Float32Array.from(anchors.flatMap((a) => a.scores))];
}

describe("YOLOv5/v7 detection (objectness rows)", () => {
  test("scores a row by its objectness alone, classes it by its best class score, and converts xywh to xyxy", () => {
    const c = decodeYolov5Detections(yolov5Output(planted), NC, planted.length, 0.4);
    expect(c.count).toBe(3);
    expect(Array.from(c.score)).toEqual([0.8, 0.75, 0.6].map(f));
    expect(Array.from(c.classConfidence)).toEqual([0.9, 0.7, 0.5].map(f));
    expect(Array.from(c.classId)).toEqual([1, 1, 2]);
    expect([c.x1[0], c.y1[0], c.x2[0], c.y2[0]]).toEqual([100, 100, 300, 300]);
    expect(Array.from(c.row)).toEqual([0, 1, 2]);
  });

  test("the threshold is inclusive and a NaN objectness never passes", () => {
    const out = yolov5Output([
      { box: [0, 0, 10, 10], scores: [1, 0, 0], objectness: 0.4 },
      { box: [0, 0, 10, 10], scores: [1, 0, 0], objectness: NaN },
    ]);
    expect(decodeYolov5Detections(out, NC, 2, 0.4).count).toBe(1);
  });

  test("refuses an output too short for its layout", () => {
    expect(() => decodeYolov5Detections(new Float32Array(7), NC, 1, 0.4)).toThrow(/8 needed/);
  });

  test("postprocessing runs NMS: the inner box goes, the confidence is the objectness", () => {
    const layout = { family: "yolov5", numClasses: NC, numAnchors: planted.length, output: 0 };
    const predictions = postprocessDetectionOutputs(layout, () => yolov5Output(planted), defaults, identity, classNames);
    expect(withoutIds(predictions)).toEqual([
      { x: 200, y: 200, width: 200, height: 200, confidence: f(0.8), class: "dog", class_id: 1 },
      { x: 450, y: 130, width: 100, height: 60, confidence: f(0.6), class: "fox", class_id: 2 },
    ]);
  });

  test("reads the output the layout names", () => {
    const layout = { family: "yolov5", numClasses: NC, numAnchors: planted.length, output: 2 };
    const outputs = [new Float32Array(1), new Float32Array(1), yolov5Output(planted)];
    expect(postprocessDetectionOutputs(layout, (i) => outputs[i]!, defaults, identity, classNames).length).toBe(2);
  });
});

describe("YOLO-NAS detection (boxes + class scores)", () => {
  test("keeps xyxy boxes as they are and scores each anchor with its best class score (inclusive threshold)", () => {
    const [boxes, scores] = yoloNasOutputs(planted);
    const c = decodeYoloNasDetections(boxes, scores, NC, planted.length, 0.5);
    expect(c.count).toBe(3);
    expect(Array.from(c.score)).toEqual([0.9, 0.7, 0.5].map(f));
    expect(Array.from(c.classId)).toEqual([1, 1, 2]);
    expect([c.x1[2], c.y1[2], c.x2[2], c.y2[2]]).toEqual([400, 100, 500, 160]);
    expect(Array.from(c.row)).toEqual([0, 1, 2]);
  });

  test("drops an anchor whose class scores hold a NaN", () => {
    const c = decodeYoloNasDetections(new Float32Array([0, 0, 10, 10, 0, 0, 10, 10]), new Float32Array([0.9, NaN, 0, 0.8, 0, 0]), NC, 2, 0.4);
    expect(c.count).toBe(1);
    expect(c.row[0]).toBe(1);
  });

  test("refuses outputs too short for their layout", () => {
    expect(() => decodeYoloNasDetections(new Float32Array(4), new Float32Array(2), NC, 1, 0.4)).toThrow(/3 needed/);
  });

  test("postprocessing runs NMS over the decoded boxes", () => {
    const [boxes, scores] = yoloNasOutputs(planted);
    const layout = { family: "yolonas", numClasses: NC, numAnchors: planted.length, boxesOutput: 1, scoresOutput: 0 };
    const predictions = postprocessDetectionOutputs(layout, (i) => (i === 1 ? boxes : scores), defaults, identity, classNames);
    expect(withoutIds(predictions)).toEqual([
      { x: 200, y: 200, width: 200, height: 200, confidence: f(0.9), class: "dog", class_id: 1 },
      { x: 450, y: 130, width: 100, height: 60, confidence: f(0.5), class: "fox", class_id: 2 },
    ]);
  });
});

/** End-to-end rows: x1, y1, x2, y2, score, class. */
function endToEndOutput(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat());
}

const e2eRows = [
  [100, 100, 300, 300, 0.9, 1],
  // Inside the first box, same class: already "NMS'd" by the model, so kept.
  [150, 150, 250, 250, 0.7, 1],
  // Exactly at the threshold: dropped (strict).
  [400, 100, 500, 160, 0.4, 2],
  [400, 300, 500, 360, 0.5, 0],
  [0, 0, 0, 0, 0, 0],
];

describe("end-to-end detection (YOLOv10, YOLO26)", () => {
  test("keeps rows strictly above the threshold, in the model's order, with the class from column 5", () => {
    const c = decodeEndToEndDetections(endToEndOutput(e2eRows), e2eRows.length, NC, 0.4, null);
    expect(c.count).toBe(3);
    expect(Array.from(c.row)).toEqual([0, 1, 3]);
    expect(Array.from(c.classId)).toEqual([1, 1, 0]);
    expect(Array.from(c.score)).toEqual([0.9, 0.7, 0.5].map(f));
  });

  test("caps at max_detections when asked to (YOLOv10), counting only kept rows", () => {
    const c = decodeEndToEndDetections(endToEndOutput(e2eRows), e2eRows.length, NC, 0.4, 2);
    expect(Array.from(c.row)).toEqual([0, 1]);
    expect(decodeEndToEndDetections(endToEndOutput(e2eRows), e2eRows.length, NC, 0.4, 0).count).toBe(0);
  });

  test("confidence 0 still drops the zero rows (strict), and class ids outside the classes are dropped", () => {
    expect(decodeEndToEndDetections(endToEndOutput(e2eRows), e2eRows.length, NC, 0, null).count).toBe(4);
    const odd = endToEndOutput([
      [0, 0, 10, 10, 0.9, 3],
      [0, 0, 10, 10, 0.9, -1],
      [0, 0, 10, 10, 0.9, 1.5],
      [0, 0, 10, 10, 0.9, 2],
    ]);
    const c = decodeEndToEndDetections(odd, 4, NC, 0.4, null);
    expect(Array.from(c.row)).toEqual([3]);
  });

  test("YOLOv10 postprocessing: no NMS, model order, max_detections, class_filter last; IoU and agnostic settings ignored", () => {
    const layout = { family: "yolov10", numClasses: NC, numRows: e2eRows.length };
    const output = endToEndOutput(e2eRows);
    const run = (params: Partial<DetectionParams>) => withoutIds(postprocessDetectionOutputs(layout, () => output, { ...defaults, ...params }, identity, classNames));
    const dogs = [
      { x: 200, y: 200, width: 200, height: 200, confidence: f(0.9), class: "dog", class_id: 1 },
      { x: 200, y: 200, width: 100, height: 100, confidence: f(0.7), class: "dog", class_id: 1 },
    ];
    const cat = { x: 450, y: 330, width: 100, height: 60, confidence: f(0.5), class: "cat", class_id: 0 };
    expect(run({})).toEqual([...dogs, cat]);
    expect(run({ iouThreshold: 0, classAgnosticNms: true })).toEqual([...dogs, cat]);
    expect(run({ maxDetections: 2 })).toEqual(dogs);
    expect(run({ maxDetections: 2, classFilter: ["cat"] })).toEqual([]);
    expect(run({ classFilter: ["cat"] })).toEqual([cat]);
  });

  test("YOLO26 postprocessing has no max_detections cap", () => {
    const layout = { family: "yolo26", numClasses: NC, numRows: e2eRows.length };
    const output = endToEndOutput(e2eRows);
    expect(postprocessDetectionOutputs(layout, () => output, { ...defaults, maxDetections: 1 }, identity, classNames).length).toBe(3);
  });

  test("rescales boxes like every family (stretch to a 320 x 480 image)", () => {
    const layout = { family: "yolov10", numClasses: NC, numRows: 1 };
    const geometry: RescaleGeometry = { ...identity, imageWidth: 320, imageHeight: 480 };
    const predictions = postprocessDetectionOutputs(layout, () => endToEndOutput([[100, 100, 300, 300, 0.9, 2]]), defaults, geometry, classNames);
    expect(withoutIds(predictions)).toEqual([{ x: 100, y: 150, width: 100, height: 150, confidence: f(0.9), class: "fox", class_id: 2 }]);
  });
});

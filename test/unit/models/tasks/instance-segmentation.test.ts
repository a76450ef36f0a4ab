// Tests of instance segmentation: the YOLOv8-seg and YOLOv5-seg families' decoding, and the task's pipeline order end to end.
import { describe, expect, test } from "bun:test";
import { HttpError } from "../../../../src/errors.ts";
import { YOLOV5_SEG } from "../../../../src/models/families/yolov5-seg.ts";
import { YOLOV8_SEG } from "../../../../src/models/families/yolov8-seg.ts";
import type { DetectionParams, MaskParams } from "../../../../src/models/task.ts";
import { instanceSegmentationPredictions, type PolygonPrediction } from "../../../../src/models/tasks/instance-segmentation.ts";
import type { RescaleGeometry } from "../../../../src/vision/boxes.ts";
import { MASK_COEFFICIENTS, type MaskDecodeMode } from "../../../../src/vision/masks.ts";

/** One anchor: box (cx, cy, w, h), class scores, and which prototype channel its mask selects (weight 8). */
interface Anchor {
  box: [number, number, number, number];
  classes: number[];
  objectness?: number;
  maskChannel?: number;
}

function coefficientsOf(anchor: Anchor): number[] {
  const coefficients = new Array<number>(MASK_COEFFICIENTS).fill(0);
  if (anchor.maskChannel !== undefined) coefficients[anchor.maskChannel] = 8;
  return coefficients;
}

/** YOLOv8-seg layout: (4 + C + 32) rows × N anchors. */
function yolov8Output(anchors: Anchor[]): Float32Array {
  const rows = anchors.map((a) => [...a.box, ...a.classes, ...coefficientsOf(a)]);
  const channels = rows[0]!.length;
  return Float32Array.from({ length: channels * anchors.length }, (_, i) => rows[i % anchors.length]![Math.floor(i / anchors.length)]!);
}

/** YOLOv5-seg layout: N rows of (5 + C + 32). */
function yolov5Output(anchors: Anchor[]): Float32Array {
  return Float32Array.from(anchors.flatMap((a) => [...a.box, a.objectness ?? 0, ...a.classes, ...coefficientsOf(a)]));
}

const PROTO = 16;
const INPUT = 64;

/**
 * 16x16 prototypes for a 64x64 input. Channel 0: a 6x4-cell rectangle (cells x 2..7, y 2..5 = input
 * pixels x 8..31, y 8..23). Channel 1: an L (cells x 9..10, y 8..13 plus x 11..13, y 12..13).
 */
function prototypes(): Float32Array {
  const data = new Float32Array(MASK_COEFFICIENTS * PROTO * PROTO);
  const plane = PROTO * PROTO;
  for (let y = 0; y < PROTO; y++) {
    for (let x = 0; x < PROTO; x++) {
      const rectangle = x >= 2 && x <= 7 && y >= 2 && y <= 5;
      const ell = (x >= 9 && x <= 10 && y >= 8 && y <= 13) || (x >= 11 && x <= 13 && y >= 12 && y <= 13);
      data[y * PROTO + x] = rectangle ? 1 : -1;
      data[plane + y * PROTO + x] = ell ? 1 : -1;
    }
  }
  return data;
}

const RECTANGLE: Anchor = { box: [20, 16, 32, 24], classes: [0.9, 0.1], objectness: 0.8, maskChannel: 0 };
const ELL: Anchor = { box: [44, 44, 24, 24], classes: [0.2, 0.7], objectness: 0.6, maskChannel: 1 };
const FAINT: Anchor = { box: [10, 10, 4, 4], classes: [0.05, 0.1], objectness: 0.05, maskChannel: 0 };

/** A request's detection and mask fields together (split again by postprocessInstanceSegmentation). */
type InstanceSegmentationParams = DetectionParams & MaskParams;

function params(overrides: Partial<InstanceSegmentationParams> = {}): InstanceSegmentationParams {
  return {
    confidence: 0.4,
    iouThreshold: 0.3,
    classAgnosticNms: false,
    maxDetections: 300,
    classFilter: null,
    maskDecodeMode: "accurate",
    tradeoffFactor: 0,
    maskFormat: "polygon",
    ...overrides,
  };
}

function stretched(imageWidth: number, imageHeight: number): RescaleGeometry {
  return { inputWidth: INPUT, inputHeight: INPUT, imageWidth, imageHeight, resize: "stretch", staticCrop: null };
}

interface PrototypeLayout {
  family: "yolov8" | "yolov5";
  numClasses: number;
  numAnchors: number;
  protoHeight: number;
  protoWidth: number;
}

function layout(family: "yolov8" | "yolov5"): PrototypeLayout {
  return { family, numClasses: 2, numAnchors: 3, protoHeight: PROTO, protoWidth: PROTO };
}

/** The task's answer for predictions (output 0) and prototypes (output 1) of the YOLOv8-seg or YOLOv5-seg family. */
function postprocessInstanceSegmentation(
  outputs: { predictions: Float32Array; protos: Float32Array },
  { family, ...sizes }: PrototypeLayout,
  { maskDecodeMode, tradeoffFactor, maskFormat, ...detection }: InstanceSegmentationParams,
  geometry: RescaleGeometry,
  names: string[],
): PolygonPrediction[] {
  const views = (i: number) => (i === 0 ? outputs.predictions : outputs.protos);
  const familyLayout = { family: `${family}-seg`, ...sizes, predictionsOutput: 0, protosOutput: 1 };
  const segmenter = family === "yolov8" ? YOLOV8_SEG : YOLOV5_SEG;
  return instanceSegmentationPredictions(segmenter, familyLayout, views, detection, { maskDecodeMode, tradeoffFactor, maskFormat }, geometry, names) as PolygonPrediction[];
}

function run(family: "yolov8" | "yolov5", overrides: Partial<InstanceSegmentationParams> = {}, geometry = stretched(INPUT, INPUT)) {
  const anchors = [RECTANGLE, ELL, FAINT];
  const predictions = family === "yolov8" ? yolov8Output(anchors) : yolov5Output(anchors);
  return postprocessInstanceSegmentation({ predictions, protos: prototypes() }, layout(family), params(overrides), geometry, ["rect", "ell"]);
}

const xy = (points: { x: number; y: number }[]) => points.map(({ x, y }) => [x, y]);

const yolov8Layout = { family: "yolov8-seg" as const, numClasses: 2, numAnchors: 3, protoHeight: PROTO, protoWidth: PROTO, predictionsOutput: 0, protosOutput: 1 };
const yolov5Layout = { ...yolov8Layout, family: "yolov5-seg" as const };

describe("the YOLOv8-seg family", () => {
  test("decodes boxes and classes like YOLOv8 detection", () => {
    const output = yolov8Output([RECTANGLE, ELL, FAINT]);
    const { candidates, kept } = YOLOV8_SEG.detect(yolov8Layout, () => output, params());
    expect(candidates.count).toBe(2);
    expect(Array.from(kept)).toEqual([0, 1]);
    expect(Array.from(candidates.classId)).toEqual([0, 1]);
    expect(Array.from(candidates.score)).toEqual([Math.fround(0.9), Math.fround(0.7)]);
    expect([candidates.x1[0], candidates.y1[0], candidates.x2[0], candidates.y2[0]]).toEqual([4, 4, 36, 28]);
  });

  test("rejects an output too short for its layout", () => {
    expect(() => YOLOV8_SEG.detect(yolov8Layout, () => new Float32Array(10), params())).toThrow(/YOLOv8 output/);
  });
});

describe("the YOLOv5-seg family", () => {
  const candidatesOf = (output: Float32Array, numClasses: number, numAnchors: number, confidence: number) =>
    YOLOV5_SEG.detect({ ...yolov5Layout, numClasses, numAnchors }, () => output, params({ confidence })).candidates;

  test("thresholds and scores by objectness (column 4); the class is the argmax of the class columns", () => {
    const candidates = candidatesOf(yolov5Output([RECTANGLE, ELL, FAINT]), 2, 3, 0.5);
    expect(candidates.count).toBe(2);
    expect(Array.from(candidates.score)).toEqual([Math.fround(0.8), Math.fround(0.6)]);
    expect(Array.from(candidates.classConfidence)).toEqual([Math.fround(0.9), Math.fround(0.7)]);
    expect(Array.from(candidates.classId)).toEqual([0, 1]);
    expect(Array.from(candidates.row)).toEqual([0, 1]);
    expect([candidates.x1[1], candidates.y1[1], candidates.x2[1], candidates.y2[1]]).toEqual([32, 32, 56, 56]);
  });

  test("the threshold is inclusive, compared in float32", () => {
    const output = yolov5Output([{ ...ELL, objectness: 0.6 }]);
    expect(candidatesOf(output, 2, 1, 0.6).count).toBe(1);
    expect(candidatesOf(output, 2, 1, 0.6000001).count).toBe(0);
  });

  test("the first class holding the max wins; a NaN class score wins as NumPy's argmax would have it", () => {
    const tie = yolov5Output([{ box: [5, 5, 2, 2], classes: [0.5, 0.5, 0.2], objectness: 0.9 }]);
    expect(candidatesOf(tie, 3, 1, 0.4).classId[0]).toBe(0);
    const withNaN = yolov5Output([{ box: [5, 5, 2, 2], classes: [0.5, Number.NaN, 0.9], objectness: 0.9 }]);
    expect(candidatesOf(withNaN, 3, 1, 0.4).classId[0]).toBe(1);
  });
});

describe("instance-segmentation predictions", () => {
  test("accurate mode: boxes rescaled as detection boxes, polygons traced on the input-size mask and scaled to the image", () => {
    const [rectangle, ell] = run("yolov8", {}, stretched(128, 64));
    expect(rectangle).toMatchObject({ x: 40, y: 16, width: 64, height: 24, confidence: Math.fround(0.9), class: "rect", class_id: 0, mask_format: "polygon" });
    // Rectangle pixels x 8..31, y 8..23 with each corner pixel cut by the bilinear upsampling; x doubles in a 128-wide image.
    expect(xy(rectangle!.points)).toEqual([
      [18, 8],
      [16, 9],
      [16, 22],
      [18, 23],
      [60, 23],
      [62, 22],
      [62, 9],
      [60, 8],
    ]);
    expect(ell).toMatchObject({ class: "ell", class_id: 1, confidence: Math.fround(0.7) });
    // L pixels: stem x 36..43, y 32..55; foot x 44..55, y 48..55; convex corners cut, the concave corner (44, 47) filled.
    expect(xy(ell!.points)).toEqual([
      [74, 32],
      [72, 33],
      [72, 54],
      [74, 55],
      [108, 55],
      [110, 54],
      [110, 49],
      [108, 48],
      [90, 48],
      [86, 46],
      [86, 33],
      [84, 32],
    ]);
    expect(rectangle!.detection_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("fast mode traces the prototype grid and scales its vertices from grid pixels", () => {
    const [rectangle, ell] = run("yolov8", { maskDecodeMode: "fast" });
    expect(xy(rectangle!.points)).toEqual([
      [8, 8],
      [8, 20],
      [28, 20],
      [28, 8],
    ]);
    expect(xy(ell!.points)).toEqual([
      [36, 32],
      [36, 52],
      [52, 52],
      [52, 48],
      [44, 48],
      [40, 44],
      [40, 32],
    ]);
  });

  test("tradeoff 1 matches accurate and tradeoff 0 matches fast for a square input", () => {
    const strip = (predictions: ReturnType<typeof run>) => predictions.map(({ detection_id: _, ...rest }) => rest);
    expect(strip(run("yolov8", { maskDecodeMode: "tradeoff", tradeoffFactor: 1 }))).toEqual(strip(run("yolov8")));
    expect(strip(run("yolov8", { maskDecodeMode: "tradeoff", tradeoffFactor: 0 }))).toEqual(strip(run("yolov8", { maskDecodeMode: "fast" })));
  });

  test("YOLOv5-seg reports objectness as confidence and decodes the same masks", () => {
    const [rectangle, ell] = run("yolov5", { confidence: 0.5 });
    expect(rectangle!.confidence).toBe(Math.fround(0.8));
    expect(ell!.confidence).toBe(Math.fround(0.6));
    const fromV8 = run("yolov8");
    expect(rectangle!.points).toEqual(fromV8[0]!.points);
    expect(ell!.points).toEqual(fromV8[1]!.points);
  });

  test("class_filter drops other classes after NMS and keeps the order of the rest", () => {
    const predictions = run("yolov8", { classFilter: ["ell"] });
    expect(predictions.map((p) => p.class)).toEqual(["ell"]);
    expect(xy(predictions[0]!.points)[0]).toEqual([37, 32]);
  });

  test("max_detections keeps the highest scores", () => {
    expect(run("yolov8", { maxDetections: 1 }).map((p) => p.class)).toEqual(["rect"]);
  });

  test("a detection whose mask vanishes keeps its box with an empty polygon", () => {
    // The box (58..62, 2..6) covers only cells where the rectangle's channel is background.
    const offMask: Anchor = { box: [60, 4, 4, 4], classes: [0.95, 0], maskChannel: 0 };
    const predictions = postprocessInstanceSegmentation(
      { predictions: yolov8Output([offMask]), protos: prototypes() },
      { ...layout("yolov8"), numAnchors: 1 },
      params(),
      stretched(INPUT, INPUT),
      ["rect", "ell"],
    );
    expect(predictions).toHaveLength(1);
    expect(predictions[0]).toMatchObject({ x: 60, y: 4, width: 4, height: 4, points: [] });
  });

  test("letterboxed input: polygons undo the padding with the truncated resized size", () => {
    // A 64x32 image letterboxed into 64x64: scale 1, resized 64x32, 16 px of padding above and below.
    const geometry: RescaleGeometry = { inputWidth: INPUT, inputHeight: INPUT, imageWidth: 64, imageHeight: 32, resize: "letterbox", staticCrop: null };
    const [rectangle] = run("yolov8", { maskDecodeMode: "fast" }, geometry);
    expect(xy(rectangle!.points)).toEqual([
      [8, -8],
      [8, 4],
      [28, 4],
      [28, -8],
    ]);
    expect(rectangle).toMatchObject({ x: 20, y: 6, width: 32, height: 12 });
  });

  test("no detection: nothing is decoded, so even a bad mask mode answers, as in the reference", () => {
    expect(run("yolov8", { confidence: 0.99, maskDecodeMode: "bogus" as MaskDecodeMode })).toEqual([]);
  });

  test("with a detection, a bad mask mode or tradeoff factor is the reference's 400", () => {
    expect(() => run("yolov8", { maskDecodeMode: "bogus" as MaskDecodeMode })).toThrow(HttpError);
    expect(() => run("yolov8", { maskDecodeMode: "tradeoff", tradeoffFactor: 2 })).toThrow(/Invalid mask decode argument sent/);
  });
});

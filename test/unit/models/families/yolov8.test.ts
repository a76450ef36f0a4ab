// Tests for YOLOv8-family output decoding: max class score, first-max class, inclusive float32 threshold, xywh → xyxy.
import { describe, expect, test } from "bun:test";
import { decodeYolov8Detections } from "../../../../src/models/families/yolov8.ts";

interface Anchor {
  cx: number;
  cy: number;
  w: number;
  h: number;
  scores: number[];
}

/** Channel-major (4 + C) × N output with the given anchors first and all-zero anchors after them. */
function yolov8Output(numClasses: number, numAnchors: number, anchors: Anchor[]): Float32Array {
  const output = new Float32Array((4 + numClasses) * numAnchors);
  anchors.forEach((anchor, a) => {
    output[a] = anchor.cx;
    output[numAnchors + a] = anchor.cy;
    output[2 * numAnchors + a] = anchor.w;
    output[3 * numAnchors + a] = anchor.h;
    anchor.scores.forEach((score, c) => (output[(4 + c) * numAnchors + a] = score));
  });
  return output;
}

const box = { cx: 100, cy: 50, w: 40, h: 20 };

describe("decodeYolov8Detections", () => {
  test("drops anchors whose best class score is below the confidence threshold", () => {
    const output = yolov8Output(3, 4, [
      { ...box, scores: [0.1, 0.39, 0.2] },
      { ...box, scores: [0.1, 0.41, 0.2] },
    ]);
    const candidates = decodeYolov8Detections(output, 3, 4, 0.4);
    expect(candidates.count).toBe(1);
    expect(Array.from(candidates.row)).toEqual([1]);
  });

  test("keeps an anchor whose score equals the threshold", () => {
    const output = yolov8Output(2, 2, [{ ...box, scores: [0.4, 0] }]);
    expect(decodeYolov8Detections(output, 2, 2, 0.4).count).toBe(1);
  });

  test("compares as float32: keeps a score equal to float32(threshold) even when that is below the double threshold", () => {
    // float32(0.7) = 0.699999988…, which NumPy keeps for confidence 0.7 (the threshold is cast to float32).
    const output = yolov8Output(2, 2, [{ ...box, scores: [0.7, 0] }]);
    expect(Math.fround(0.7)).toBeLessThan(0.7);
    expect(decodeYolov8Detections(output, 2, 2, 0.7).count).toBe(1);
  });

  test("uses the max class score as score and class confidence, and its class as class id", () => {
    const output = yolov8Output(4, 3, [{ ...box, scores: [0.2, 0.5, 0.9, 0.3] }]);
    const candidates = decodeYolov8Detections(output, 4, 3, 0.25);
    expect(candidates.count).toBe(1);
    expect(candidates.score[0]).toBe(Math.fround(0.9));
    expect(candidates.classConfidence[0]).toBe(Math.fround(0.9));
    expect(candidates.classId[0]).toBe(2);
  });

  test("picks the first class among equal max scores", () => {
    const output = yolov8Output(4, 1, [{ ...box, scores: [0.1, 0.8, 0.3, 0.8] }]);
    expect(Array.from(decodeYolov8Detections(output, 4, 1, 0.5).classId)).toEqual([1]);
  });

  test("converts cx, cy, w, h to corners as float32", () => {
    const output = yolov8Output(1, 1, [{ cx: 100.3, cy: 50.7, w: 40.1, h: 20.9, scores: [0.9] }]);
    const candidates = decodeYolov8Detections(output, 1, 1, 0.5);
    const [cx, cy, w, h] = [100.3, 50.7, 40.1, 20.9].map(Math.fround) as [number, number, number, number];
    expect([candidates.x1[0], candidates.y1[0], candidates.x2[0], candidates.y2[0]]).toEqual([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2].map(Math.fround));
  });

  test("records each candidate's anchor index and keeps anchor order", () => {
    const anchors: Anchor[] = [0.1, 0.9, 0.2, 0.6, 0.95].map((s) => ({ ...box, scores: [s] }));
    const candidates = decodeYolov8Detections(yolov8Output(1, 8, anchors), 1, 8, 0.5);
    expect(Array.from(candidates.row)).toEqual([1, 3, 4]);
  });

  test("reads a view into a larger buffer in place", () => {
    const image = yolov8Output(2, 3, [
      { ...box, scores: [0, 0] },
      { ...box, scores: [0.3, 0.7] },
    ]);
    const shared = new Float32Array(image.length + 10);
    shared.set(image, 10);
    const candidates = decodeYolov8Detections(shared.subarray(10), 2, 3, 0.5);
    expect(Array.from(candidates.row)).toEqual([1]);
    expect(Array.from(candidates.classId)).toEqual([1]);
  });

  test("drops an anchor with a NaN class score, as NumPy's max propagates NaN", () => {
    const output = yolov8Output(3, 2, [
      { ...box, scores: [0.9, Number.NaN, 0.1] },
      { ...box, scores: [0.9, 0.1, 0.1] },
    ]);
    expect(Array.from(decodeYolov8Detections(output, 3, 2, 0.5).row)).toEqual([1]);
  });

  test("yields no candidates when nothing passes", () => {
    const candidates = decodeYolov8Detections(new Float32Array(9 * 16), 5, 16, 0.4);
    expect(candidates.count).toBe(0);
    expect(candidates.x1.length).toBe(0);
  });

  test("rejects an output too short for its layout", () => {
    expect(() => decodeYolov8Detections(new Float32Array(10), 5, 16, 0.4)).toThrow();
  });
});

// YOLOv8 detection family (v8, v9, v11, v12): output 0 is channel-major (4 + C) × N; decoded into candidates, then NMS.
import { allocateDetectionCandidates, setCandidate, truncateCandidates, type DetectionCandidates } from "../../vision/nms.ts";
import { UNIT_NORMALISATION, suppressed, type ObjectDetectionFamily } from "./family.ts";

export interface Yolov8DetectionLayout {
  family: "yolov8";
  numClasses: number;
  numAnchors: number;
}

/** `yolov8*`, `yolov9*`, `yolov11*`/`yolo11*`, `yolov12*`/`yolo12*` (docs/compatibility.md §3.1). */
export const selectsYolov8 = (modelType: string): boolean => /^yolov?(8|9|11|12)/.test(modelType.trim().toLowerCase());

export const YOLOV8: ObjectDetectionFamily<Yolov8DetectionLayout> = {
  name: "yolov8",
  task: "object-detection",
  selects: selectsYolov8,
  recognisedWithoutModelType: true,
  defaultModelType: "yolov8",
  recognise(shapes, { classNames: { length: classCount } }) {
    const s = shapes[0];
    return s && s.length === 2 && s[0] === 4 + classCount ? { family: "yolov8", numClasses: classCount, numAnchors: s[1]! } : null;
  },
  expects: ({ classNames: { length: classCount } }) => `YOLOv8 [batch, ${4 + classCount} (4 + ${classCount} classes), anchors]`,
  normalisation: () => UNIT_NORMALISATION,
  detect: (layout, outputs, params) => suppressed(decodeYolov8Detections(outputs(0), layout.numClasses, layout.numAnchors, params.confidence), params),
};

/** Per-anchor "some class score reaches the threshold" flags, reused across calls (decoding is synchronous). */
let passesScratch = new Uint8Array(0);

/**
 * Rows of `output` are cx, cy, w, h, then one score row per class, each `numAnchors` long (a view of
 * one image's output, read in place). An anchor becomes a candidate when its max class score is
 * >= `confidence`; its class is the first class holding that max; its box becomes xyxy.
 *
 * Float32 fidelity with the reference: the threshold is compared as float32 (NumPy casts the
 * Python float to the float32 array's type), and corners are float32 results of cx ∓ w/2.
 * An anchor with a NaN class score is dropped, as NumPy's max propagates NaN.
 */
export function decodeYolov8Detections(output: Float32Array, numClasses: number, numAnchors: number, confidence: number): DetectionCandidates {
  const needed = (4 + numClasses) * numAnchors;
  if (output.length < needed) {
    throw new Error(`YOLOv8 output holds ${output.length} values, ${needed} needed for ${numClasses} classes × ${numAnchors} anchors`);
  }
  if (numClasses <= 0 || numAnchors <= 0) return allocateDetectionCandidates(0);
  const threshold = Math.fround(confidence);
  const n = numAnchors;
  const scoresStart = 4 * n;

  // Pass 1, row by row over the channel-major layout: a threshold test is a well-predicted branch,
  // unlike a running max, and most anchors fail it. Per-row views let the JIT drop bounds checks.
  if (passesScratch.length < n) passesScratch = new Uint8Array(n);
  const passes = passesScratch.subarray(0, n);
  passes.fill(0);
  for (let c = 0; c < numClasses; c++) {
    const rowStart = scoresStart + c * n;
    const row = output.subarray(rowStart, rowStart + n);
    for (let a = 0; a < row.length; a++) if (row[a]! >= threshold) passes[a] = 1;
  }
  let passing = 0;
  for (let a = 0; a < n; a++) passing += passes[a]!;

  // Pass 2, only for passing anchors: exact max, first argmax and the NaN check, down the anchor's column.
  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let a = 0; a < n; a++) {
    if (passes[a] === 0) continue;
    let score = output[scoresStart + a]!;
    let classId = 0;
    for (let c = 1, at = scoresStart + n + a; c < numClasses; c++, at += n) {
      const value = output[at]!;
      if (value > score) {
        score = value;
        classId = c;
      } else if (value !== value) {
        score = Number.NaN;
        break;
      }
    }
    if (score !== score) continue;
    const cx = output[a]!;
    const cy = output[n + a]!;
    const halfW = output[2 * n + a]! / 2;
    const halfH = output[3 * n + a]! / 2;
    setCandidate(candidates, count, cx - halfW, cy - halfH, cx + halfW, cy + halfH, score, score, classId, a);
    count++;
  }
  return count === passing ? candidates : truncateCandidates(candidates, count);
}

// YOLO-NAS detection family: boxes (N × 4, x1 y1 x2 y2) and class scores (N × C) in two outputs; decoded into candidates, then NMS.
import { allocateDetectionCandidates, setCandidate, truncateCandidates, type DetectionCandidates } from "../../vision/nms.ts";
import { UNIT_NORMALISATION, suppressed, type ObjectDetectionFamily } from "./family.ts";

export interface YoloNasDetectionLayout {
  family: "yolonas";
  numClasses: number;
  numAnchors: number;
  boxesOutput: number;
  scoresOutput: number;
}

export const YOLONAS: ObjectDetectionFamily<YoloNasDetectionLayout> = {
  name: "yolonas",
  task: "object-detection",
  // `yolonas`, `yolo_nas_{s,m,l}` (docs/compatibility.md §3.1).
  selects: (modelType) => /^yolo[-_]?nas/.test(modelType.trim().toLowerCase()),
  recognisedWithoutModelType: true,
  defaultModelType: "yolonas",
  // N x 4 boxes and N x C scores (boxes first when C is 4 too).
  recognise(shapes, { classNames: { length: classCount } }) {
    if (shapes.length !== 2 || !shapes.every((s) => s.length === 2) || shapes[0]![0] !== shapes[1]![0]) return null;
    const boxesOutput = shapes.findIndex((s) => s[1] === 4);
    const scoresOutput = boxesOutput === 0 ? 1 : 0;
    if (boxesOutput < 0 || shapes[scoresOutput]![1] !== classCount) return null;
    return { family: "yolonas", numClasses: classCount, numAnchors: shapes[0]![0]!, boxesOutput, scoresOutput };
  },
  expects: ({ classNames: { length: classCount } }) => `YOLO-NAS [batch, anchors, 4] and [batch, anchors, ${classCount}]`,
  normalisation: () => UNIT_NORMALISATION,
  detect: (layout, outputs, params) =>
    suppressed(decodeYoloNasDetections(outputs(layout.boxesOutput), outputs(layout.scoresOutput), layout.numClasses, layout.numAnchors, params.confidence), params),
};

/**
 * The reference (docs/compatibility.md §5.1) builds rows `[x1, y1, x2, y2, max class score, classes]` with the boxes
 * already in xyxy (no xywh conversion), then filters and suppresses them like any other family:
 * an anchor is a candidate when its max class score is >= `confidence` (float32, inclusive); its
 * class is the first class holding that max; score and class confidence are both that max.
 * An anchor with a NaN class score is dropped, as NumPy's max propagates NaN.
 */
export function decodeYoloNasDetections(boxes: Float32Array, scores: Float32Array, numClasses: number, numAnchors: number, confidence: number): DetectionCandidates {
  if (boxes.length < 4 * numAnchors) throw new Error(`YOLO-NAS boxes hold ${boxes.length} values, ${4 * numAnchors} needed for ${numAnchors} anchors`);
  if (scores.length < numClasses * numAnchors) {
    throw new Error(`YOLO-NAS scores hold ${scores.length} values, ${numClasses * numAnchors} needed for ${numClasses} classes × ${numAnchors} anchors`);
  }
  if (numClasses <= 0 || numAnchors <= 0) return allocateDetectionCandidates(0);
  const threshold = Math.fround(confidence);

  // Pass 1: anchors where some class score reaches the threshold (a NaN never does).
  let passing = 0;
  for (let a = 0, row = 0; a < numAnchors; a++, row += numClasses) {
    for (let c = 0; c < numClasses; c++) {
      if (scores[row + c]! >= threshold) {
        passing++;
        break;
      }
    }
  }

  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let a = 0, row = 0; a < numAnchors && count < passing; a++, row += numClasses) {
    let score = scores[row]!;
    let classId = 0;
    for (let c = 1; c < numClasses; c++) {
      const value = scores[row + c]!;
      if (value > score) {
        score = value;
        classId = c;
      } else if (value !== value) {
        score = Number.NaN;
        break;
      }
    }
    if (!(score >= threshold)) continue;
    setCandidate(candidates, count, boxes[4 * a]!, boxes[4 * a + 1]!, boxes[4 * a + 2]!, boxes[4 * a + 3]!, score, score, classId, a);
    count++;
  }
  return count === passing ? candidates : truncateCandidates(candidates, count);
}

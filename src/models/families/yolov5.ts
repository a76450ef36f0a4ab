// YOLOv5 detection family (v5, v7 det): row-major N × (5 + C) rows with objectness; the row decoder also serves v5/v7 segmentation.
import { allocateDetectionCandidates, setCandidate, type DetectionCandidates } from "../../vision/nms.ts";
import { UNIT_NORMALISATION, suppressed, type ObjectDetectionFamily } from "./family.ts";

export interface Yolov5DetectionLayout {
  family: "yolov5";
  numClasses: number;
  numAnchors: number;
  /** The output holding the rows: the reference reads output 0, older exports add per-level outputs after it. */
  output: number;
}

/** `yolov5*` and `yolov7*` (docs/compatibility.md §3.1). */
export const selectsYolov5 = (modelType: string): boolean => /^yolov[57]/.test(modelType.trim().toLowerCase());

export const YOLOV5: ObjectDetectionFamily<Yolov5DetectionLayout> = {
  name: "yolov5",
  task: "object-detection",
  selects: selectsYolov5,
  recognisedWithoutModelType: true,
  defaultModelType: "yolov5",
  recognise(shapes, { classNames: { length: classCount } }) {
    const output = shapes.findIndex((s) => s.length === 2 && s[1] === 5 + classCount);
    return output < 0 ? null : { family: "yolov5", numClasses: classCount, numAnchors: shapes[output]![0]!, output };
  },
  expects: ({ classNames: { length: classCount } }) => `YOLOv5/v7 [batch, anchors, ${5 + classCount} (5 + ${classCount} classes)]`,
  normalisation: () => UNIT_NORMALISATION,
  detect: (layout, outputs, params) => suppressed(decodeYolov5Detections(outputs(layout.output), layout.numClasses, layout.numAnchors, params.confidence), params),
};

/**
 * Each anchor's row is cx, cy, w, h, objectness, C class scores, then `rowLength - 5 - C` further
 * values (32 mask coefficients for segmentation, none for detection). Used as is by the reference
 * (docs/compatibility.md §5.1): the score (threshold, NMS order, response confidence) is the **objectness alone**, not
 * objectness × class score; the class is the first argmax of the class scores, whose max is the
 * class confidence.
 *
 * Float32 fidelity: the threshold is compared as float32 (inclusive), the corners are float32
 * results of cx ∓ w/2. A NaN objectness fails the threshold; a NaN class score is NumPy's max and
 * argmax (the first NaN wins), as the reference would carry it.
 */
export function decodeObjectnessRows(output: Float32Array, numClasses: number, numAnchors: number, rowLength: number, confidence: number): DetectionCandidates {
  const needed = rowLength * numAnchors;
  if (rowLength < 5 + numClasses) throw new Error(`YOLOv5 rows of ${rowLength} values cannot hold 5 + ${numClasses} classes`);
  if (output.length < needed) {
    throw new Error(`YOLOv5 output holds ${output.length} values, ${needed} needed for ${numClasses} classes × ${numAnchors} anchors`);
  }
  if (numClasses <= 0 || numAnchors <= 0) return allocateDetectionCandidates(0);
  const threshold = Math.fround(confidence);

  let passing = 0;
  for (let a = 0, at = 4; a < numAnchors; a++, at += rowLength) if (output[at]! >= threshold) passing++;

  const candidates = allocateDetectionCandidates(passing);
  let count = 0;
  for (let a = 0, row = 0; a < numAnchors; a++, row += rowLength) {
    const score = output[row + 4]!;
    if (!(score >= threshold)) continue;
    writeCandidate(candidates, count++, output, row, numClasses, score, a);
  }
  return candidates;
}

/** YOLOv5/v7 detection: rows of exactly 5 + C values. */
export function decodeYolov5Detections(output: Float32Array, numClasses: number, numAnchors: number, confidence: number): DetectionCandidates {
  return decodeObjectnessRows(output, numClasses, numAnchors, 5 + numClasses, confidence);
}

function writeCandidate(candidates: DetectionCandidates, index: number, output: Float32Array, row: number, numClasses: number, score: number, anchor: number): void {
  const classes = row + 5;
  let classConfidence = output[classes]!;
  let classId = 0;
  if (classConfidence === classConfidence) {
    for (let c = 1; c < numClasses; c++) {
      const value = output[classes + c]!;
      if (value > classConfidence) {
        classConfidence = value;
        classId = c;
      } else if (value !== value) {
        classConfidence = value;
        classId = c;
        break;
      }
    }
  }
  const cx = output[row]!;
  const cy = output[row + 1]!;
  const halfW = output[row + 2]! / 2;
  const halfH = output[row + 3]! / 2;
  setCandidate(candidates, index, cx - halfW, cy - halfH, cx + halfW, cy + halfH, score, classConfidence, classId, anchor);
}

// Output layout: which decoding a model's outputs need, told from their shapes, the task and the class count.
import type { OutputLayout, TaskType } from "../workers/protocol.ts";
import { BrokenPackageError } from "./package.ts";

const MASK_COEFFICIENTS = 32;

const describe = (shapes: number[][]) => shapes.map((s) => `[batch, ${s.join(", ")}]`).join(", ");

/** The detection decodings this server knows, as the reference's model types name them (§3.1). */
export type DetectionFamily = "yolov8" | "yolov5" | "yolonas" | "yolov10" | "yolo26";

/**
 * The detection family a `model_type` names: `yolov5*`/`yolov7*` → yolov5 (objectness rows),
 * `yolonas`/`yolo_nas_*` → yolonas, `yolov10*` → yolov10, `yolo26*` → yolo26, `yolov8*`, `yolov9*`,
 * `yolov11*`/`yolo11*`, `yolov12*`/`yolo12*` → yolov8; anything else (e.g. `ort`, `rfdetr`) → null.
 */
export function detectionFamilyOf(modelType: string): DetectionFamily | null {
  const type = modelType.trim().toLowerCase();
  if (/^yolov[57]/.test(type)) return "yolov5";
  if (/^yolo[-_]?nas/.test(type)) return "yolonas";
  if (/^yolov?10/.test(type)) return "yolov10";
  if (/^yolov?26/.test(type)) return "yolo26";
  if (/^yolov?(8|9|11|12)/.test(type)) return "yolov8";
  return null;
}

/** The family a detection layout decodes as (what a model type must name to agree with it). */
export function detectionFamilyOfLayout(layout: OutputLayout): DetectionFamily | null {
  switch (layout.kind) {
    case "yolov8-detection":
      return "yolov8";
    case "yolov5-detection":
      return "yolov5";
    case "yolonas-detection":
      return "yolonas";
    case "end-to-end-detection":
      return layout.family;
    default:
      return null;
  }
}

const END_TO_END_ROW = 6;

/** Each family's test of the output shapes: its layout when they fit, else null. */
const DETECTION_FITS: Record<DetectionFamily, (shapes: number[][], classes: number) => OutputLayout | null> = {
  // Channel-major (4 + C) x N in output 0.
  yolov8: (shapes, classes) => {
    const s = shapes[0];
    return s && s.length === 2 && s[0] === 4 + classes ? { kind: "yolov8-detection", numClasses: classes, numAnchors: s[1]! } : null;
  },
  // Row-major N x (5 + C); the reference reads output 0, older exports add per-level outputs after it.
  yolov5: (shapes, classes) => {
    const output = shapes.findIndex((s) => s.length === 2 && s[1] === 5 + classes);
    return output < 0 ? null : { kind: "yolov5-detection", numClasses: classes, numAnchors: shapes[output]![0]!, output };
  },
  // N x 4 boxes and N x C scores (boxes first when C is 4 too).
  yolonas: (shapes, classes) => {
    if (shapes.length !== 2 || !shapes.every((s) => s.length === 2) || shapes[0]![0] !== shapes[1]![0]) return null;
    const boxesOutput = shapes.findIndex((s) => s[1] === 4);
    const scoresOutput = boxesOutput === 0 ? 1 : 0;
    if (boxesOutput < 0 || shapes[scoresOutput]![1] !== classes) return null;
    return { kind: "yolonas-detection", numClasses: classes, numAnchors: shapes[0]![0]!, boxesOutput, scoresOutput };
  },
  // K x 6 in output 0: x1, y1, x2, y2, score, class.
  yolov10: (shapes, classes) => {
    const s = shapes[0];
    return s && s.length === 2 && s[1] === END_TO_END_ROW ? { kind: "end-to-end-detection", family: "yolov10", numClasses: classes, numRows: s[0]! } : null;
  },
  yolo26: (shapes, classes) => {
    const s = shapes[0];
    return s && s.length === 2 && s[1] === END_TO_END_ROW ? { kind: "end-to-end-detection", family: "yolo26", numClasses: classes, numRows: s[0]! } : null;
  },
};

/** Tried in this order when the model type names no family, or names one its outputs do not fit. */
const DETECTION_FALLBACK_ORDER: DetectionFamily[] = ["yolov8", "yolov5", "yolonas", "yolov10"];

/**
 * The family the model type names is tried first; then every family in DETECTION_FALLBACK_ORDER,
 * so a package whose model type is missing or generic still decodes by its shapes. Only the
 * model type tells YOLOv10 (capped at max_detections) from YOLO26 (uncapped), and a one-class
 * YOLOv5 output (N x 6) from an end-to-end one (K x 6).
 */
function detectionLayout(shapes: number[][], classes: number, modelType: string): OutputLayout {
  const named = detectionFamilyOf(modelType);
  for (const family of named ? [named, ...DETECTION_FALLBACK_ORDER] : DETECTION_FALLBACK_ORDER) {
    const layout = DETECTION_FITS[family](shapes, classes);
    if (layout) return layout;
  }
  throw new BrokenPackageError(
    `Expected detection outputs for ${classes} classes: YOLOv8 [batch, ${4 + classes} (4 + ${classes} classes), anchors], ` +
      `YOLOv5/v7 [batch, anchors, ${5 + classes} (5 + ${classes} classes)], YOLO-NAS [batch, anchors, 4] and [batch, anchors, ${classes}], ` +
      `or end-to-end YOLOv10/YOLO26 [batch, detections, 6]; got ${describe(shapes)}.`,
  );
}

function segmentationLayout(shapes: number[][], classes: number): OutputLayout {
  const predictionsOutput = shapes.findIndex((s) => s.length === 2);
  const protosOutput = shapes.findIndex((s) => s.length === 3 && s[0] === MASK_COEFFICIENTS);
  const predictions = shapes[predictionsOutput];
  const protos = shapes[protosOutput];
  if (predictions && protos) {
    const common = { numClasses: classes, predictionsOutput, protosOutput, protoHeight: protos[1]!, protoWidth: protos[2]! };
    // YOLOv8 puts the (4 + C + 32) values of an anchor in a column; YOLOv5/v7 put (5 + C + 32) in a row.
    if (predictions[0] === 4 + classes + MASK_COEFFICIENTS) return { kind: "segmentation", family: "yolov8", numAnchors: predictions[1]!, ...common };
    if (predictions[1] === 5 + classes + MASK_COEFFICIENTS) return { kind: "segmentation", family: "yolov5", numAnchors: predictions[0]!, ...common };
  }
  throw new BrokenPackageError(
    `Expected segmentation outputs [batch, ${4 + classes + MASK_COEFFICIENTS}, anchors] (YOLOv8) or [batch, anchors, ${5 + classes + MASK_COEFFICIENTS}] (YOLOv5) and prototypes [batch, 32, h, w] for ${classes} classes, got ${describe(shapes)}.`,
  );
}

function classificationLayout(shapes: number[][], classes: number, multiLabel: boolean): OutputLayout {
  const shape = shapes[0];
  if (!shape || shape.length !== 1 || shape[0] !== classes) {
    throw new BrokenPackageError(`Expected a classification output [batch, ${classes}] for ${classes} classes, got ${describe(shapes)}.`);
  }
  return { kind: "classification", numClasses: classes, multiLabel };
}

/** Decides how to decode one image's outputs (`modelType`, the package's model_type, picks the detection family first); throws "Model package is broken." with the mismatch spelled out. */
export function resolveOutputLayout(task: TaskType, outputShapes: number[][], classCount: number, multiLabel: boolean, modelType = ""): OutputLayout {
  switch (task) {
    case "object-detection":
      return detectionLayout(outputShapes, classCount, modelType);
    case "instance-segmentation":
      return segmentationLayout(outputShapes, classCount);
    case "classification":
      return classificationLayout(outputShapes, classCount, multiLabel);
  }
}

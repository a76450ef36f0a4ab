// Output layout: which decoding a model's outputs need, told from their shapes, the task and the class count.
import type { OutputLayout, TaskType } from "../pipeline/protocol.ts";
import { BrokenPackageError } from "./package.ts";

const MASK_COEFFICIENTS = 32;

const describe = (shapes: number[][]) => shapes.map((s) => `[batch, ${s.join(", ")}]`).join(", ");

function detectionLayout(shapes: number[][], classes: number): OutputLayout {
  const shape = shapes[0];
  if (!shape || shape.length !== 2 || shape[0] !== 4 + classes) {
    throw new BrokenPackageError(`Expected a detection output [batch, ${4 + classes} (4 + ${classes} classes), anchors], got ${describe(shapes)}.`);
  }
  return { kind: "yolov8-detection", numClasses: classes, numAnchors: shape[1]! };
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

/** Decides how to decode one image's outputs; throws "Model package is broken." with the mismatch spelled out. */
export function resolveOutputLayout(task: TaskType, outputShapes: number[][], classCount: number, multiLabel: boolean): OutputLayout {
  switch (task) {
    case "object-detection":
      return detectionLayout(outputShapes, classCount);
    case "instance-segmentation":
      return segmentationLayout(outputShapes, classCount);
    case "classification":
      return classificationLayout(outputShapes, classCount, multiLabel);
  }
}

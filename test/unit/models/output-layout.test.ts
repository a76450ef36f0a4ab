// Specification of output-layout resolution: which decoding a model's outputs need.
import { describe, expect, test } from "bun:test";
import { resolveOutputLayout } from "../../../src/models/output-layout.ts";

describe("resolveOutputLayout", () => {
  test("reads a YOLOv8 detection output as (4 + classes) x anchors", () => {
    expect(resolveOutputLayout("object-detection", [[9, 8400]], 5, false)).toEqual({ kind: "yolov8-detection", numClasses: 5, numAnchors: 8400 });
  });

  test("refuses a detection output whose rows do not match the class names, saying what it expected", () => {
    expect(() => resolveOutputLayout("object-detection", [[10, 8400]], 5, false)).toThrow(/Model package is broken.*\[batch, 9 \(4 \+ 5 classes\), anchors\].*\[batch, 10, 8400\]/);
    expect(() => resolveOutputLayout("object-detection", [[9, 8400, 2]], 5, false)).toThrow(/Model package is broken/);
  });

  test("tells YOLOv8-style from YOLOv5-style segmentation outputs and finds the prototypes", () => {
    expect(resolveOutputLayout("instance-segmentation", [[4 + 3 + 32, 8400], [32, 160, 160]], 3, false)).toEqual({
      kind: "segmentation", family: "yolov8", numClasses: 3, numAnchors: 8400, predictionsOutput: 0, protosOutput: 1, protoHeight: 160, protoWidth: 160,
    });
    expect(resolveOutputLayout("instance-segmentation", [[32, 160, 120], [25200, 5 + 3 + 32]], 3, false)).toEqual({
      kind: "segmentation", family: "yolov5", numClasses: 3, numAnchors: 25200, predictionsOutput: 1, protosOutput: 0, protoHeight: 160, protoWidth: 120,
    });
  });

  test("refuses segmentation models without prototypes", () => {
    expect(() => resolveOutputLayout("instance-segmentation", [[39, 8400]], 3, false)).toThrow(/prototypes/);
  });

  test("reads a classification output as one score per class, keeping the multi-label flag", () => {
    expect(resolveOutputLayout("classification", [[3]], 3, true)).toEqual({ kind: "classification", numClasses: 3, multiLabel: true });
    expect(() => resolveOutputLayout("classification", [[4]], 3, false)).toThrow(/\[batch, 3\]/);
  });
});

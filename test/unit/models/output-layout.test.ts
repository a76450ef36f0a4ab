// Specification of output-layout resolution: which decoding a model's outputs need.
import { describe, expect, test } from "bun:test";
import { detectionFamilyOf, resolveOutputLayout } from "../../../src/models/output-layout.ts";

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

describe("resolveOutputLayout: detection families", () => {
  test("reads YOLOv5/v7 rows of 5 + classes, in the first output that has them", () => {
    expect(resolveOutputLayout("object-detection", [[25200, 85]], 80, false, "yolov5v2s")).toEqual({ kind: "yolov5-detection", numClasses: 80, numAnchors: 25200, output: 0 });
    // Older YOLOv5 exports add the per-level maps after the predictions.
    expect(resolveOutputLayout("object-detection", [[3, 80, 80, 85], [25200, 85]], 80, false, "")).toEqual({ kind: "yolov5-detection", numClasses: 80, numAnchors: 25200, output: 1 });
  });

  test("reads YOLO-NAS boxes and scores in either order", () => {
    expect(resolveOutputLayout("object-detection", [[8400, 4], [8400, 80]], 80, false, "yolo_nas_s")).toEqual({
      kind: "yolonas-detection", numClasses: 80, numAnchors: 8400, boxesOutput: 0, scoresOutput: 1,
    });
    expect(resolveOutputLayout("object-detection", [[8400, 80], [8400, 4]], 80, false, "")).toMatchObject({ kind: "yolonas-detection", boxesOutput: 1, scoresOutput: 0 });
  });

  test("reads end-to-end rows of 6; the model type tells YOLO26 from YOLOv10 (the default)", () => {
    expect(resolveOutputLayout("object-detection", [[300, 6]], 80, false, "yolov10n")).toEqual({ kind: "end-to-end-detection", family: "yolov10", numClasses: 80, numRows: 300 });
    expect(resolveOutputLayout("object-detection", [[300, 6]], 80, false, "yolo26s")).toEqual({ kind: "end-to-end-detection", family: "yolo26", numClasses: 80, numRows: 300 });
    expect(resolveOutputLayout("object-detection", [[300, 6]], 80, false)).toMatchObject({ family: "yolov10" });
  });

  test("a one-class N x 6 output is YOLOv5 unless the model type names an end-to-end family", () => {
    expect(resolveOutputLayout("object-detection", [[25200, 6]], 1, false, "")).toMatchObject({ kind: "yolov5-detection" });
    expect(resolveOutputLayout("object-detection", [[300, 6]], 1, false, "yolov10n")).toMatchObject({ kind: "end-to-end-detection" });
  });

  test("falls back to the shapes when the model type names a family they do not fit", () => {
    expect(resolveOutputLayout("object-detection", [[9, 8400]], 5, false, "yolov5s")).toMatchObject({ kind: "yolov8-detection" });
  });

  test("names every family's expected shapes when nothing fits", () => {
    expect(() => resolveOutputLayout("object-detection", [[8400, 4], [8400, 3]], 5, false)).toThrow(
      /Model package is broken.*YOLOv8 \[batch, 9 \(4 \+ 5 classes\), anchors\].*YOLOv5\/v7 \[batch, anchors, 10 \(5 \+ 5 classes\)\].*YOLO-NAS \[batch, anchors, 4\] and \[batch, anchors, 5\].*\[batch, detections, 6\].*got \[batch, 8400, 4\], \[batch, 8400, 3\]/,
    );
  });

  test("detectionFamilyOf maps the reference's model types", () => {
    const cases: [string, string | null][] = [
      ["yolov5v2s", "yolov5"], ["yolov5v6n", "yolov5"], ["yolov7", "yolov5"], ["yolonas", "yolonas"], ["yolo_nas_m", "yolonas"],
      ["yolov10x", "yolov10"], ["yolo26n", "yolo26"], ["yolov8n", "yolov8"], ["yolov9", "yolov8"], ["yolov11s", "yolov8"], ["yolo11n", "yolov8"],
      ["yolov12l", "yolov8"], ["ort", null], ["rfdetr-base", null], ["", null],
    ];
    for (const [type, family] of cases) expect([type, detectionFamilyOf(type)]).toEqual([type, family]);
  });
});

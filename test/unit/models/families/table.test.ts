// Specification of family resolution: which family (and layout) decodes a model, from its task, model type and output shapes.
import { describe, expect, test } from "bun:test";
import { familySelectedBy, FAMILIES, resolveFamily } from "../../../../src/models/families/table.ts";
import type { TaskType } from "../../../../src/models/task.ts";
import { recognitionContext } from "./recognition-context.ts";

/** The layout resolution picks (the old resolveOutputLayout's argument order, to keep the cases readable). */
function layoutOf(task: TaskType, shapes: number[][], classCount: number, multiLabel: boolean, modelType = ""): Record<string, unknown> {
  return { ...resolveFamily(task, modelType, shapes, recognitionContext(classCount, { multiLabel })).layout };
}

describe("resolveFamily", () => {
  test("reads a YOLOv8 detection output as (4 + classes) x anchors", () => {
    expect(layoutOf("object-detection", [[9, 8400]], 5, false)).toEqual({ family: "yolov8", numClasses: 5, numAnchors: 8400 });
  });

  test("refuses a detection output whose rows do not match the class names, saying what it expected", () => {
    expect(() => layoutOf("object-detection", [[10, 8400]], 5, false)).toThrow(/Model package is broken.*\[batch, 9 \(4 \+ 5 classes\), anchors\].*\[batch, 10, 8400\]/);
    expect(() => layoutOf("object-detection", [[9, 8400, 2]], 5, false)).toThrow(/Model package is broken/);
  });

  test("tells YOLOv8-style from YOLOv5-style segmentation outputs and finds the prototypes", () => {
    expect(
      layoutOf(
        "instance-segmentation",
        [
          [4 + 3 + 32, 8400],
          [32, 160, 160],
        ],
        3,
        false,
      ),
    ).toEqual({
      family: "yolov8-seg",
      numClasses: 3,
      numAnchors: 8400,
      predictionsOutput: 0,
      protosOutput: 1,
      protoHeight: 160,
      protoWidth: 160,
    });
    expect(
      layoutOf(
        "instance-segmentation",
        [
          [32, 160, 120],
          [25200, 5 + 3 + 32],
        ],
        3,
        false,
      ),
    ).toEqual({
      family: "yolov5-seg",
      numClasses: 3,
      numAnchors: 25200,
      predictionsOutput: 1,
      protosOutput: 0,
      protoHeight: 160,
      protoWidth: 120,
    });
  });

  test("refuses segmentation models without prototypes", () => {
    expect(() => layoutOf("instance-segmentation", [[39, 8400]], 3, false)).toThrow(/prototypes/);
  });

  test("reads a classification output as one score per class, keeping the multi-label flag", () => {
    expect(layoutOf("classification", [[3]], 3, true)).toEqual({ family: "yolov8-cls", numClasses: 3, multiLabel: true });
    expect(() => layoutOf("classification", [[4]], 3, false)).toThrow(/\[batch, 3\]/);
  });
});

describe("resolveFamily: detection families", () => {
  test("reads YOLOv5/v7 rows of 5 + classes, in the first output that has them", () => {
    expect(layoutOf("object-detection", [[25200, 85]], 80, false, "yolov5v2s")).toEqual({ family: "yolov5", numClasses: 80, numAnchors: 25200, output: 0 });
    // Older YOLOv5 exports add the per-level maps after the predictions.
    expect(
      layoutOf(
        "object-detection",
        [
          [3, 80, 80, 85],
          [25200, 85],
        ],
        80,
        false,
        "",
      ),
    ).toEqual({ family: "yolov5", numClasses: 80, numAnchors: 25200, output: 1 });
  });

  test("reads YOLO-NAS boxes and scores in either order", () => {
    expect(
      layoutOf(
        "object-detection",
        [
          [8400, 4],
          [8400, 80],
        ],
        80,
        false,
        "yolo_nas_s",
      ),
    ).toEqual({
      family: "yolonas",
      numClasses: 80,
      numAnchors: 8400,
      boxesOutput: 0,
      scoresOutput: 1,
    });
    expect(
      layoutOf(
        "object-detection",
        [
          [8400, 80],
          [8400, 4],
        ],
        80,
        false,
        "",
      ),
    ).toMatchObject({ family: "yolonas", boxesOutput: 1, scoresOutput: 0 });
  });

  test("reads end-to-end rows of 6; the model type tells YOLO26 from YOLOv10 (the default)", () => {
    expect(layoutOf("object-detection", [[300, 6]], 80, false, "yolov10n")).toEqual({ family: "yolov10", numClasses: 80, numRows: 300 });
    expect(layoutOf("object-detection", [[300, 6]], 80, false, "yolo26s")).toEqual({ family: "yolo26", numClasses: 80, numRows: 300 });
    expect(layoutOf("object-detection", [[300, 6]], 80, false)).toMatchObject({ family: "yolov10" });
  });

  test("a one-class N x 6 output is YOLOv5 unless the model type names an end-to-end family", () => {
    expect(layoutOf("object-detection", [[25200, 6]], 1, false, "")).toMatchObject({ family: "yolov5" });
    expect(layoutOf("object-detection", [[300, 6]], 1, false, "yolov10n")).toMatchObject({ family: "yolov10" });
  });

  test("falls back to the shapes when the model type names a family they do not fit", () => {
    expect(layoutOf("object-detection", [[9, 8400]], 5, false, "yolov5s")).toMatchObject({ family: "yolov8" });
  });

  test("names every family's expected shapes when nothing fits", () => {
    expect(() =>
      layoutOf(
        "object-detection",
        [
          [8400, 4],
          [8400, 3],
        ],
        5,
        false,
      ),
    ).toThrow(
      /Model package is broken.*YOLOv8 \[batch, 9 \(4 \+ 5 classes\), anchors\].*YOLOv5\/v7 \[batch, anchors, 10 \(5 \+ 5 classes\)\].*YOLO-NAS \[batch, anchors, 4\] and \[batch, anchors, 5\].*\[batch, detections, 6\].*got \[batch, 8400, 4\], \[batch, 8400, 3\]/,
    );
  });

  test("the model type selects the reference's detection families", () => {
    const cases: [string, string | null][] = [
      ["yolov5v2s", "yolov5"],
      ["yolov5v6n", "yolov5"],
      ["yolov7", "yolov5"],
      ["yolonas", "yolonas"],
      ["yolo_nas_m", "yolonas"],
      ["yolov10x", "yolov10"],
      ["yolo26n", "yolo26"],
      ["yolov8n", "yolov8"],
      ["yolov9", "yolov8"],
      ["yolov11s", "yolov8"],
      ["yolo11n", "yolov8"],
      ["yolov12l", "yolov8"],
      ["ort", null],
      ["", null],
    ];
    for (const [type, family] of cases) expect([type, familySelectedBy("object-detection", type)?.name ?? null]).toEqual([type, family]);
  });
});

describe("resolveFamily: classification families", () => {
  test("ViT and YOLOv8-cls use mean = std = 0.5", () => {
    for (const modelType of ["vit", "yolov8", "yolov8n", "yolov8x", ""]) {
      const { family } = resolveFamily("classification", modelType, [[3]], recognitionContext(3));
      expect(family.normalisation(modelType)).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    }
  });

  test("ResNet and DINOv3 use the ImageNet mean and std", () => {
    for (const modelType of ["resnet18", "resnet34", "resnet50", "resnet101", "dinov3", "dinov3_probe"]) {
      const { family } = resolveFamily("classification", modelType, [[3]], recognitionContext(3));
      expect(family.normalisation(modelType)).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    }
  });
});

describe("the family table", () => {
  test("names every family once, and each family's default model type selects it", () => {
    const names = FAMILIES.map((family) => family.name);
    expect(new Set(names).size).toBe(names.length);
    for (const family of FAMILIES) expect(family.selects(family.defaultModelType)).toBe(true);
  });
});

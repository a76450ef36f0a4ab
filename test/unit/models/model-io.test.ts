// Specification of what an ONNX image input's shape says about sizes and batching (TensorRT's shape range here).
import { describe, expect, test } from "bun:test";
import { inputShapeRange } from "../../../src/models/model-io.ts";

describe("inputShapeRange", () => {
  test("covers batches 1..MAX_BATCH_SIZE of a dynamic-batch model, tuned for the largest", () => {
    expect(inputShapeRange(["batch", 3, 640, 640], {}, 32)).toEqual({
      min: [1, 3, 640, 640],
      opt: [32, 3, 640, 640],
      max: [32, 3, 640, 640],
    });
  });

  test("takes symbolic height and width from the package's resize size", () => {
    expect(inputShapeRange(["batch", 3, "height", "width"], { width: 416, height: 320 }, 8)).toEqual({
      min: [1, 3, 320, 416],
      opt: [8, 3, 320, 416],
      max: [8, 3, 320, 416],
    });
  });

  test("keeps a fixed batch dimension while other dims are dynamic", () => {
    expect(inputShapeRange([4, 3, "h", "w"], { width: 640, height: 640 }, 32)).toEqual({
      min: [4, 3, 640, 640],
      opt: [4, 3, 640, 640],
      max: [4, 3, 640, 640],
    });
  });

  test("needs no range for a fully fixed input or one that is not an image batch", () => {
    expect(inputShapeRange([1, 3, 640, 640], {}, 32)).toBeNull();
    expect(inputShapeRange(["batch", 2], {}, 32)).toBeNull();
  });
});

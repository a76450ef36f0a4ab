// Specification of model id parsing (the guard in front of the model cache directory).
import { describe, expect, test } from "bun:test";
import { parseModelId } from "../../../src/models/model-id.ts";
import { resolveBatch, resolveInputSize } from "../../../src/models/model-io.ts";

describe("parseModelId", () => {
  test("splits dataset/version", () => {
    expect(parseModelId("bccd-i4nym/1")).toEqual({ dataset: "bccd-i4nym", version: "1", id: "bccd-i4nym/1" });
  });

  test("answers the reference's 400 for ids with more than one slash", () => {
    expect(() => parseModelId("a/b/1")).toThrow("Invalid Model ID sent in request.");
  });

  test("refuses ids that could leave the model cache directory", () => {
    for (const id of ["../1", "../../etc/1", "a/..", "./1", "/1", "a\\b/1", "a/1/", "..%2f/1"]) {
      expect(() => parseModelId(id)).toThrow("Invalid Model ID sent in request.");
    }
  });

  test("requires a numeric version", () => {
    expect(() => parseModelId("dataset")).toThrow();
    expect(() => parseModelId("dataset/v1")).toThrow();
  });
});

describe("model input resolution", () => {
  test("uses fixed ONNX dims, else the package's resize size, else 640", () => {
    expect(resolveInputSize(["batch", 3, 320, 416], {})).toEqual({ height: 320, width: 416 });
    expect(resolveInputSize(["batch", 3, "h", "w"], { width: 512, height: 384 })).toEqual({ height: 384, width: 512 });
    expect(resolveInputSize(["batch", 3, "h", "w"], {})).toEqual({ height: 640, width: 640 });
  });

  test("runs a fixed batch dim as is and batches a dynamic one up to MAX_BATCH_SIZE", () => {
    expect(resolveBatch([1, 3, 640, 640], 32)).toEqual({ capacity: 1, fixed: true });
    expect(resolveBatch(["batch", 3, 640, 640], 32)).toEqual({ capacity: 32, fixed: false });
    expect(resolveBatch(["?", 3, 640, 640], 8)).toEqual({ capacity: 8, fixed: false });
  });
});

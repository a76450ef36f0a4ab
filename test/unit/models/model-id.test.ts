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

  test("reads an id without an integer version as an instant model id, whole", () => {
    expect(parseModelId("my-instant-model")).toEqual({ version: null, id: "my-instant-model" });
    expect(parseModelId("dataset/v1")).toEqual({ version: null, id: "dataset/v1" });
    expect(parseModelId("workspace/my model.2")).toEqual({ version: null, id: "workspace/my model.2" });
  });

  test("still answers 400 for instant ids with more than one slash or an unsafe segment", () => {
    for (const id of ["a/b/c", "", "/", "..", "a/..", "a/../b", ".hidden", "a/.x", "a/b/", "-a", "a\\b", "a\u0000", "ａ"]) {
      expect(() => parseModelId(id)).toThrow("Invalid Model ID sent in request.");
    }
  });

  test("answers 400 for versions the reference would read as an integer but not as written (sign, `_`, trailing space, ten digits)", () => {
    for (const id of ["d/-1", "d/+1", "d/1_000", "d/1 ", "d/1234567890"]) expect(() => parseModelId(id)).toThrow("Invalid Model ID sent in request.");
    expect(parseModelId("d/1__0")).toEqual({ version: null, id: "d/1__0" });
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

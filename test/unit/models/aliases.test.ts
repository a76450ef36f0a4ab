// Specification of the reference's model aliases (docs/compatibility.md §3.1).
import { describe, expect, test } from "bun:test";
import { MODEL_ALIASES, requestedModel, resolveModelAlias } from "../../../src/models/aliases.ts";
import { parseModelId } from "../../../src/models/model-id.ts";

const id = parseModelId;

describe("aliases", () => {
  test("resolve as in the reference", () => {
    expect(resolveModelAlias("yolov8n-640")).toBe("coco/3");
    expect(resolveModelAlias("yolov8x-640")).toBe("coco/5");
    expect(resolveModelAlias("yolov8n-seg-640")).toBe("coco-dataset-vdnr1/2");
    expect(resolveModelAlias("yolov11n-640")).toBe("coco/25");
    expect(resolveModelAlias("yolo11n-640")).toBe("coco/25");
    expect(resolveModelAlias("coco/3")).toBe("coco/3");
    expect(resolveModelAlias("toString")).toBe("toString");
    for (const target of Object.values(MODEL_ALIASES)) expect(() => parseModelId(target)).not.toThrow();
  });

  test("a requested alias is loaded under its own name and runs the package it stands for", () => {
    expect(requestedModel("yolov8n-640")).toEqual({ key: "yolov8n-640", modelId: id("coco/3") });
    expect(requestedModel("coco/3")).toEqual({ key: "coco/3", modelId: id("coco/3") });
    expect(requestedModel("not-an-alias")).toEqual({ key: "not-an-alias", modelId: { version: null, id: "not-an-alias" } });
    expect(() => requestedModel("not/an/alias")).toThrow("Invalid Model ID sent in request.");
  });
});

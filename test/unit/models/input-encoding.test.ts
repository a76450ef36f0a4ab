// Specification of input encodings (docs/compatibility.md §4.1): which models get pixel slots, of which element.
import { describe, expect, test } from "bun:test";
import { expectedPixelEncoding, pixelEncodingFor, sameEncoding } from "../../../src/models/input-encoding.ts";
import type { ModelPackage } from "../../../src/models/package.ts";

const UNIT = { mean: [0, 0, 0], std: [1, 1, 1] } as const;
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

describe("pixelEncodingFor", () => {
  test("gives the letterbox whole 8-bit levels and Stretch to 8.8 fixed point, with the model's normalisation", () => {
    expect(pixelEncodingFor("compact", UNIT, "letterbox")).toEqual({ element: "uint8", ...UNIT });
    expect(pixelEncodingFor("compact", IMAGENET, "stretch")).toEqual({ element: "uint16", ...IMAGENET });
  });

  test("INPUT_ENCODING=uint8 rounds Stretch to as well; float32 keeps float tensors", () => {
    expect(pixelEncodingFor("uint8", UNIT, "stretch")).toEqual({ element: "uint8", ...UNIT });
    expect(pixelEncodingFor("float32", UNIT, "letterbox")).toBeNull();
  });

  test("keeps float tensors for a family that normalises before resizing", () => {
    expect(pixelEncodingFor("compact", { ...IMAGENET, normalisesBeforeResizing: true }, "stretch")).toBeNull();
    expect(pixelEncodingFor("uint8", { ...IMAGENET, normalisesBeforeResizing: true }, "letterbox")).toBeNull();
  });
});

describe("expectedPixelEncoding", () => {
  const pkg = (taskType: string, modelType: string, method: "stretch" | "letterbox") => ({ taskType, modelType, preprocessing: { resize: { method } } }) as unknown as ModelPackage;

  test("follows the family the model type names", () => {
    expect(expectedPixelEncoding("compact", pkg("object-detection", "rfdetr-nano", "stretch"))).toBeNull();
    expect(expectedPixelEncoding("compact", pkg("classification", "resnet50", "stretch"))).toEqual({ element: "uint16", ...IMAGENET });
    expect(expectedPixelEncoding("compact", pkg("object-detection", "yolov8n", "letterbox"))).toEqual({ element: "uint8", ...UNIT });
  });

  test("assumes 0-1 scaling when the model type names no family", () => {
    expect(expectedPixelEncoding("compact", pkg("object-detection", "", "stretch"))).toEqual({ element: "uint16", ...UNIT });
  });
});

describe("sameEncoding", () => {
  test("compares element and normalisation; null is float32", () => {
    expect(sameEncoding({ element: "uint8", ...UNIT }, { element: "uint8", mean: [0, 0, 0], std: [1, 1, 1] })).toBe(true);
    expect(sameEncoding({ element: "uint8", ...UNIT }, { element: "uint16", ...UNIT })).toBe(false);
    expect(sameEncoding({ element: "uint8", ...UNIT }, { element: "uint8", ...IMAGENET })).toBe(false);
    expect(sameEncoding(null, null)).toBe(true);
    expect(sameEncoding({ element: "uint8", ...UNIT }, null)).toBe(false);
  });
});

// Tests for src/vision/preprocess-config.ts: environment.json's PREPROCESSING read like the reference.

import { describe, expect, test } from "bun:test";
import { parsePreprocessing } from "../../../src/vision/preprocess-config.ts";

const FULL = {
  "auto-orient": { enabled: true },
  resize: { enabled: true, format: "Stretch to", width: 640, height: 480 },
  "static-crop": { enabled: true, x_min: 10, y_min: 20, x_max: 90, y_max: 80 },
  contrast: { enabled: true, type: "Adaptive Equalization" },
  grayscale: { enabled: true },
};

describe("parsePreprocessing", () => {
  test("reads every step of an object", () => {
    expect(parsePreprocessing(FULL)).toEqual({
      autoOrient: true,
      staticCrop: { xMin: 10, yMin: 20, xMax: 90, yMax: 80 },
      contrast: "Adaptive Equalization",
      grayscale: true,
      resize: { method: "stretch", padRgb: [0, 0, 0], width: 640, height: 480 },
    });
  });

  test("accepts the same settings as a JSON string", () => {
    expect(parsePreprocessing(JSON.stringify(FULL))).toEqual(parsePreprocessing(FULL));
  });

  test("an empty object means: no orientation, no crop, no contrast, no grayscale, stretch", () => {
    expect(parsePreprocessing({})).toEqual({
      autoOrient: false,
      staticCrop: null,
      contrast: null,
      grayscale: false,
      resize: { method: "stretch", padRgb: [0, 0, 0] },
    });
  });

  test("auto-orient depends on the key only, not on its enabled flag", () => {
    expect(parsePreprocessing({ "auto-orient": { enabled: false } }).autoOrient).toBe(true);
    expect(parsePreprocessing({ grayscale: { enabled: false } }).autoOrient).toBe(false);
  });

  test("disabled steps are off (and a disabled contrast's type is not read)", () => {
    const config = parsePreprocessing({
      "static-crop": { enabled: false, x_min: 10, y_min: 10, x_max: 90, y_max: 90 },
      contrast: { enabled: false, type: "Something Else" },
      grayscale: { enabled: false },
    });
    expect(config.staticCrop).toBeNull();
    expect(config.contrast).toBeNull();
    expect(config.grayscale).toBe(false);
  });

  test("enabled follows Python truthiness", () => {
    expect(parsePreprocessing({ grayscale: { enabled: 1 } }).grayscale).toBe(true);
    expect(parsePreprocessing({ grayscale: { enabled: "yes" } }).grayscale).toBe(true);
    expect(parsePreprocessing({ grayscale: { enabled: 0 } }).grayscale).toBe(false);
    expect(parsePreprocessing({ grayscale: { enabled: "" } }).grayscale).toBe(false);
    expect(parsePreprocessing({ grayscale: { enabled: null } }).grayscale).toBe(false);
  });

  test("each contrast type is recognised", () => {
    for (const type of ["Contrast Stretching", "Histogram Equalization", "Adaptive Equalization"]) {
      expect(parsePreprocessing({ contrast: { enabled: true, type } }).contrast).toBe(type as never);
    }
  });

  test("an unknown contrast type is an error, as it is a 500 in the reference", () => {
    expect(() => parsePreprocessing({ contrast: { enabled: true, type: "Auto Contrast" } })).toThrow(/contrast/);
  });

  test("a step without an enabled key is an error", () => {
    expect(() => parsePreprocessing({ grayscale: {} })).toThrow(/grayscale.*enabled/);
  });

  test("a static crop needs numeric bounds", () => {
    expect(() => parsePreprocessing({ "static-crop": { enabled: true, x_min: "10", y_min: 0, x_max: 90, y_max: 90 } })).toThrow(/x_min/);
  });

  test("missing, malformed or non-object PREPROCESSING is an error", () => {
    expect(() => parsePreprocessing(undefined)).toThrow(/missing/);
    expect(() => parsePreprocessing(null)).toThrow(/missing/);
    expect(() => parsePreprocessing("{not json")).toThrow(/not valid JSON/);
    expect(() => parsePreprocessing("[1, 2]")).toThrow(/object/);
    expect(() => parsePreprocessing(42)).toThrow(/object/);
  });
});

describe("parsePreprocessing resize methods (docs/compatibility.md §3.2)", () => {
  const resizeOf = (format: unknown) => parsePreprocessing({ resize: { enabled: true, format, width: 320, height: 320 } }).resize;

  test("Stretch to stretches", () => {
    expect(resizeOf("Stretch to")).toEqual({ method: "stretch", padRgb: [0, 0, 0], width: 320, height: 320 });
  });

  test("the three Fit (… edges) in formats letterbox with black, grey 114 and white", () => {
    expect(resizeOf("Fit (black edges) in")).toMatchObject({ method: "letterbox", padRgb: [0, 0, 0] });
    expect(resizeOf("Fit (grey edges) in")).toMatchObject({ method: "letterbox", padRgb: [114, 114, 114] });
    expect(resizeOf("Fit (white edges) in")).toMatchObject({ method: "letterbox", padRgb: [255, 255, 255] });
  });

  test("reflect edges, Fit within and Fill (with center crop) in letterbox with black edges", () => {
    for (const format of ["Fit (reflect edges) in", "Fit within", "Fill (with center crop) in"]) {
      expect(resizeOf(format)).toMatchObject({ method: "letterbox", padRgb: [0, 0, 0] });
    }
  });

  test("any other format, or none, stretches", () => {
    expect(resizeOf("Fit (purple edges) in").method).toBe("stretch");
    expect(resizeOf("constructor").method).toBe("stretch");
    expect(resizeOf(undefined).method).toBe("stretch");
    expect(parsePreprocessing({ resize: {} }).resize.method).toBe("stretch");
    expect(parsePreprocessing({ "auto-orient": { enabled: true } }).resize.method).toBe("stretch");
  });

  test("the resize's format applies even when its enabled flag is false (the reference checks only that resize is non-empty)", () => {
    expect(parsePreprocessing({ resize: { enabled: false, format: "Fit (grey edges) in" } }).resize.method).toBe("letterbox");
  });

  test("width and height are kept only when they are positive integers", () => {
    expect(parsePreprocessing({ resize: { format: "Stretch to", width: "640", height: 0 } }).resize).toEqual({
      method: "stretch",
      padRgb: [0, 0, 0],
    });
  });
});

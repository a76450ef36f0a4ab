// Tests for box rescaling: stretch and letterbox undo, static crop geometry, clipping, half-to-even rounding (through src/python-rounding.ts).
import { describe, expect, test } from "bun:test";
import { rescaleBoxes, responseBox, staticCropRegion, type RescaleGeometry } from "../../../src/vision/boxes.ts";

function rescaled(box: [number, number, number, number], geometry: RescaleGeometry): number[] {
  const boxes = Float64Array.from(box);
  rescaleBoxes(boxes, geometry);
  return Array.from(boxes);
}

const square640 = { inputWidth: 640, inputHeight: 640 };

describe("stretch", () => {
  test("scales x by w/W and y by h/H, then rounds half-to-even", () => {
    // 1280×720 into 640×640: ×2 and ×1.125; y 112.5 → 112, 337.5 → 338.
    const geometry: RescaleGeometry = { ...square640, imageWidth: 1280, imageHeight: 720, resize: "stretch", staticCrop: null };
    expect(rescaled([100, 100, 200, 300], geometry)).toEqual([200, 112, 400, 338]);
  });

  test("clips to the image before rounding", () => {
    const geometry: RescaleGeometry = { ...square640, imageWidth: 640, imageHeight: 480, resize: "stretch", staticCrop: null };
    expect(rescaled([-10, -5, 700, 660], geometry)).toEqual([0, 0, 640, 480]);
  });
});

describe("letterbox", () => {
  test("undoes a landscape letterbox: s = 0.5, vertical padding 140", () => {
    // 1280×720: s = min(640/720, 640/1280) = 0.5, inter 640×360, pad_y = (640 - 360) / 2 = 140.
    const geometry: RescaleGeometry = { ...square640, imageWidth: 1280, imageHeight: 720, resize: "letterbox", staticCrop: null };
    expect(rescaled([100, 150, 300, 400], geometry)).toEqual([200, 20, 600, 520]);
  });

  test("undoes a portrait letterbox: s = 1.28, horizontal padding 107", () => {
    // 333×500: s = 1.28, inter_w = round(426.24) = 426, pad_x = 107; x 93/1.28 = 72.66 → 73, 193/1.28 = 150.78 → 151.
    const geometry: RescaleGeometry = { ...square640, imageWidth: 333, imageHeight: 500, resize: "letterbox", staticCrop: null };
    expect(rescaled([200, 64, 300, 128], geometry)).toEqual([73, 50, 151, 100]);
    expect(rescaled([107, 0, 533, 640], geometry)).toEqual([0, 0, 333, 500]);
  });

  test("undoes a half-pixel padding (pad_y = 105.5)", () => {
    // 300×201: s = 640/300, inter_h = round(428.8) = 429, pad_y = (640 - 429) / 2 = 105.5.
    const geometry: RescaleGeometry = { ...square640, imageWidth: 300, imageHeight: 201, resize: "letterbox", staticCrop: null };
    expect(rescaled([0, 105.5, 640, 169.5], geometry)).toEqual([0, 0, 300, 30]);
  });

  test("pads by the rounded resized size, not the truncated one preprocessing used", () => {
    // 100×150: s = 640/150, w*s = 426.67 → 427 (preprocessing used 426), pad_x = 106.5.
    const geometry: RescaleGeometry = { ...square640, imageWidth: 100, imageHeight: 150, resize: "letterbox", staticCrop: null };
    expect(rescaled([106.5, 0, 533.5, 640], geometry)).toEqual([0, 0, 100, 150]);
  });

  test("clips letterbox padding area boxes to the image", () => {
    const geometry: RescaleGeometry = { ...square640, imageWidth: 1280, imageHeight: 720, resize: "letterbox", staticCrop: null };
    expect(rescaled([0, 0, 640, 640], geometry)).toEqual([0, 0, 1280, 720]);
  });
});

describe("static crop", () => {
  test("shift and size are the crop percentages of the image, rounded half-to-even", () => {
    // 1% of 250 = 2.5 → 2, 3% of 200 = 6; width 250 × 0.49 = 122.5 → 122, height 200 × 0.5 = 100.
    expect(staticCropRegion(250, 200, { xMin: 1, yMin: 3, xMax: 50, yMax: 53 })).toEqual({ shiftX: 2, shiftY: 6, width: 122, height: 100 });
  });

  test("without a crop the region is the whole image", () => {
    expect(staticCropRegion(640, 480, null)).toEqual({ shiftX: 0, shiftY: 0, width: 640, height: 480 });
  });

  test("rescales relative to the cropped region, clips to it, then adds the crop shift", () => {
    // 1000×800 cropped to x 10–60 %, y 25–75 %: shift (100, 200), region 500×400 stretched to 640×640.
    const geometry: RescaleGeometry = {
      ...square640,
      imageWidth: 1000,
      imageHeight: 800,
      resize: "stretch",
      staticCrop: { xMin: 10, yMin: 25, xMax: 60, yMax: 75 },
    };
    expect(rescaled([64, 64, 640, 640], geometry)).toEqual([150, 240, 600, 600]);
    // x2 = 700 × 500/640 = 546.9 is clipped to the region's 500 before the shift.
    expect(rescaled([-64, 0, 700, 320], geometry)).toEqual([100, 200, 600, 400]);
  });

  test("letterbox inside a static crop uses the cropped size", () => {
    // 1000×800 cropped to its left half: region 500×800, s = 0.8, inter_w = 400, pad_x = 120.
    const geometry: RescaleGeometry = {
      ...square640,
      imageWidth: 1000,
      imageHeight: 800,
      resize: "letterbox",
      staticCrop: { xMin: 50, yMin: 0, xMax: 100, yMax: 100 },
    };
    expect(rescaled([120, 0, 520, 640], geometry)).toEqual([500, 0, 1000, 800]);
  });
});

describe("responseBox", () => {
  test("centre is the corner midpoint (a multiple of 0.5), size the corner difference", () => {
    expect(responseBox(10, 20, 31, 41)).toEqual({ x: 20.5, y: 30.5, width: 21, height: 21 });
  });
});

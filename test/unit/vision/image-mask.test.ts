// Tests of masks at original-image resolution: nearest sampling through the inverse of polygon rescaling, windows, letterbox padding and static crop.
import { describe, expect, test } from "bun:test";
import type { RescaleGeometry } from "../../../src/vision/boxes.ts";
import { maskAtImageResolution } from "../../../src/vision/image-mask.ts";
import type { MaskWindow } from "../../../src/vision/masks.ts";

const geometry = (extra: Partial<RescaleGeometry>): RescaleGeometry => ({
  inputWidth: 8,
  inputHeight: 8,
  imageWidth: 8,
  imageHeight: 8,
  resize: "stretch",
  staticCrop: null,
  ...extra,
});

/** Rows of a row-major mask as strings of 0/1. */
function rows(mask: Uint8Array, width: number): string[] {
  return Array.from({ length: mask.length / width }, (_, y) => Array.from(mask.subarray(y * width, (y + 1) * width)).join(""));
}

const full = (width: number, height: number): MaskWindow => ({ left: 0, top: 0, width, height, data: new Uint8Array(width * height).fill(1) });

describe("maskAtImageResolution", () => {
  test("stretch: each image pixel takes the mask pixel under its centre", () => {
    // A 2x2 mask with its top-right pixel set, for a 4x6 image: 2 columns and 3 rows per mask pixel.
    const window: MaskWindow = { left: 0, top: 0, width: 2, height: 2, data: Uint8Array.of(0, 1, 0, 0) };
    expect(rows(maskAtImageResolution(window, 2, 2, geometry({ imageWidth: 4, imageHeight: 6 })), 4)).toEqual(["0011", "0011", "0011", "0000", "0000", "0000"]);
  });

  test("a window sits at its offset in the full mask; outside it the mask is 0", () => {
    // A 1x1 window at (1, 0) of a 4x2 mask, for an 8x4 image.
    const window: MaskWindow = { left: 1, top: 0, width: 1, height: 1, data: Uint8Array.of(1) };
    expect(rows(maskAtImageResolution(window, 4, 2, geometry({ imageWidth: 8, imageHeight: 4 })), 8)).toEqual(["00110000", "00110000", "00000000", "00000000"]);
  });

  test("letterbox: the padding of the mask maps nowhere", () => {
    // An 8x4 image letterboxed into an 8x8 mask: s = 1, pad_y = 2; only mask rows 2..5 reach the image.
    const window: MaskWindow = { left: 0, top: 0, width: 8, height: 8, data: Uint8Array.from({ length: 64 }, (_, i) => (Math.floor(i / 8) <= 2 ? 1 : 0)) };
    expect(rows(maskAtImageResolution(window, 8, 8, geometry({ imageHeight: 4, resize: "letterbox" })), 8)).toEqual(["11111111", "00000000", "00000000", "00000000"]);
  });

  test("static crop: pixels outside the crop region are 0, inside it the mask is placed at the shift", () => {
    // An 8x8 image cropped to its right half and bottom half: region 4x4 at (4, 4).
    const mask = maskAtImageResolution(full(2, 2), 2, 2, geometry({ staticCrop: { xMin: 50, yMin: 50, xMax: 100, yMax: 100 } }));
    expect(rows(mask, 8)).toEqual(["00000000", "00000000", "00000000", "00000000", "00001111", "00001111", "00001111", "00001111"]);
  });

  test("maps one to one when the mask has the image's size", () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    expect(maskAtImageResolution({ left: 0, top: 0, width: 4, height: 3, data }, 4, 3, geometry({ imageWidth: 4, imageHeight: 3 }))).toEqual(data);
  });
});

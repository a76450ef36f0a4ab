// Tests for src/vision/resize.ts: OpenCV INTER_LINEAR resizing and letterboxing into normalised CHW tensors.

import { describe, expect, test } from "bun:test";
import type { RgbImage } from "../../../src/vision/decode.ts";
import { letterboxPixelsInto, letterboxGeometry, letterboxInto, resizeRgb, stretchPixelsInto, stretchInto, type Normalisation } from "../../../src/vision/resize.ts";

const UNIT: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] };

/** An RGB image whose three channels all equal the given grey rows. */
function greyImage(rows: number[][]): RgbImage {
  const height = rows.length;
  const width = rows[0]!.length;
  const data = new Uint8Array(width * height * 3);
  rows.flat().forEach((value, i) => data.fill(value, i * 3, i * 3 + 3));
  return { data, width, height };
}

function solidImage(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { data, width, height };
}

/** Channel c of an 8-bit RGB image as rows. */
function channelRows(image: RgbImage, c: number): number[][] {
  return Array.from({ length: image.height }, (_, y) => Array.from({ length: image.width }, (_, x) => image.data[(y * image.width + x) * 3 + c]!));
}

/** Plane c of a CHW tensor as rows, scaled back by 255. */
function planeRows(tensor: Float32Array, width: number, height: number, c: number): number[][] {
  return Array.from({ length: height }, (_, y) => Array.from(tensor.subarray(c * width * height + y * width, c * width * height + (y + 1) * width), (v) => v * 255));
}

function expectRowsClose(actual: number[][], expected: number[][], digits: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, y) => row.forEach((value, x) => expect(value).toBeCloseTo(expected[y]![x]!, digits)));
}

// Expected values below are what cv2.resize(..., interpolation=INTER_LINEAR) returns; the simple
// ones can be checked by hand with src = (dst + 0.5) * (srcSize / dstSize) - 0.5.
describe("resizeRgb (8-bit, OpenCV fixed-point INTER_LINEAR)", () => {
  test("4x4 -> 2x2 averages each 2x2 block, rounding half up", () => {
    const image = greyImage([
      [0, 10, 20, 30],
      [40, 50, 60, 70],
      [80, 90, 100, 110],
      [120, 130, 140, 255],
    ]);
    expect(channelRows(resizeRgb(image, 2, 2), 0)).toEqual([
      [25, 45],
      [105, 151],
    ]);
  });

  test("2x2 -> 4x4 interpolates at quarter positions and repeats the edges", () => {
    const image = greyImage([
      [0, 100],
      [200, 255],
    ]);
    expect(channelRows(resizeRgb(image, 4, 4), 0)).toEqual([
      [0, 25, 75, 100],
      [50, 72, 117, 139],
      [150, 167, 200, 216],
      [200, 214, 241, 255],
    ]);
  });

  test("3x1 -> 7x1 clamps positions outside the source to the border pixels", () => {
    expect(channelRows(resizeRgb(greyImage([[10, 200, 30]]), 7, 1), 0)).toEqual([[10, 37, 119, 200, 127, 54, 30]]);
  });

  test("non-integer ratios, downscaling 5x3 -> 3x2 and upscaling 5x3 -> 8x5", () => {
    const image = greyImage([
      [0, 50, 100, 150, 200],
      [255, 205, 155, 105, 55],
      [7, 77, 177, 17, 117],
    ]);
    expect(channelRows(resizeRgb(image, 3, 2), 0)).toEqual([
      [72, 114, 155],
      [82, 172, 80],
    ]);
    expect(channelRows(resizeRgb(image, 8, 5), 0)).toEqual([
      [0, 22, 53, 84, 115, 147, 178, 200],
      [102, 106, 112, 119, 125, 131, 137, 142],
      [255, 233, 202, 171, 139, 108, 77, 55],
      [106, 116, 130, 155, 132, 59, 74, 92],
      [7, 38, 83, 146, 127, 27, 73, 117],
    ]);
  });

  test("channels are resized independently and stay interleaved", () => {
    const image: RgbImage = { data: new Uint8Array([0, 255, 10, 100, 55, 30]), width: 2, height: 1 };
    expect(Array.from(resizeRgb(image, 4, 1).data)).toEqual([0, 255, 10, 25, 205, 15, 75, 105, 25, 100, 55, 30]);
  });

  test("the same size is an exact copy", () => {
    const image = greyImage([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(resizeRgb(image, 3, 2).data).toEqual(image.data);
  });
});

describe("stretchInto (float resize, as the reference's float32 cv2.resize)", () => {
  test("2x2 -> 4x4 keeps fractional values (no rounding to 8 bits)", () => {
    const target = new Float32Array(3 * 16);
    stretchInto(
      greyImage([
        [0, 100],
        [200, 255],
      ]),
      4,
      4,
      target,
      UNIT,
    );
    const expected = [
      [0, 25, 75, 100],
      [50, 72.1875, 116.5625, 138.75],
      [150, 166.5625, 199.6875, 216.25],
      [200, 213.75, 241.25, 255],
    ];
    for (let c = 0; c < 3; c++) expectRowsClose(planeRows(target, 4, 4, c), expected, 4);
  });

  test("3x1 -> 7x1 and 5x3 -> 3x2 match OpenCV's float results", () => {
    const wide = new Float32Array(3 * 7);
    stretchInto(greyImage([[10, 200, 30]]), 7, 1, wide, UNIT);
    expectRowsClose(planeRows(wide, 7, 1, 0), [[10, 37.142857, 118.571429, 200, 127.142857, 54.285714, 30]], 3);
    const small = new Float32Array(3 * 6);
    stretchInto(
      greyImage([
        [0, 50, 100, 150, 200],
        [255, 205, 155, 105, 55],
        [7, 77, 177, 17, 117],
      ]),
      3,
      2,
      small,
      UNIT,
    );
    expectRowsClose(
      planeRows(small, 3, 2, 1),
      [
        [72.083333, 113.75, 155.416667],
        [82.333333, 171.5, 80.666667],
      ],
      3,
    );
  });

  test("writes CHW planes in R, G, B order", () => {
    const target = new Float32Array(3 * 4);
    stretchInto(solidImage(3, 3, [255, 0, 51]), 2, 2, target, UNIT);
    expect(Array.from(target)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0.2, 0.2, 0.2, 0.2].map(Math.fround));
  });

  test("applies (v / 255 - mean) / std per channel", () => {
    const target = new Float32Array(3 * 4);
    stretchInto(solidImage(5, 5, [255, 0, 51]), 2, 2, target, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(target[0]).toBeCloseTo(1, 6);
    expect(target[4]).toBeCloseTo(-1, 6);
    expect(target[8]).toBeCloseTo(-0.6, 6);
    const imagenet = new Float32Array(3);
    stretchInto(solidImage(1, 1, [255, 255, 255]), 1, 1, imagenet, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(imagenet[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(imagenet[2]).toBeCloseTo((1 - 0.406) / 0.225, 5);
  });

  test("refuses a target too small for the tensor", () => {
    expect(() => stretchInto(solidImage(2, 2, [1, 2, 3]), 4, 4, new Float32Array(47), UNIT)).toThrow(RangeError);
  });
});

describe("letterboxGeometry (the reference's int() truncation and centring)", () => {
  test("landscape fills the width and pads top and bottom", () => {
    expect(letterboxGeometry(1280, 720, 640, 640)).toEqual({ width: 640, height: 360, left: 0, top: 140 });
  });

  test("portrait fills the height and pads left and right, truncating the width", () => {
    // 640 * (333 / 500) = 426.24 -> 426; (640 - 426) // 2 = 107.
    expect(letterboxGeometry(333, 500, 640, 640)).toEqual({ width: 426, height: 640, left: 107, top: 0 });
  });

  test("the odd padding pixel goes to the bottom/right", () => {
    // 640 / (100 / 49) = 313.6 -> 313; top (640 - 313) // 2 = 163, bottom 164.
    expect(letterboxGeometry(100, 49, 640, 640)).toEqual({ width: 640, height: 313, left: 0, top: 163 });
  });

  test("the same aspect ratio needs no padding", () => {
    expect(letterboxGeometry(1280, 960, 640, 480)).toEqual({ width: 640, height: 480, left: 0, top: 0 });
  });

  test("non-square targets compare ratios (ties resize by width)", () => {
    expect(letterboxGeometry(1280, 720, 320, 640)).toEqual({ width: 320, height: 180, left: 0, top: 230 });
    expect(letterboxGeometry(300, 600, 320, 640)).toEqual({ width: 320, height: 640, left: 0, top: 0 });
  });
});

describe("letterboxInto", () => {
  test("landscape: content rows in the middle, padding colour above and below", () => {
    const target = new Float32Array(3 * 8 * 8);
    letterboxInto(solidImage(4, 2, [10, 20, 30]), 8, 8, [114, 114, 114], target, UNIT);
    const red = planeRows(target, 8, 8, 0).map((row) => row.map(Math.round));
    expect(red.map((row) => row[0])).toEqual([114, 114, 10, 10, 10, 10, 114, 114]);
    expect(new Set(red[3])).toEqual(new Set([10]));
    expect(planeRows(target, 8, 8, 2)[4]!.map(Math.round)).toEqual(Array(8).fill(30));
  });

  test("portrait: content columns in the middle, padding left and right", () => {
    const target = new Float32Array(3 * 8 * 8);
    letterboxInto(solidImage(3, 6, [200, 100, 0]), 8, 8, [255, 255, 255], target, UNIT);
    // new_w = int(8 * 0.5) = 4, left = 2.
    const green = planeRows(target, 8, 8, 1).map((row) => row.map(Math.round));
    for (const row of green) expect(row).toEqual([255, 255, 100, 100, 100, 100, 255, 255]);
  });

  test("resizes the content with 8-bit rounding, as the reference letterboxes uint8 images", () => {
    const target = new Float32Array(3 * 4 * 4);
    const image = greyImage([
      [0, 100],
      [200, 255],
    ]);
    letterboxInto(image, 4, 4, [0, 0, 0], target, UNIT);
    expect(planeRows(target, 4, 4, 0).map((row) => row.map(Math.round))).toEqual(channelRows(resizeRgb(image, 4, 4), 0));
    expect(target[5]! * 255).toBeCloseTo(72, 4);
  });

  test("pads with the normalised padding colour", () => {
    const target = new Float32Array(3 * 4 * 4);
    letterboxInto(solidImage(4, 2, [0, 0, 0]), 4, 4, [114, 114, 114], target, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(target[0]).toBeCloseTo((114 / 255 - 0.5) / 0.5, 6);
    expect(target[4]).toBeCloseTo(-1, 6);
  });

  test("an image too thin to keep a row after scaling is refused", () => {
    expect(() => letterboxInto(solidImage(1000, 1, [1, 1, 1]), 64, 64, [0, 0, 0], new Float32Array(3 * 64 * 64), UNIT)).toThrow(RangeError);
  });
});

/** A noisy photo-like image: every channel and position differs. */
function noisyImage(width: number, height: number): RgbImage {
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 97 + ((i * i) % 251)) % 256);
  return { data, width, height };
}

describe("pixel-input slots (CHW pixels the model converts itself, docs/compatibility.md §4.1)", () => {
  test("letterboxPixelsInto holds the pixels letterboxInto normalises, padding included", () => {
    for (const [w, h] of [
      [37, 23],
      [23, 37],
      [64, 48],
      [640, 480],
    ] as const) {
      const image = noisyImage(w, h);
      const bytes = new Uint8Array(48 * 40 * 3);
      const floats = new Float32Array(3 * 48 * 40);
      letterboxPixelsInto(image, 48, 40, [114, 115, 116], bytes);
      letterboxInto(image, 48, 40, [114, 115, 116], floats, UNIT);
      for (let y = 0; y < 40; y++) {
        for (let x = 0; x < 48; x++) {
          for (let c = 0; c < 3; c++) expect(floats[c * 48 * 40 + y * 48 + x]).toBe(Math.fround(bytes[c * 48 * 40 + y * 48 + x]! / 255));
        }
      }
    }
  });

  test("stretchPixelsInto copies an image of the model's size", () => {
    const image = noisyImage(53, 31);
    const same = new Uint8Array(53 * 31 * 3);
    stretchPixelsInto(image, 53, 31, same);
    expect(Array.from(same.subarray(0, 53 * 31))).toEqual(Array.from(channelRows(image, 0).flat()));
    expect(Array.from(same.subarray(2 * 53 * 31))).toEqual(Array.from(channelRows(image, 2).flat()));
  });

  test("stretchPixelsInto is the reference's float resize rounded to the nearest level, or 1/256 level in 16 bits", () => {
    const image = noisyImage(101, 77);
    const floats = new Float32Array(3 * 64 * 48);
    stretchInto(image, 64, 48, floats, UNIT);
    for (const [target, scale] of [
      [new Uint8Array(64 * 48 * 3), 1],
      [new Uint16Array(64 * 48 * 3), 256],
    ] as const) {
      stretchPixelsInto(image, 64, 48, target);
      let worst = 0;
      for (let i = 0; i < 64 * 48; i++) {
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(target[c * 64 * 48 + i]! / scale - floats[c * 64 * 48 + i]! * 255));
      }
      expect(worst).toBeLessThanOrEqual(0.5 / scale + 1e-4);
      expect(worst).toBeGreaterThan(0.25 / scale);
    }
  });

  test("stretchPixelsInto writes whole levels times 256 in 16 bits when no resize is needed", () => {
    const image = noisyImage(8, 6);
    const target = new Uint16Array(8 * 6 * 3);
    stretchPixelsInto(image, 8, 6, target);
    expect(Array.from(target)).toEqual(
      [0, 1, 2].flatMap((c) =>
        channelRows(image, c)
          .flat()
          .map((v) => v * 256),
      ),
    );
  });

  test("refuses a target too small for the image", () => {
    expect(() => stretchPixelsInto(noisyImage(4, 4), 8, 8, new Uint8Array(8 * 8 * 3 - 1))).toThrow(RangeError);
    expect(() => letterboxPixelsInto(noisyImage(4, 4), 8, 8, [0, 0, 0], new Uint8Array(10))).toThrow(RangeError);
  });
});

// Tests of float resizing: RF-DETR's normalise-then-resize preprocessing (docs/model-families.md §1.3) and bilinear float planes, against hand-computed values.
import { describe, expect, test } from "bun:test";
import { IMAGENET_NORMALISATION } from "../../../src/models/families/class-scores.ts";
import type { RgbImage } from "../../../src/vision/decode.ts";
import { normalisedPlanes, resizePlane, resizePlanesInto, letterboxTarget, normaliseThenResizeInto } from "../../../src/vision/float-resize.ts";
import type { ResizeConfig } from "../../../src/vision/preprocess-config.ts";

const IDENTITY = { mean: [0, 0, 0], std: [1, 1, 1] } as const;

/** An image from rows of [R, G, B] pixels. */
function imageOf(rows: [number, number, number][][]): RgbImage {
  return { data: Uint8Array.from(rows.flat(2)), width: rows[0]!.length, height: rows.length };
}

/** One CHW plane of a tensor as rows. */
function planeRows(tensor: Float32Array, width: number, height: number, channel: number): number[][] {
  return Array.from({ length: height }, (_, y) => Array.from(tensor.subarray(channel * width * height + y * width, channel * width * height + (y + 1) * width)));
}

const f = Math.fround;
const stretchTo = (width: number, height: number): ResizeConfig => ({ method: "stretch", padRgb: [0, 0, 0], width, height });
const letterbox = (padRgb: [number, number, number], width?: number, height?: number): ResizeConfig => ({ method: "letterbox", padRgb, width, height });

describe("normalisedPlanes", () => {
  test("divides by 255, subtracts the mean and divides by the std, per channel, in float32 steps", () => {
    const planes = normalisedPlanes(imageOf([[[255, 0, 128]]]), IMAGENET_NORMALISATION);
    // (1 - 0.485) / 0.229 = 2.24891..., (0 - 0.456) / 0.224 = -2.03571..., (128/255 - 0.406) / 0.225 = 0.42649...
    expect(planes[0]).toBeCloseTo(2.248908, 5);
    expect(planes[1]).toBeCloseTo(-2.035714, 5);
    expect(planes[2]).toBeCloseTo(0.426492, 5);
    expect(planes[2]).toBe(f(f(f(128 / 255) - f(0.406)) / f(0.225)));
  });

  test("lays pixels out as CHW planes", () => {
    expect(
      Array.from(
        normalisedPlanes(
          imageOf([
            [
              [255, 0, 51],
              [0, 255, 102],
            ],
          ]),
          IDENTITY,
        ),
      ),
    ).toEqual([1, 0, 0, 1, f(0.2), f(0.4)]);
  });
});

describe("resizePlane", () => {
  test("upscales with half-pixel centres and repeats the edge pixel", () => {
    // Target x = 0..3 read source positions -0.25, 0.25, 0.75, 1.25.
    expect(Array.from(resizePlane(Float32Array.of(0, 8), 2, 1, 4, 1))).toEqual([0, 2, 6, 8]);
  });

  test("downscales by two as the mean of pixel pairs", () => {
    expect(Array.from(resizePlane(Float32Array.of(1, 3, 10, 20), 4, 1, 2, 1))).toEqual([2, 15]);
  });

  test("interpolates rows and columns: 2x2 to 4x4", () => {
    const out = resizePlane(Float32Array.of(0, 4, 8, 12), 2, 2, 4, 4);
    expect(planeRows(out, 4, 4, 0)).toEqual([
      [0, 1, 3, 4],
      [2, 3, 5, 6],
      [6, 7, 9, 10],
      [8, 9, 11, 12],
    ]);
  });

  test("keeps values outside [0, 255]: logits resize as floats", () => {
    expect(Array.from(resizePlane(Float32Array.of(-30, 10), 2, 1, 4, 1))).toEqual([-30, -20, 0, 10]);
  });

  test("copies when the size does not change", () => {
    const source = Float32Array.of(0.1, -2, 3e9, 7);
    expect(resizePlane(source, 2, 2, 2, 2)).toEqual(source);
  });

  test("writes only inside the region of the canvas", () => {
    const canvas = new Float32Array(2 * 3 * 3).fill(-1);
    resizePlanesInto(Float32Array.of(5, 6), 1, 1, 2, canvas, 3, 3, { left: 1, top: 1, width: 2, height: 1 });
    expect(planeRows(canvas, 3, 3, 0)).toEqual([
      [-1, -1, -1],
      [-1, 5, 5],
      [-1, -1, -1],
    ]);
    expect(planeRows(canvas, 3, 3, 1)[1]).toEqual([-1, 6, 6]);
    expect(() => resizePlanesInto(Float32Array.of(5), 1, 1, 1, canvas, 3, 3, { left: 2, top: 0, width: 2, height: 1 })).toThrow("does not fit");
  });
});

describe("letterboxTarget", () => {
  test("is the input size unless a letterbox names a non-square size for a square input", () => {
    expect(letterboxTarget(stretchTo(640, 480), 384, 384)).toEqual({ width: 384, height: 384 });
    expect(letterboxTarget(letterbox([0, 0, 0], 640, 480), 384, 384)).toEqual({ width: 640, height: 480 });
    expect(letterboxTarget(letterbox([0, 0, 0], 384, 384), 384, 384)).toEqual({ width: 384, height: 384 });
    expect(letterboxTarget(letterbox([0, 0, 0], 640, 480), 384, 320)).toEqual({ width: 384, height: 320 });
    expect(letterboxTarget(letterbox([0, 0, 0], 640), 384, 384)).toEqual({ width: 640, height: 384 });
    expect(letterboxTarget(letterbox([0, 0, 0]), 384, 384)).toEqual({ width: 384, height: 384 });
  });
});

describe("normaliseThenResizeInto", () => {
  test("stretch resizes the normalised image, not the 8-bit one", () => {
    // R of a 2x1 image 0 and 255, to 4x1: normalised -0.485/0.229 and 0.515/0.229, blended 3:1 and 1:3.
    const target = new Float32Array(3 * 4);
    normaliseThenResizeInto(
      imageOf([
        [
          [0, 0, 0],
          [255, 0, 0],
        ],
      ]),
      stretchTo(4, 1),
      4,
      1,
      target,
      IMAGENET_NORMALISATION,
    );
    const low = f(f(0 - f(0.485)) / f(0.229));
    const high = f(f(1 - f(0.485)) / f(0.229));
    expect(Array.from(target.subarray(0, 4))).toEqual([low, f(f(0.75 * low + 0.25 * high)), f(f(0.25 * low + 0.75 * high)), high]);
  });

  test("letterbox pads with the colour in normalised units: grey is 114.0", () => {
    // A 4x2 image in a 4x4 input: no resize, one padding row above and below.
    const target = new Float32Array(3 * 16);
    normaliseThenResizeInto(
      imageOf([
        [
          [0, 0, 0],
          [51, 0, 0],
          [102, 0, 0],
          [255, 0, 0],
        ],
        [
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
      ]),
      letterbox([114, 114, 114]),
      4,
      4,
      target,
      IDENTITY,
    );
    expect(planeRows(target, 4, 4, 0)).toEqual([
      [114, 114, 114, 114],
      [0, f(0.2), f(0.4), 1],
      [0, 0, 0, 0],
      [114, 114, 114, 114],
    ]);
    expect(planeRows(target, 4, 4, 2)[0]).toEqual([114, 114, 114, 114]);
  });

  test("black padding is 0.0, the channel mean once normalised", () => {
    const target = new Float32Array(3 * 4).fill(9);
    normaliseThenResizeInto(imageOf([[[255, 255, 255]]]), letterbox([0, 0, 0]), 2, 2, target, IMAGENET_NORMALISATION);
    // 1x1 into 2x2: resized to 2x2 (aspect kept), so no padding at all; a 2x1 image pads a row instead.
    expect(Array.from(target.subarray(0, 4))).toEqual(Array(4).fill(f(f(1 - f(0.485)) / f(0.229))));
    const wide = new Float32Array(3 * 4).fill(9);
    normaliseThenResizeInto(
      imageOf([
        [
          [255, 255, 255],
          [255, 255, 255],
        ],
      ]),
      letterbox([0, 0, 0]),
      2,
      2,
      wide,
      IMAGENET_NORMALISATION,
    );
    // 2x1 into 2x2: height int(2 / 2) = 1, top (2 - 1) // 2 = 0: the bottom row is padding.
    expect(Array.from(wide.subarray(0, 4))).toEqual([f(f(1 - f(0.485)) / f(0.229)), f(f(1 - f(0.485)) / f(0.229)), 0, 0]);
  });

  test("non-square flag: letterbox into PREPROCESSING's size, then stretch that to the input", () => {
    // A 2x2 image, resize 4x2 (non-square) for a 4x4 input: letterboxed 2x2 at left 1 in a 4x2 canvas
    // (white padding, 255.0), then stretched 4x2 -> 4x4 (rows only: 0, 3:1, 1:3, 1).
    const target = new Float32Array(3 * 16);
    normaliseThenResizeInto(
      imageOf([
        [
          [0, 0, 0],
          [51, 0, 0],
        ],
        [
          [102, 0, 0],
          [255, 0, 0],
        ],
      ]),
      letterbox([255, 255, 255], 4, 2),
      4,
      4,
      target,
      IDENTITY,
    );
    const top = [255, 0, f(0.2), 255];
    const bottom = [255, f(0.4), 1, 255];
    const blend = (a: number, b: number, wa: number) => f(f(a * wa + b * (1 - wa)));
    expect(planeRows(target, 4, 4, 0)).toEqual([top, top.map((v, i) => blend(v, bottom[i]!, 0.75)), top.map((v, i) => blend(v, bottom[i]!, 0.25)), bottom]);
  });

  test("refuses a target too small for the input", () => {
    expect(() => normaliseThenResizeInto(imageOf([[[0, 0, 0]]]), stretchTo(4, 4), 4, 4, new Float32Array(47), IMAGENET_NORMALISATION)).toThrow("a 4x4 CHW tensor needs 48");
  });
});

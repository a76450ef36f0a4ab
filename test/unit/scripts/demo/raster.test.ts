import { describe, expect, test } from "bun:test";
import { maskIou, rasteriseRings } from "../../../../scripts/demo/raster.ts";

const square = (x0: number, y0: number, x1: number, y1: number) => [x0, y0, x1, y0, x1, y1, x0, y1];
const count = (mask: Uint8Array) => mask.reduce((sum, v) => sum + v, 0);

describe("rasteriseRings", () => {
  test("fills the pixels whose centres lie inside a polygon", () => {
    const mask = rasteriseRings([square(2, 3, 7, 5)], 10, 10);
    expect(count(mask)).toBe(5 * 2);
    expect(mask[3 * 10 + 2]).toBe(1);
    expect(mask[3 * 10 + 7]).toBe(0);
    expect(mask[5 * 10 + 2]).toBe(0);
  });

  test("leaves a ring inside another empty (even-odd: a hex nut's hole)", () => {
    const mask = rasteriseRings([square(0, 0, 10, 10), square(3, 3, 7, 7)], 10, 10);
    expect(count(mask)).toBe(100 - 16);
    expect(mask[5 * 10 + 5]).toBe(0);
  });

  test("clips polygons that reach outside the image", () => {
    expect(count(rasteriseRings([square(-5, -5, 3, 3)], 10, 10))).toBe(9);
    expect(count(rasteriseRings([square(20, 20, 30, 30)], 10, 10))).toBe(0);
  });
});

describe("maskIou", () => {
  test("is intersection over union, and 0 for two empty masks", () => {
    const a = rasteriseRings([square(0, 0, 4, 4)], 8, 8);
    const b = rasteriseRings([square(2, 0, 6, 4)], 8, 8);
    expect(maskIou(a, b)).toBeCloseTo(8 / 24);
    expect(maskIou(a, a)).toBe(1);
    expect(maskIou(new Uint8Array(4), new Uint8Array(4))).toBe(0);
  });
});

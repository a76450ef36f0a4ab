// Tests of COCO compressed RLE: the spec's examples (§5) character for character, and round trips.
import { describe, expect, test } from "bun:test";
import { decodeRle, decodeRunLengths, encodeRle, encodeRunLengths, maskRunLengths } from "../../../src/vision/rle.ts";

/** A row-major mask from rows of 0/1. */
function maskOf(rows: number[][]): { mask: Uint8Array; width: number; height: number } {
  return { mask: Uint8Array.from(rows.flat()), width: rows[0]!.length, height: rows.length };
}

/** mulberry32, for reproducible random masks. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("encodeRle", () => {
  test('scans columns first and starts with a 0-run: the spec\'s 3x4 example is "32103"', () => {
    const { mask, width, height } = maskOf([
      [0, 1, 1, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect(maskRunLengths(mask, width, height)).toEqual([3, 2, 1, 2, 4]);
    expect(encodeRle(mask, width, height)).toEqual({ size: [3, 4], counts: "32103" });
  });

  test('an all-ones mask has an empty first 0-run: 2x3 ones is "06"', () => {
    const { mask, width, height } = maskOf([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(maskRunLengths(mask, width, height)).toEqual([0, 6]);
    expect(encodeRle(mask, width, height)).toEqual({ size: [2, 3], counts: "06" });
  });

  test("an all-zero mask is a single run", () => {
    const mask = new Uint8Array(7 * 5);
    expect(maskRunLengths(mask, 7, 5)).toEqual([35]);
    // 35 = 0b1_00011: low group 3 with the continuation bit (3 + 32 + 48 = 'S'), then 1 ('1').
    expect(encodeRle(mask, 7, 5)).toEqual({ size: [5, 7], counts: "S1" });
  });

  test("any non-zero byte counts as set", () => {
    expect(encodeRle(Uint8Array.of(0, 255, 7, 0), 2, 2)).toEqual(encodeRle(Uint8Array.of(0, 1, 1, 0), 2, 2));
  });

  test('the spec\'s 200x100 example: rows 10-59 x columns 30-149 is "Rn2b1b1", 237 zeros, "nk4"', () => {
    const width = 200;
    const height = 100;
    const mask = new Uint8Array(width * height);
    for (let y = 10; y < 60; y++) mask.fill(1, y * width + 30, y * width + 150);
    const runs = maskRunLengths(mask, width, height);
    expect(runs.length).toBe(241);
    expect(runs[0]).toBe(3010);
    expect(runs.slice(1, 240).every((r) => r === 50)).toBe(true);
    expect(runs[240]).toBe(5040);
    const rle = encodeRle(mask, width, height);
    expect(rle.size).toEqual([100, 200]);
    expect(rle.counts).toBe(`Rn2b1b1${"0".repeat(237)}nk4`);
    expect(rle.counts.length).toBe(247);
  });

  test("writes negative differences with the sign in the last group", () => {
    // Runs 10, 5, 3 then 1, written as 1 - 5 = -4 (the run two before): one group 28 with the sign bit ('L').
    expect(encodeRunLengths([10, 5, 3, 1])).toBe(":53L");
    expect(decodeRunLengths(":53L")).toEqual([10, 5, 3, 1]);
  });
});

describe("decodeRle", () => {
  test("inverts the spec's examples", () => {
    expect(Array.from(decodeRle({ size: [3, 4], counts: "32103" }))).toEqual([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(decodeRle({ size: [2, 3], counts: "06" }))).toEqual([1, 1, 1, 1, 1, 1]);
  });

  test("round-trips random masks of many shapes and densities", () => {
    const random = seeded(7);
    for (let trial = 0; trial < 200; trial++) {
      const width = 1 + Math.floor(random() * 40);
      const height = 1 + Math.floor(random() * 40);
      const density = random();
      // Blocky masks (long runs, large differences) half the time, salt-and-pepper the other half.
      const block = trial % 2 === 0 ? 1 + Math.floor(random() * 8) : 1;
      const mask = new Uint8Array(width * height);
      for (let y = 0; y < height; y += block) {
        for (let x = 0; x < width; x += block) {
          if (random() >= density) continue;
          for (let dy = 0; dy < block && y + dy < height; dy++) mask.fill(1, (y + dy) * width + x, (y + dy) * width + Math.min(x + block, width));
        }
      }
      const rle = encodeRle(mask, width, height);
      expect(rle.size).toEqual([height, width]);
      expect(decodeRle(rle)).toEqual(mask);
      expect(decodeRunLengths(rle.counts)).toEqual(maskRunLengths(mask, width, height));
    }
  });

  test("round-trips runs longer than 2^30 pixels", () => {
    const runs = [2 ** 31 - 5, 3, 1, 2 ** 31 - 1];
    expect(decodeRunLengths(encodeRunLengths(runs))).toEqual(runs);
  });

  test("refuses counts that do not describe the mask", () => {
    expect(() => decodeRle({ size: [3, 4], counts: "3210" })).toThrow("RLE runs cover 8 pixels, a 4x3 mask has 12");
    expect(() => decodeRle({ size: [2, 2], counts: "06" })).toThrow("do not fit a 2x2 mask");
    expect(() => decodeRle({ size: [2, 2], counts: "0 4" })).toThrow("outside the 48..111 code");
    expect(() => decodeRunLengths("S")).toThrow("end inside a number");
  });
});

// Tests of Python-style rounding: round(x) to an integer and round(x, n) to decimals, exact halves to the even neighbour.
import { describe, expect, test } from "bun:test";
import { pythonFixed, pythonRound, roundHalfToEven } from "../../src/python-rounding.ts";

describe("pythonRound (round(x, n))", () => {
  test("rounds to the nearest n-decimal value", () => {
    expect(pythonRound(0.964663, 4)).toBe(0.9647);
    expect(pythonRound(0.01766, 4)).toBe(0.0177);
    expect(pythonRound(1 / 3, 4)).toBe(0.3333);
    expect(pythonRound(0.99996, 4)).toBe(1);
    expect(pythonRound(0.00004, 4)).toBe(0);
    expect(pythonRound(1, 4)).toBe(1);
  });

  test("exact binary halves go to the even digit, unlike toFixed", () => {
    expect((0.03125).toFixed(4)).toBe("0.0313");
    expect(pythonRound(0.03125, 4)).toBe(0.0312);
    expect(pythonRound(0.15625, 4)).toBe(0.1562);
    expect(pythonRound(0.09375, 4)).toBe(0.0938);
    expect(pythonRound(0.40625, 4)).toBe(0.4062);
    expect(pythonRound(2.5, 0)).toBe(2);
    expect(pythonRound(3.5, 0)).toBe(4);
  });

  test("values that only look like halves round by their exact binary value", () => {
    // 0.00015 is stored as 0.000149999999999999986…, 0.12345 as 0.123450000000000004…
    expect(pythonRound(0.00015, 4)).toBe(0.0001);
    expect(pythonRound(0.12345, 4)).toBe(0.1235);
  });
});

describe('pythonFixed (f"{x:.nf}")', () => {
  test("formats like Python, halves included", () => {
    expect(pythonFixed(0.125, 2)).toBe("0.12");
    expect(pythonFixed(0.375, 2)).toBe("0.38");
    expect(pythonFixed(0.995, 2)).toBe("0.99");
    expect(pythonFixed(0.9999, 2)).toBe("1.00");
    expect(pythonFixed(0.5, 2)).toBe("0.50");
    expect(pythonFixed(12.345, 2)).toBe("12.35");
    expect(pythonFixed(-0.125, 2)).toBe("-0.12");
    expect(pythonFixed(0, 2)).toBe("0.00");
  });
});

describe("roundHalfToEven", () => {
  test("rounds exact halves to the even neighbour: 0.5→0, 1.5→2, 2.5→2, 3.5→4", () => {
    expect([0.5, 1.5, 2.5, 3.5].map(roundHalfToEven)).toEqual([0, 2, 2, 4]);
  });

  test("rounds negative halves to the even neighbour: -1.5→-2, -2.5→-2", () => {
    expect([-1.5, -2.5].map(roundHalfToEven)).toEqual([-2, -2]);
  });

  test("rounds non-halves to the nearest integer", () => {
    expect([2.4999999, 2.5000001, 7, -0.2, 1e20].map(roundHalfToEven)).toEqual([2, 3, 7, -0, 1e20]);
  });
});

// Tests of Python-style decimal rounding: nearest value, exact binary halves to the even digit.
import { describe, expect, test } from "bun:test";
import { pythonFixed, pythonRound } from "../../src/python-rounding.ts";

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

describe("pythonFixed (f\"{x:.nf}\")", () => {
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

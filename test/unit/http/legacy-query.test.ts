// Specification of the legacy route's threshold units and the mask-decode argument check.
import { describe, expect, test } from "bun:test";
import { maskParams } from "../../../src/http/inference.ts";
import { legacyConfidence } from "../../../src/http/routes/legacy.ts";

describe("legacyConfidence", () => {
  test("reads values of 1 or more as percentages", () => {
    expect(legacyConfidence("40")).toBe(0.4);
    expect(legacyConfidence("1")).toBe(0.01);
    expect(legacyConfidence("0.25")).toBe(0.25);
  });

  test("floors at 0.01 so a zero threshold cannot return every anchor", () => {
    expect(legacyConfidence("0")).toBe(0.01);
    expect(legacyConfidence("0.001")).toBe(0.01);
  });

  test("treats a missing value, best and default as 0.4", () => {
    for (const raw of [undefined, "", "best", "default"]) expect(legacyConfidence(raw)).toBe(0.4);
  });

  test("refuses text that is not a number with a 422", () => {
    expect(() => legacyConfidence("high")).toThrow(/confidence/);
  });
});

describe("maskParams", () => {
  test("defaults to accurate decoding with factor 0", () => {
    expect(maskParams(undefined, undefined, undefined)).toEqual({ maskDecodeMode: "accurate", tradeoffFactor: 0, maskFormat: "polygon" });
  });

  test("answers the reference's 400 for an unknown mode or a factor outside [0, 1]", () => {
    const message = "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']";
    expect(() => maskParams("sloppy", 0, undefined)).toThrow(message);
    expect(() => maskParams("tradeoff", 1.5, undefined)).toThrow(message);
    expect(() => maskParams("tradeoff", Number.NaN, undefined)).toThrow(message);
    expect(maskParams("tradeoff", 0.5, "rle")).toEqual({ maskDecodeMode: "tradeoff", tradeoffFactor: 0.5, maskFormat: "rle" });
    expect(() => maskParams("accurate", 0, "png")).toThrow(/response_mask_format must be polygon or rle/);
  });
});

describe("legacyConfidence bounds", () => {
  test("refuses a negative confidence or a percentage over 100 with a 422 naming the parameter", () => {
    for (const raw of ["-1", "-0.5", "100.5", "1e9"]) expect(() => legacyConfidence(raw)).toThrow(/query parameter confidence must be/);
    expect(legacyConfidence("100")).toBe(1);
  });
});

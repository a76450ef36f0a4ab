// Specification of reduced-size decoding's geometry: which DCT scale a JPEG may be decoded at, and why answers rescaled to the full size stay where they belong.
import { describe, expect, test } from "bun:test";
import type { RescaleGeometry, StaticCropPercentages } from "../../../src/vision/boxes.ts";
import { decodeReduction, reducedSize, type DecodeReduction, type Size } from "../../../src/vision/decode-reduction.ts";
import { parsePreprocessing } from "../../../src/vision/preprocess-config.ts";
import { resizeOf, type ModelInput } from "../../../src/vision/preprocess.ts";
import { rescalePolygon } from "../../../src/vision/polygons.ts";

const input = (width: number, height: number): ModelInput => ({ width, height, mean: [0, 0, 0], std: [1, 1, 1] });
const STRETCH = parsePreprocessing({});
const LETTERBOX = parsePreprocessing({ resize: { enabled: true, format: "Fit (black edges) in" } });

function factorFor(size: Size, config = STRETCH, model = input(640, 640), crop: StaticCropPercentages | null = null): DecodeReduction {
  return decodeReduction(size, (decoded) => resizeOf(decoded, crop, config, model));
}

describe("decodeReduction", () => {
  test("stretch: the largest factor that leaves the image at least the model input's size in both directions", () => {
    expect(factorFor({ width: 4032, height: 3024 })).toBe(4); // 1008x756; 1/8 would be 504x378
    expect(factorFor({ width: 5120, height: 5120 })).toBe(8); // exactly 640x640
    expect(factorFor({ width: 5119, height: 5120 })).toBe(4); // 639 wide at 1/8
    expect(factorFor({ width: 1280, height: 1280 })).toBe(2);
    expect(factorFor({ width: 1279, height: 1280 })).toBe(1);
    // Full HD stretched to 640x640 would be upsampled vertically from 540 rows: decoded in full.
    expect(factorFor({ width: 1920, height: 1080 })).toBe(1);
    expect(factorFor({ width: 640, height: 480 })).toBe(1);
    expect(factorFor({ width: 1920, height: 1080 }, STRETCH, input(224, 224))).toBe(4);
  });

  test("letterbox: compares with the letterboxed size, not the whole input", () => {
    // 1920x1080 letterboxes to 640x360: 960x540 at 1/2 still covers it, 480x270 at 1/4 does not.
    expect(factorFor({ width: 1920, height: 1080 }, LETTERBOX)).toBe(2);
    expect(factorFor({ width: 4032, height: 3024 }, LETTERBOX)).toBe(4); // 640x480 from 1008x756
    expect(factorFor({ width: 1280, height: 720 }, LETTERBOX)).toBe(2); // 640x360 from exactly 640x360
    expect(factorFor({ width: 1279, height: 720 }, LETTERBOX)).toBe(1);
  });

  test("a static crop counts: the cropped region must still cover the input", () => {
    const half: StaticCropPercentages = { xMin: 0, yMin: 0, xMax: 50, yMax: 50 };
    expect(factorFor({ width: 4032, height: 3024 }, STRETCH, input(640, 640), half)).toBe(2); // 1008x756 of 2016x1512
    expect(factorFor({ width: 2560, height: 2560 }, STRETCH, input(640, 640), half)).toBe(2);
    expect(factorFor({ width: 2559, height: 2560 }, STRETCH, input(640, 640), half)).toBe(1);
  });

  test("reducedSize rounds down, as libvips' JPEG loader does", () => {
    expect(reducedSize({ width: 4001, height: 3001 }, 4)).toEqual({ width: 1000, height: 750 });
    expect(reducedSize({ width: 1920, height: 1080 }, 8)).toEqual({ width: 240, height: 135 });
    expect(reducedSize({ width: 7, height: 7 }, 1)).toEqual({ width: 7, height: 7 });
  });

  test("never picks a factor that leaves no pixels", () => {
    expect(factorFor({ width: 7, height: 7000 }, STRETCH, input(1, 1))).toBe(4);
  });
});

/**
 * Answers are rescaled with the full decoded size (ImageMeta), while the model input was made from the reduced image.
 * These check that the two agree: the full-size geometry is the reduced image's geometry scaled by the exact ratio
 * full / reduced. rescalePolygon is the rescaling without rounding or clipping, which boxes, keypoints and masks share.
 */
describe("rescaling to the full size after a reduced decode", () => {
  const points = Int32Array.from([0, 0, 17, 600, 320, 320, 639, 1, 640, 640, 101, 333]);

  function geometry(size: Size, resize: "stretch" | "letterbox", staticCrop: StaticCropPercentages | null = null): RescaleGeometry {
    return { inputWidth: 640, inputHeight: 640, imageWidth: size.width, imageHeight: size.height, resize, staticCrop };
  }

  /** Largest distance, in full-size pixels, between rescaling to the full size and rescaling to the reduced one then scaling by the exact ratio. */
  function disagreement(full: Size, factor: DecodeReduction, resize: "stretch" | "letterbox", crop: StaticCropPercentages | null = null): number {
    const reduced = reducedSize(full, factor);
    const direct = rescalePolygon(points, 640, 640, geometry(full, resize, crop));
    const viaReduced = rescalePolygon(points, 640, 640, geometry(reduced, resize, crop));
    return Math.max(
      ...direct.map((p, i) => Math.max(Math.abs(p.x - (viaReduced[i]!.x * full.width) / reduced.width), Math.abs(p.y - (viaReduced[i]!.y * full.height) / reduced.height))),
    );
  }

  test("stretch: identical, whatever the sizes", () => {
    for (const full of [
      { width: 4032, height: 3024 },
      { width: 4001, height: 3001 },
      { width: 2560, height: 1443 },
    ]) {
      for (const factor of [2, 4] as const) expect(disagreement(full, factor, "stretch")).toBeLessThan(1e-9);
    }
  });

  test("letterbox: identical when the factor divides the size, within a pixel otherwise", () => {
    expect(disagreement({ width: 4032, height: 3024 }, 4, "letterbox")).toBeLessThan(1e-9);
    expect(disagreement({ width: 1920, height: 1080 }, 2, "letterbox")).toBeLessThan(1e-9);
    expect(disagreement({ width: 4001, height: 3001 }, 4, "letterbox")).toBeLessThan(1);
  });

  test("static crop: within the factor's pixels (the crop rounds its bounds on the reduced image)", () => {
    const crop: StaticCropPercentages = { xMin: 10, yMin: 5, xMax: 90, yMax: 77.5 };
    expect(disagreement({ width: 4032, height: 3024 }, 2, "stretch", crop)).toBeLessThanOrEqual(2);
    expect(disagreement({ width: 4032, height: 3024 }, 4, "stretch", crop)).toBeLessThanOrEqual(4);
  });
});

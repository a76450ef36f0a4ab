// Tests for src/vision/preprocess.ts: the whole §4 order from encoded bytes to the model's input tensor.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { decodeImage, reducedDecodingAvailable, setDecodeSettings, type RgbImage } from "../../../src/vision/decode.ts";
import { parsePreprocessing, type PreprocessConfig } from "../../../src/vision/preprocess-config.ts";
import { prepareImage, preprocessInto, staticCropBounds, type ModelInput, type PreprocessSwitches } from "../../../src/vision/preprocess.ts";

const NO_SWITCHES: PreprocessSwitches = {
  disableAutoOrient: false,
  disableContrast: false,
  disableGrayscale: false,
  disableStaticCrop: false,
};

function detectionInput(width: number, height: number): ModelInput {
  return { width, height, mean: [0, 0, 0], std: [1, 1, 1] };
}

async function png(width: number, height: number, fill: (x: number, y: number) => [number, number, number]): Promise<Uint8Array> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * 3);
  return new Uint8Array(
    await sharp(data, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

async function run(bytes: Uint8Array, config: PreprocessConfig, input: ModelInput, switches = NO_SWITCHES) {
  const target = new Float32Array(3 * input.width * input.height);
  const { decoded: size, decodedBytes } = await preprocessInto(bytes, config, switches, input, target);
  return { size, target, decodedBytes };
}

/** Plane c of a CHW tensor, scaled back to 0..255 and rounded. */
function plane(target: Float32Array, input: ModelInput, c: number): number[] {
  const size = input.width * input.height;
  return Array.from(target.subarray(c * size, (c + 1) * size), (v) => Math.round(v * 255));
}

describe("preprocessInto", () => {
  test("a solid colour stretched from 1280x720 to 640x640 is exactly colour / 255 everywhere", async () => {
    const colour: [number, number, number] = [17, 128, 250];
    const input = detectionInput(640, 640);
    const { size, target } = await run(await png(1280, 720, () => colour), parsePreprocessing({}), input);
    expect(size).toEqual({ width: 1280, height: 720 });
    for (let c = 0; c < 3; c++) {
      const expected = Math.fround(colour[c]! / 255);
      const values = target.subarray(c * 640 * 640, (c + 1) * 640 * 640);
      expect(values.every((v) => v === expected)).toBe(true);
    }
  });

  test("a solid colour letterboxed is colour / 255 inside and the padding colour outside", async () => {
    const input = detectionInput(64, 64);
    const config = parsePreprocessing({ resize: { enabled: true, format: "Fit (grey edges) in" } });
    const { target } = await run(await png(128, 64, () => [200, 10, 90]), config, input);
    const red = target.subarray(0, 64 * 64);
    // 128x64 -> 64x32, 16 rows of padding above and below.
    expect(red[0]).toBe(Math.fround(114 / 255));
    expect(red[16 * 64]).toBe(Math.fround(200 / 255));
    expect(red[47 * 64 + 63]).toBe(Math.fround(200 / 255));
    expect(red[48 * 64]).toBe(Math.fround(114 / 255));
  });

  test("reports the decoded size after orientation, and orients only when the model asks and the request allows", async () => {
    const jpeg = new Uint8Array(
      await sharp(await png(40, 20, () => [50, 60, 70]))
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const input = detectionInput(32, 32);
    const orienting = parsePreprocessing({ "auto-orient": { enabled: true } });
    expect((await run(jpeg, orienting, input)).size).toEqual({ width: 20, height: 40 });
    expect((await run(jpeg, orienting, input, { ...NO_SWITCHES, disableAutoOrient: true })).size).toEqual({ width: 40, height: 20 });
    expect((await run(jpeg, parsePreprocessing({}), input)).size).toEqual({ width: 40, height: 20 });
  });

  test("static crop keeps int(percent / 100 * size) bounds, is applied before resizing, and is not reported", async () => {
    // Column x is grey x * 20; x_min 25% of 10 = 2.5 -> 2, x_max 75% -> 7.5 -> 7: columns 2..6.
    const bytes = await png(10, 4, (x) => [x * 20, x * 20, x * 20]);
    const config = parsePreprocessing({ "static-crop": { enabled: true, x_min: 25, y_min: 0, x_max: 75, y_max: 100 } });
    const input = detectionInput(5, 4);
    const cropped = await run(bytes, config, input);
    expect(cropped.size).toEqual({ width: 10, height: 4 });
    expect(plane(cropped.target, input, 0).slice(0, 5)).toEqual([40, 60, 80, 100, 120]);
    const uncropped = await run(bytes, config, input, { ...NO_SWITCHES, disableStaticCrop: true });
    expect(plane(uncropped.target, input, 0).slice(0, 5)).toEqual([10, 50, 90, 130, 170]);
  });

  test("prepareImage stops before resizing: cropped, adjusted 8-bit pixels and the decoded size", async () => {
    const config = parsePreprocessing({ "static-crop": { enabled: true, x_min: 50, y_min: 0, x_max: 100, y_max: 100 }, grayscale: { enabled: true } });
    const bytes = await png(8, 2, (x) => (x < 4 ? [255, 0, 0] : [0, 0, 255]));
    const { image, decoded } = await prepareImage(bytes, config, NO_SWITCHES);
    expect(decoded).toEqual({ width: 8, height: 2 });
    expect([image.width, image.height]).toEqual([4, 2]);
    // Blue through OpenCV's grayscale weights: 0.114 * 255 = 29.
    expect(Array.from(image.data.subarray(0, 3))).toEqual([29, 29, 29]);
    const untouched = await prepareImage(bytes, config, { ...NO_SWITCHES, disableStaticCrop: true, disableGrayscale: true });
    expect([untouched.image.width, Array.from(untouched.image.data.subarray(0, 3))]).toEqual([8, [255, 0, 0]]);
  });

  describe.skipIf(!reducedDecodingAvailable)("with DECODE_AT_REDUCED_SIZE", () => {
    beforeAll(() => setDecodeSettings({ maxImagePixels: 50_000_000, decodeAtReducedSize: true }));
    afterAll(() => setDecodeSettings({ maxImagePixels: 50_000_000, decodeAtReducedSize: false }));

    async function jpeg(width: number, height: number, fill: (x: number, y: number) => [number, number, number]): Promise<Uint8Array> {
      return new Uint8Array(
        await sharp(await png(width, height, fill))
          .jpeg({ quality: 95 })
          .toBuffer(),
      );
    }

    test("prepareImage decodes a JPEG at the largest DCT scale the model input allows, and reports the full size", async () => {
      const bytes = await jpeg(2600, 1400, (x) => (x < 1300 ? [250, 0, 0] : [0, 0, 250]));
      const { image, decoded } = await prepareImage(bytes, parsePreprocessing({}), NO_SWITCHES, detectionInput(640, 640));
      // 1/2 leaves 1300x700, 1/4 would leave 650x350: fewer rows than the input's 640.
      expect(decoded).toEqual({ width: 2600, height: 1400 });
      expect([image.width, image.height]).toEqual([1300, 700]);
      const withoutInput = await prepareImage(bytes, parsePreprocessing({}), NO_SWITCHES);
      expect([withoutInput.image.width, withoutInput.image.height]).toEqual([2600, 1400]);
    });

    test("the static crop is part of the choice, and is applied to the reduced image", async () => {
      // The right quarter, 650x1400: 1/2 leaves 325x700 of it, 1/4 would leave 162x350 (the whole image would allow 1/4).
      const config = parsePreprocessing({ "static-crop": { enabled: true, x_min: 75, y_min: 0, x_max: 100, y_max: 100 } });
      const bytes = await jpeg(2600, 1400, (x) => (x < 1950 ? [250, 0, 0] : [0, 0, 250]));
      const { image, decoded } = await prepareImage(bytes, config, NO_SWITCHES, detectionInput(320, 320));
      expect(decoded).toEqual({ width: 2600, height: 1400 });
      expect([image.width, image.height]).toEqual([325, 700]);
      expect(image.data[0]!).toBeLessThan(10);
      expect(image.data[2]!).toBeGreaterThan(240);
    });

    test("preprocessInto writes the model input from the reduced image and returns the full size and the reduced decode's bytes", async () => {
      const input = detectionInput(640, 640);
      const { size, target, decodedBytes } = await run(await jpeg(2600, 1400, () => [20, 140, 230]), parsePreprocessing({}), input);
      expect(size).toEqual({ width: 2600, height: 1400 });
      expect(decodedBytes).toBe(1300 * 700 * 3);
      for (let c = 0; c < 3; c++) expect(Math.abs(plane(target, input, c)[320 * 640 + 320]! - [20, 140, 230][c]!)).toBeLessThanOrEqual(2);
    });
  });

  test("staticCropBounds truncates like Python's int()", () => {
    // 0.1 * 333 = 33.300000000000004 -> 33, 0.9 * 333 = 299.7 -> 299.
    expect(staticCropBounds(333, 500, { xMin: 10, yMin: 10, xMax: 90, yMax: 90 })).toEqual({
      left: 33,
      top: 50,
      right: 299,
      bottom: 450,
    });
    expect(staticCropBounds(7, 3, { xMin: 33.3, yMin: 0, xMax: 99.9, yMax: 66.7 })).toEqual({ left: 2, top: 0, right: 6, bottom: 2 });
  });

  test("a static crop that leaves no pixels is an error", async () => {
    const config = parsePreprocessing({ "static-crop": { enabled: true, x_min: 50, y_min: 0, x_max: 50, y_max: 100 } });
    await expect(run(await png(10, 10, () => [1, 2, 3]), config, detectionInput(4, 4))).rejects.toThrow(/static crop/);
  });

  test("grayscale turns colour into three equal luma channels unless the request disables it", async () => {
    const bytes = await png(8, 8, () => [255, 0, 0]);
    const config = parsePreprocessing({ grayscale: { enabled: true } });
    const input = detectionInput(4, 4);
    const grey = await run(bytes, config, input);
    for (let c = 0; c < 3; c++) expect(new Set(plane(grey.target, input, c))).toEqual(new Set([76]));
    const colour = await run(bytes, config, input, { ...NO_SWITCHES, disableGrayscale: true });
    expect(new Set(plane(colour.target, input, 0))).toEqual(new Set([255]));
    expect(new Set(plane(colour.target, input, 1))).toEqual(new Set([0]));
  });

  test("contrast is applied before resizing unless the request disables it", async () => {
    const bytes = await png(4, 4, (x) => (x < 2 ? [100, 100, 100] : [120, 120, 120]));
    const config = parsePreprocessing({ contrast: { enabled: true, type: "Histogram Equalization" } });
    const input = detectionInput(4, 4);
    expect(plane((await run(bytes, config, input)).target, input, 0).slice(0, 4)).toEqual([0, 0, 255, 255]);
    const untouched = await run(bytes, config, input, { ...NO_SWITCHES, disableContrast: true });
    expect(plane(untouched.target, input, 0).slice(0, 4)).toEqual([100, 100, 120, 120]);
  });

  test("classification inputs are normalised with their mean and std", async () => {
    const input: ModelInput = { width: 2, height: 2, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
    const { target } = await run(await png(4, 4, () => [255, 0, 255]), parsePreprocessing({}), input);
    expect(Array.from(target.subarray(0, 4))).toEqual([1, 1, 1, 1]);
    expect(Array.from(target.subarray(4, 8))).toEqual([-1, -1, -1, -1]);
  });

  test("undecodable bytes surface the decoder's 400", async () => {
    await expect(run(new Uint8Array([1, 2, 3, 4]), parsePreprocessing({}), detectionInput(4, 4))).rejects.toThrow("Data is not image.");
  });
});

/** OpenCV's bilinear formula, one output value at a time, in double precision (slow and obvious). */
function referenceStretch(image: RgbImage, width: number, height: number, x: number, y: number, c: number): number {
  const axis = (d: number, source: number, target: number): [number, number, number] => {
    const position = (d + 0.5) * (source / target) - 0.5;
    let index = Math.floor(position);
    let fraction = position - index;
    if (index < 0) [index, fraction] = [0, 0];
    if (index >= source - 1) [index, fraction] = [source - 1, 0];
    return [index, Math.min(index + 1, source - 1), fraction];
  };
  const [x0, x1, fx] = axis(x, image.width, width);
  const [y0, y1, fy] = axis(y, image.height, height);
  const at = (px: number, py: number) => image.data[(py * image.width + px) * 3 + c]!;
  const top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx;
  const bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx;
  return (top * (1 - fy) + bottom * fy) / 255;
}

const PARITY_IMAGES = join(import.meta.dir, "../../../../shared/parity/images");

describe.skipIf(!existsSync(PARITY_IMAGES))("preprocessInto on the parity sample (needs ../shared/parity)", () => {
  for (const [name, width, height] of [
    ["landscape_640x480.jpg", 640, 640],
    ["portrait_333x500.jpg", 640, 640],
  ] as const) {
    test(`stretching ${name} to ${width}x${height} matches OpenCV's bilinear formula`, async () => {
      const bytes = new Uint8Array(await Bun.file(join(PARITY_IMAGES, name)).arrayBuffer());
      const input = detectionInput(width, height);
      const { target } = await run(bytes, parsePreprocessing({ "auto-orient": { enabled: true } }), input);
      const decoded = await decodeImage(bytes, { autoOrient: true });
      let worst = 0;
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const ours = target[c * width * height + y * width + x]!;
            worst = Math.max(worst, Math.abs(ours - referenceStretch(decoded, width, height, x, y, c)));
          }
        }
      }
      // float32 rounding only: about 1e-7 on values in [0, 1].
      expect(worst).toBeLessThan(1e-6);
    });
  }
});

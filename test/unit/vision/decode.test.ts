// Tests for src/vision/decode.ts: encoded bytes become 8-bit RGB like OpenCV's imdecode(IMREAD_COLOR).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { InputImageError } from "../../../src/errors.ts";
import { decodeAtReducedSize, decodeImage, reducedDecodingAvailable, setDecodeSettings, type RgbImage } from "../../../src/vision/decode.ts";

/** A width x height image whose pixel (x, y) has channel values fill(x, y). */
function pixels(width: number, height: number, channels: number, fill: (x: number, y: number) => number[]): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * channels);
  }
  return data;
}

async function png(width: number, height: number, channels: 1 | 2 | 3 | 4, fill: (x: number, y: number) => number[]) {
  return new Uint8Array(
    await sharp(pixels(width, height, channels, fill), { raw: { width, height, channels } })
      .png()
      .toBuffer(),
  );
}

async function decodeError(bytes: Uint8Array): Promise<InputImageError> {
  try {
    await decodeImage(bytes, { autoOrient: true });
  } catch (error) {
    if (error instanceof InputImageError) return error;
    throw error;
  }
  throw new Error("expected an InputImageError");
}

describe("decodeImage", () => {
  test("a PNG decodes to its exact RGB pixels, row-major HWC", async () => {
    const image = await decodeImage(await png(3, 2, 3, (x, y) => [x * 10, y * 20, 200]), { autoOrient: true });
    expect(image.width).toBe(3);
    expect(image.height).toBe(2);
    expect(Array.from(image.data)).toEqual([0, 0, 200, 10, 0, 200, 20, 0, 200, 0, 20, 200, 10, 20, 200, 20, 20, 200]);
  });

  test("a JPEG decodes to width x height x 3 bytes", async () => {
    const jpeg = await sharp(
      pixels(40, 30, 3, () => [90, 140, 210]),
      { raw: { width: 40, height: 30, channels: 3 } },
    )
      .jpeg({ quality: 95 })
      .toBuffer();
    const image = await decodeImage(new Uint8Array(jpeg), { autoOrient: false });
    expect([image.width, image.height, image.data.length]).toEqual([40, 30, 40 * 30 * 3]);
    expect(Math.abs(image.data[0]! - 90)).toBeLessThanOrEqual(2);
  });

  test("alpha is dropped, not composited (a fully transparent pixel keeps its colour)", async () => {
    const image = await decodeImage(await png(2, 1, 4, (x) => (x === 0 ? [10, 20, 30, 0] : [200, 100, 50, 128])), {
      autoOrient: true,
    });
    expect(Array.from(image.data)).toEqual([10, 20, 30, 200, 100, 50]);
  });

  test("a grayscale PNG becomes three equal channels", async () => {
    const image = await decodeImage(await png(3, 1, 1, (x) => [x * 100]), { autoOrient: true });
    expect(Array.from(image.data)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200]);
  });

  test("a grayscale PNG with alpha becomes three equal channels without alpha", async () => {
    const image = await decodeImage(await png(2, 1, 2, (x) => [x === 0 ? 40 : 220, 7]), { autoOrient: true });
    expect(Array.from(image.data)).toEqual([40, 40, 40, 220, 220, 220]);
  });

  test("a 16-bit PNG is reduced to 8 bits by keeping the high byte", async () => {
    const samples = new Uint16Array([0x1234, 0xabcd, 0xff00, 0x00ff, 0x8080, 0xffff]);
    // sharp takes the sample depth of raw input from the typed array (Uint16Array: 16 bits).
    const sixteenBit = await sharp(samples, { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    const image = await decodeImage(new Uint8Array(sixteenBit), { autoOrient: true });
    expect(Array.from(image.data)).toEqual([0x12, 0xab, 0xff, 0x00, 0x80, 0xff]);
  });

  test("EXIF orientation is applied only when autoOrient is set", async () => {
    // 4x2 image, left half red, right half blue, tagged "rotate 90° clockwise to display" (orientation 6).
    const raw = pixels(4, 2, 3, (x) => (x < 2 ? [255, 0, 0] : [0, 0, 255]));
    const jpeg = new Uint8Array(
      await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
        .jpeg({ quality: 100 })
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const asStored = await decodeImage(jpeg, { autoOrient: false });
    const oriented = await decodeImage(jpeg, { autoOrient: true });
    expect([asStored.width, asStored.height]).toEqual([4, 2]);
    expect([oriented.width, oriented.height]).toEqual([2, 4]);
    // Rotated clockwise, the stored left (red) half ends up on top.
    expect(oriented.data[0]!).toBeGreaterThan(200);
    expect(oriented.data[(3 * 2 + 1) * 3 + 2]!).toBeGreaterThan(200);
  });

  test("only the first frame of an animated GIF is decoded", async () => {
    const frames = pixels(4, 6, 3, (_, y) => (y < 3 ? [255, 0, 0] : [0, 0, 255]));
    const gif = await sharp(frames, { raw: { width: 4, height: 6, channels: 3, pageHeight: 3 } })
      .gif()
      .toBuffer();
    const image = await decodeImage(new Uint8Array(gif), { autoOrient: true });
    expect([image.width, image.height]).toEqual([4, 3]);
    expect(Array.from(image.data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  test("bytes that are not an image are 'Data is not image.'", async () => {
    const error = await decodeError(new TextEncoder().encode("definitely not an image"));
    expect(error.status).toBe(400);
    expect(error.message).toBe("Could not load input image. Cause: Data is not image.");
  });

  test("empty bytes are 'Data is not image.'", async () => {
    expect((await decodeError(new Uint8Array(0))).message).toBe("Could not load input image. Cause: Data is not image.");
  });

  test("SVG, which OpenCV cannot decode, is 'Data is not image.'", async () => {
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>');
    expect((await decodeError(svg)).message).toBe("Could not load input image. Cause: Data is not image.");
  });

  test("a truncated JPEG is 'Data is not image.' (OpenCV returns nothing for one)", async () => {
    const jpeg = await sharp(
      pixels(64, 64, 3, (x, y) => [x * 4, y * 4, 128]),
      { raw: { width: 64, height: 64, channels: 3 } },
    )
      .jpeg()
      .toBuffer();
    const truncated = new Uint8Array(jpeg.subarray(0, jpeg.length >> 1));
    expect((await decodeError(truncated)).message).toBe("Could not load input image. Cause: Data is not image.");
  });
});

/** A smooth width x height JPEG (gradients, no edges: its DCT-scaled decode is close to a block average of the full one). */
async function smoothJpeg(width: number, height: number, options: { orientation?: number; channels?: 1 | 3 } = {}): Promise<Uint8Array> {
  const channels = options.channels ?? 3;
  const fill = (x: number, y: number) => [40 + Math.round((x / width) * 170), 30 + Math.round((y / height) * 190), 120].slice(0, channels);
  let encoder = sharp(pixels(width, height, channels, fill), { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? "b-w" : "srgb")
    .jpeg({ quality: 95 });
  if (options.orientation) encoder = encoder.withMetadata({ orientation: options.orientation });
  return new Uint8Array(await encoder.toBuffer());
}

/** The largest difference between `reduced` and the full image averaged over factor x factor blocks. */
function differenceFromBlockAverage(full: RgbImage, reduced: RgbImage, factor: number): number {
  let worst = 0;
  for (let y = 0; y < reduced.height; y++) {
    for (let x = 0; x < reduced.width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) sum += full.data[((y * factor + dy) * full.width + x * factor + dx) * 3 + c]!;
        worst = Math.max(worst, Math.abs(sum / factor ** 2 - reduced.data[(y * reduced.width + x) * 3 + c]!));
      }
    }
  }
  return worst;
}

describe.skipIf(!reducedDecodingAvailable)("decodeAtReducedSize (DECODE_AT_REDUCED_SIZE)", () => {
  const REDUCED = { maxImagePixels: 50_000_000, decodeAtReducedSize: true };
  beforeAll(() => setDecodeSettings(REDUCED));
  afterAll(() => setDecodeSettings({ ...REDUCED, decodeAtReducedSize: false }));

  test("decodes a JPEG at the factor asked for its full size, and reports the full size", async () => {
    const jpeg = await smoothJpeg(1024, 768);
    const asked: { width: number; height: number }[] = [];
    const { image, decoded } = await decodeAtReducedSize(jpeg, { autoOrient: true }, (full) => (asked.push(full), 4));
    expect(asked).toEqual([{ width: 1024, height: 768 }]);
    expect(decoded).toEqual({ width: 1024, height: 768 });
    expect([image.width, image.height, image.data.length]).toEqual([256, 192, 256 * 192 * 3]);
    expect(differenceFromBlockAverage(await decodeImage(jpeg, { autoOrient: true }), image, 4)).toBeLessThan(4);
  });

  test("rounds the reduced size down like libjpeg's scaling in libvips", async () => {
    const { image, decoded } = await decodeAtReducedSize(await smoothJpeg(1001, 750), { autoOrient: true }, () => 2);
    expect(decoded).toEqual({ width: 1001, height: 750 });
    expect([image.width, image.height]).toEqual([500, 375]);
  });

  test("a factor of 1, a PNG or the setting off decode in full", async () => {
    const jpeg = await smoothJpeg(512, 256);
    expect((await decodeAtReducedSize(jpeg, { autoOrient: true }, () => 1)).image.width).toBe(512);
    const png8 = await png(64, 32, 3, (x) => [x, x, x]);
    expect((await decodeAtReducedSize(png8, { autoOrient: true }, () => 2)).image.width).toBe(64);
    setDecodeSettings({ ...REDUCED, decodeAtReducedSize: false });
    try {
      expect((await decodeAtReducedSize(jpeg, { autoOrient: true }, () => 2)).image.width).toBe(512);
    } finally {
      setDecodeSettings(REDUCED);
    }
  });

  test("applies the EXIF orientation: the factor is asked for the oriented size, and the pixels turn as in a full decode", async () => {
    // Stored 1024x512, orientation 6 (turn a quarter clockwise): displayed 512x1024.
    const jpeg = await smoothJpeg(1024, 512, { orientation: 6 });
    const asked: { width: number; height: number }[] = [];
    const { image, decoded } = await decodeAtReducedSize(jpeg, { autoOrient: true }, (full) => (asked.push(full), 2));
    expect(asked).toEqual([{ width: 512, height: 1024 }]);
    expect(decoded).toEqual({ width: 512, height: 1024 });
    expect([image.width, image.height]).toEqual([256, 512]);
    expect(differenceFromBlockAverage(await decodeImage(jpeg, { autoOrient: true }), image, 2)).toBeLessThan(4);
    const asStored = await decodeAtReducedSize(jpeg, { autoOrient: false }, () => 2);
    expect([asStored.decoded, asStored.image.width, asStored.image.height]).toEqual([{ width: 1024, height: 512 }, 512, 256]);
  });

  test("a greyscale JPEG (one channel) becomes three equal channels", async () => {
    const grey = await smoothJpeg(256, 256, { channels: 1 });
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const { image } = await decodeAtReducedSize(grey, { autoOrient: true }, () => 2);
    expect([image.width, image.data.length]).toEqual([128, 128 * 128 * 3]);
    for (let i = 0; i < image.data.length; i += 3) expect(image.data[i + 1] === image.data[i] && image.data[i + 2] === image.data[i]).toBe(true);
  });

  test("a CMYK JPEG decodes in full, through sharp's colour conversion", async () => {
    const cmyk = new Uint8Array(
      await sharp(await smoothJpeg(256, 128))
        .toColourspace("cmyk")
        .jpeg()
        .toBuffer(),
    );
    const { image, decoded } = await decodeAtReducedSize(cmyk, { autoOrient: true }, () => 2);
    expect([image.width, image.height, decoded.width]).toEqual([256, 128, 256]);
  });

  test("refuses a header over MAX_IMAGE_PIXELS and corrupt data as a full decode does", async () => {
    const jpeg = await smoothJpeg(1024, 768);
    setDecodeSettings({ ...REDUCED, maxImagePixels: 1024 * 767 });
    try {
      await expect(decodeAtReducedSize(jpeg, { autoOrient: true }, () => 2)).rejects.toThrow(/Image is too large \(1024x768\)/);
    } finally {
      setDecodeSettings(REDUCED);
    }
    const truncated = jpeg.slice(0, jpeg.length >> 1);
    await expect(decodeAtReducedSize(truncated, { autoOrient: true }, () => 2)).rejects.toThrow("Data is not image.");
  });
});

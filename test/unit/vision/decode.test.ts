// Tests for src/vision/decode.ts: encoded bytes become 8-bit RGB like OpenCV's imdecode(IMREAD_COLOR).

import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import { InputImageError } from "../../../src/errors.ts";
import { decodeImage } from "../../../src/vision/decode.ts";

/** A width x height image whose pixel (x, y) has channel values fill(x, y). */
function pixels(width: number, height: number, channels: number, fill: (x: number, y: number) => number[]): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * channels);
  }
  return data;
}

async function png(width: number, height: number, channels: 1 | 2 | 3 | 4, fill: (x: number, y: number) => number[]) {
  return new Uint8Array(await sharp(pixels(width, height, channels, fill), { raw: { width, height, channels } }).png().toBuffer());
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
    const jpeg = await sharp(pixels(40, 30, 3, () => [90, 140, 210]), { raw: { width: 40, height: 30, channels: 3 } })
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
    const gif = await sharp(frames, { raw: { width: 4, height: 6, channels: 3, pageHeight: 3 } }).gif().toBuffer();
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
    const jpeg = await sharp(pixels(64, 64, 3, (x, y) => [x * 4, y * 4, 128]), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const truncated = new Uint8Array(jpeg.subarray(0, jpeg.length >> 1));
    expect((await decodeError(truncated)).message).toBe("Could not load input image. Cause: Data is not image.");
  });
});

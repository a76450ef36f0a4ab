// Specification of the decoder's limits: MAX_IMAGE_PIXELS is read from the header, before decoding; only the first frame is decoded.
import { afterAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { decodeImage, setDecodeSettings } from "../../../src/vision/decode.ts";
import { jpegClaiming, pngClaiming, solid, twoFrames } from "../../integration/hostile-fixtures.ts";

afterAll(() => setDecodeSettings({ maxImagePixels: 50_000_000, decodeAtReducedSize: false }));

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await decodeImage(bytes, { autoOrient: true });
  } catch (error) {
    return (error as Error).message;
  }
  return "decoded";
}

describe("decodeImage limits", () => {
  test("refuses a header claiming more than the pixel limit with 400, naming the size, in milliseconds", async () => {
    const started = performance.now();
    expect(await refusal(pngClaiming(100_000, 100_000))).toBe(
      "Could not load input image. Cause: Image is too large (100000x100000): this server accepts at most 50000000 pixels.",
    );
    expect(await refusal(await jpegClaiming(65_000, 65_000))).toMatch(/Image is too large \(65000x65000\)/);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test("follows setDecodeSettings: an image exactly at the limit decodes, one pixel more does not", async () => {
    setDecodeSettings({ maxImagePixels: 100 * 100, decodeAtReducedSize: false });
    try {
      expect((await decodeImage(new Uint8Array(await solid([1, 2, 3], 100, 100)), { autoOrient: true })).width).toBe(100);
      expect(await refusal(new Uint8Array(await solid([1, 2, 3], 101, 100)))).toMatch(/at most 10000 pixels/);
    } finally {
      setDecodeSettings({ maxImagePixels: 50_000_000, decodeAtReducedSize: false });
    }
  });

  test("decodes the first frame of an animation and the first page of a multi-page TIFF only", async () => {
    for (const format of ["gif", "webp", "tiff"] as const) {
      const image = await decodeImage(new Uint8Array(await twoFrames(format, [250, 0, 0], [0, 0, 250])), { autoOrient: true });
      expect({ format, width: image.width, height: image.height }).toEqual({ format, width: 40, height: 30 });
      // Red, not blue (within encoding noise).
      const [r, g, b] = image.data;
      expect(r! > 240 && g! < 10 && b! < 10).toBe(true);
    }
  });

  test("decodes a 1x1 image", async () => {
    const image = await decodeImage(
      new Uint8Array(
        await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 9, g: 8, b: 7 } } })
          .jpeg()
          .toBuffer(),
      ),
      { autoOrient: true },
    );
    expect({ width: image.width, height: image.height }).toEqual({ width: 1, height: 1 });
  });
});

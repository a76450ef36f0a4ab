// Image decoding: encoded bytes -> 8-bit RGB pixels (HWC), behaving like OpenCV's imdecode(IMREAD_COLOR).

import sharp from "sharp";
import { InputImageError } from "../errors.ts";

/** Decoded pixels: `data` is height x width x 3 (R, G, B), row-major, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /** Apply the EXIF Orientation tag (OpenCV does by default; IMREAD_IGNORE_ORIENTATION turns it off). */
  autoOrient: boolean;
}

// libvips settings are per process, shared by every vision worker (Bun Workers are threads).
// One libvips thread per operation: we run one vision worker per core and a decode is
// sequential anyway. Measured on 2 cores with a 1280x720 JPEG: 2 threads gave the same
// single-image latency (~4.7 ms) and 4.3 instead of 3.6 ms per image with many in flight.
sharp.concurrency(1);
// Every request brings a new image: libvips' operation cache would only hold memory.
sharp.cache(false);

/** Limits every decode in this thread obeys (MAX_IMAGE_PIXELS); each vision worker sets them from its init message. */
const limits = { maxImagePixels: 50_000_000 };

export function setDecodeLimits(next: { maxImagePixels: number }): void {
  limits.maxImagePixels = next.maxImagePixels;
}

/**
 * Decodes the first frame/page of an image (animated GIF/WebP and multi-page TIFF included, as
 * OpenCV's imdecode does). Throws InputImageError("Data is not image.") for anything undecodable,
 * and refuses an image whose header claims more than MAX_IMAGE_PIXELS before decoding any of it.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  if (bytes.length === 0 || looksLikeText(bytes)) throw new InputImageError("Data is not image.");
  try {
    const { data, info } = await sharp(bytes, {
      autoOrient: options.autoOrient,
      // Checked against the header's width x height before any pixel is decoded (decompression bombs).
      limitInputPixels: limits.maxImagePixels,
      // The first page/frame only, explicitly.
      pages: 1,
      page: 0,
      // OpenCV ignores embedded colour profiles; it decodes corrupt JPEG data with a warning
      // but returns nothing for a truncated file, which is what failOn "error" does.
      ignoreIcc: true,
      failOn: "error",
    })
      // IMREAD_COLOR drops alpha (no compositing), replicates grey into 3 channels and keeps 8 bits.
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new InputImageError("Data is not image.");
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    if (error instanceof InputImageError) throw error;
    if (error instanceof Error && /pixel limit/i.test(error.message)) throw await tooLarge(bytes);
    throw new InputImageError("Data is not image.");
  }
}

/** The refusal of an image over MAX_IMAGE_PIXELS, naming its size (read from the header only). */
async function tooLarge(bytes: Uint8Array): Promise<InputImageError> {
  let size = "";
  try {
    const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (width && height) size = ` (${width}x${height})`;
  } catch {}
  return new InputImageError(`Image is too large${size}: this server accepts at most ${limits.maxImagePixels} pixels.`);
}

// sharp renders SVG (and other XML/text); OpenCV does not decode text formats, so neither do we.
function looksLikeText(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x3c; // '<'
}

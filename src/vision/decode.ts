// Image decoding: encoded bytes -> 8-bit RGB pixels (HWC), behaving like OpenCV's imdecode(IMREAD_COLOR).

import sharp from "sharp";
import { libvips } from "../../native-bindings/libvips.ts";
import { InputImageError } from "../errors.ts";
import type { DecodeReduction, Size } from "./decode-reduction.ts";

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
// sequential anyway; more threads cost more per image with many in flight (BENCHMARKS.md, feed).
sharp.concurrency(1);
// Every request brings a new image: libvips' operation cache would only hold memory.
sharp.cache(false);

/** What every decode in this thread follows; each vision worker sets it from its init message. */
export interface DecodeSettings {
  /** MAX_IMAGE_PIXELS: the largest width x height a header may claim. */
  maxImagePixels: number;
  /** DECODE_AT_REDUCED_SIZE: decodeAtReducedSize may decode a JPEG at 1/2, 1/4 or 1/8 of its size. */
  decodeAtReducedSize: boolean;
}

const settings: DecodeSettings = { maxImagePixels: 50_000_000, decodeAtReducedSize: false };

export function setDecodeSettings(next: DecodeSettings): void {
  settings.maxImagePixels = next.maxImagePixels;
  settings.decodeAtReducedSize = next.decodeAtReducedSize;
}

/** Whether this process can decode JPEGs at a reduced size (the libvips calls of native-bindings/libvips.ts are reachable). */
export const reducedDecodingAvailable = libvips !== null;

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
      limitInputPixels: settings.maxImagePixels,
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

/**
 * Decodes like decodeImage, but with DECODE_AT_REDUCED_SIZE on, a JPEG at 1/2, 1/4 or 1/8 of its size, the factor
 * `reductionFor` gives for its oriented full size (decode-reduction.ts). Returns the pixels and the full decoded size,
 * which answers report and rescale to. Anything else (other formats, CMYK, a factor of 1, a header over
 * MAX_IMAGE_PIXELS, data libvips refuses) goes through decodeImage, errors included.
 */
export async function decodeAtReducedSize(bytes: Uint8Array, options: DecodeOptions, reductionFor: (full: Size) => DecodeReduction): Promise<{ image: RgbImage; decoded: Size }> {
  const reduced = settings.decodeAtReducedSize && libvips !== null && isJpeg(bytes) ? decodeJpegReduced(bytes, options, reductionFor) : null;
  if (reduced) return reduced;
  const image = await decodeImage(bytes, options);
  return { image, decoded: { width: image.width, height: image.height } };
}

function decodeJpegReduced(bytes: Uint8Array, options: DecodeOptions, reductionFor: (full: Size) => DecodeReduction): { image: RgbImage; decoded: Size } | null {
  const header = libvips!.jpegHeader(bytes);
  if (!header || header.width * header.height > settings.maxImagePixels) return null;
  // EXIF orientations 5 to 8 turn the image a quarter.
  const turned = options.autoOrient && header.orientation >= 5 && header.orientation <= 8;
  const decoded = turned ? { width: header.height, height: header.width } : { width: header.width, height: header.height };
  const factor = reductionFor(decoded);
  if (factor === 1) return null;
  const scaled = libvips!.decodeJpegScaled(bytes, factor, options.autoOrient && header.orientation !== 1);
  if (!scaled) return null;
  const data = scaled.bands === 3 ? scaled.data : greyToRgb(scaled.data);
  return { image: { data, width: scaled.width, height: scaled.height }, decoded };
}

/** IMREAD_COLOR's grey to RGB: the one channel three times. */
function greyToRgb(grey: Uint8Array): Uint8Array {
  const rgb = new Uint8Array(grey.length * 3);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = grey[i]!;
  return rgb;
}

/** A JPEG's start-of-image marker and the first marker after it. */
function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** The refusal of an image over MAX_IMAGE_PIXELS, naming its size (read from the header only). */
async function tooLarge(bytes: Uint8Array): Promise<InputImageError> {
  let size = "";
  try {
    const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (width && height) size = ` (${width}x${height})`;
  } catch {}
  return new InputImageError(`Image is too large${size}: this server accepts at most ${settings.maxImagePixels} pixels.`);
}

// sharp renders SVG (and other XML/text); OpenCV does not decode text formats, so neither do we.
function looksLikeText(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x3c; // '<'
}

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

/** Decodes the first frame/page of an image. Throws InputImageError("Data is not image.") for anything undecodable. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  if (bytes.length === 0 || looksLikeText(bytes)) throw new InputImageError("Data is not image.");
  try {
    const { data, info } = await sharp(bytes, {
      autoOrient: options.autoOrient,
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
    throw new InputImageError("Data is not image.");
  }
}

// sharp renders SVG (and other XML/text); OpenCV does not decode text formats, so neither do we.
function looksLikeText(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x3c; // '<'
}

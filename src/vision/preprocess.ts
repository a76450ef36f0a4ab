// The whole preprocessing of one image (docs/compatibility.md §4): encoded bytes -> normalised CHW RGB float32 model input.

import { equalizeAdaptive, equalizeHistogram, stretchContrast, toGrayscale } from "./contrast.ts";
import { decodeAtReducedSize, type RgbImage } from "./decode.ts";
import { decodeReduction, type DecodeReduction, type Size } from "./decode-reduction.ts";
import type { ContrastMethod, PreprocessConfig, StaticCrop } from "./preprocess-config.ts";
import { letterboxTarget, normaliseThenResizeInto } from "./float-resize.ts";
import { letterboxGeometry, letterboxInto, letterboxPixelsInto, stretchInto, stretchPixelsInto } from "./resize.ts";

/** Per-request switches (the request's disable_preproc_* fields, already OR-ed with the DISABLE_PREPROC_* env vars). */
export interface PreprocessSwitches {
  disableAutoOrient: boolean;
  disableContrast: boolean;
  disableGrayscale: boolean;
  disableStaticCrop: boolean;
}

/** The model input this image becomes: size, per-channel (R, G, B) normalisation, and its order relative to resizing. */
export interface ModelInput {
  width: number;
  height: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Normalise first, then resize the float image with padding in normalised units (RF-DETR, float-resize.ts). */
  normalisesBeforeResizing?: boolean;
}

/**
 * docs/compatibility.md §4 steps 1-6: decodes `bytes` (auto-orient), then static crop, contrast and grayscale as the
 * model's PREPROCESSING and the request's switches say. Returns the image ready for resizing and
 * the decoded (oriented, uncropped) size, which responses report. Families whose resizing differs
 * (RF-DETR, float-resize.ts `normaliseThenResizeInto`) start from here.
 *
 * Given the model `input` the image will be resized to, a JPEG may be decoded at a reduced size
 * (DECODE_AT_REDUCED_SIZE, decode.ts `decodeAtReducedSize`): `image` is then smaller than `decoded`,
 * and rescaling to `decoded` maps answers back by the exact ratio between the two.
 */
export async function prepareImage(bytes: Uint8Array, config: PreprocessConfig, request: PreprocessSwitches, input?: ModelInput): Promise<PreparedImage> {
  const crop = config.staticCrop && !request.disableStaticCrop ? config.staticCrop : null;
  const options = { autoOrient: config.autoOrient && !request.disableAutoOrient };
  const reductionFor = (full: Size): DecodeReduction => (input ? decodeReduction(full, (size) => resizeOf(size, crop, config, input)) : 1);
  let { image, decoded } = await decodeAtReducedSize(bytes, options, reductionFor);
  const decodedBytes = image.data.byteLength;
  if (crop) image = cropStatic(image, crop);
  if (config.contrast && !request.disableContrast) image = adjustContrast(image, config.contrast);
  if (config.grayscale && !request.disableGrayscale) image = toGrayscale(image);
  return { image, decoded, decodedBytes };
}

/** An image ready for resizing, with the size responses report and the bytes of pixels its decode allocated. */
export interface PreparedImage {
  image: RgbImage;
  /** The decoded, oriented, uncropped size, at full scale even when the decode was reduced (DECODE_AT_REDUCED_SIZE). */
  decoded: { width: number; height: number };
  /** The pixels sharp allocated outside the JavaScript heap (collection-pacer.ts counts them). */
  decodedBytes: number;
}

/**
 * Decodes `bytes` and writes the model input for it into `target`, 3 x height x width (CHW RGB): normalised floats, or
 * pixels (8-bit or 8.8 fixed point) for a model that normalises them itself (docs/compatibility.md §4.1). Returns the
 * decoded size responses report and the bytes the decode allocated.
 */
export async function preprocessInto(
  bytes: Uint8Array,
  config: PreprocessConfig,
  request: PreprocessSwitches,
  input: ModelInput,
  target: Float32Array | Uint8Array | Uint16Array,
): Promise<Omit<PreparedImage, "image">> {
  const { image, decoded, decodedBytes } = await prepareImage(bytes, config, request, input);
  if (!(target instanceof Float32Array)) {
    // input-encoding.ts gives pixel slots only to models that resize before normalising, and 8 bits to the letterbox.
    if (input.normalisesBeforeResizing) throw new Error("a model that normalises before resizing takes float inputs");
    if (config.resize.method === "letterbox") {
      if (!(target instanceof Uint8Array)) throw new Error("the letterbox's pixels are whole levels: its slots hold 8 bits");
      letterboxPixelsInto(image, input.width, input.height, config.resize.padRgb, target);
    } else stretchPixelsInto(image, input.width, input.height, target);
    return { decoded, decodedBytes };
  }
  const norm = { mean: input.mean, std: input.std };
  if (input.normalisesBeforeResizing) {
    normaliseThenResizeInto(image, config.resize, input.width, input.height, target, norm);
  } else if (config.resize.method === "letterbox") {
    letterboxInto(image, input.width, input.height, config.resize.padRgb, target, norm);
  } else {
    stretchInto(image, input.width, input.height, target, norm);
  }
  return { decoded, decodedBytes };
}

/**
 * What resizing an image of `size` to the model `input` reads and writes: the static crop's region,
 * and the size it becomes (the input for a stretch, the letterbox's resized size inside it).
 */
export function resizeOf(size: Size, crop: StaticCrop | null, config: PreprocessConfig, input: ModelInput): { region: Size; resized: Size } {
  const bounds = crop ? staticCropBounds(size.width, size.height, crop) : { left: 0, top: 0, right: size.width, bottom: size.height };
  const region = { width: bounds.right - bounds.left, height: bounds.bottom - bounds.top };
  if (config.resize.method !== "letterbox") return { region, resized: { width: input.width, height: input.height } };
  // RF-DETR letterboxes into its own target size (float-resize.ts), the others into the input.
  const box = input.normalisesBeforeResizing ? letterboxTarget(config.resize, input.width, input.height) : input;
  const { width, height } = letterboxGeometry(region.width, region.height, box.width, box.height);
  return { region, resized: { width, height } };
}

/** The pixel bounds of a static crop: `int(percent / 100 * size)`, then Python slice rules. */
export function staticCropBounds(width: number, height: number, crop: StaticCrop): { left: number; top: number; right: number; bottom: number } {
  return {
    left: sliceIndex(Math.trunc((crop.xMin / 100) * width), width),
    top: sliceIndex(Math.trunc((crop.yMin / 100) * height), height),
    right: sliceIndex(Math.trunc((crop.xMax / 100) * width), width),
    bottom: sliceIndex(Math.trunc((crop.yMax / 100) * height), height),
  };
}

/** A Python slice bound: negative counts from the end, then clamped to [0, length]. */
function sliceIndex(index: number, length: number): number {
  const fromStart = index < 0 ? index + length : index;
  return Math.min(Math.max(fromStart, 0), length);
}

function cropStatic(image: RgbImage, crop: StaticCrop): RgbImage {
  const { left, top, right, bottom } = staticCropBounds(image.width, image.height, crop);
  const width = right - left;
  const height = bottom - top;
  if (width <= 0 || height <= 0) {
    throw new Error(`The model's static crop leaves no pixels of a ${image.width}x${image.height} image.`);
  }
  if (width === image.width && height === image.height) return image;
  const data = new Uint8Array(width * height * 3);
  const sourceRow = image.width * 3;
  for (let y = 0; y < height; y++) {
    const start = (top + y) * sourceRow + left * 3;
    data.set(image.data.subarray(start, start + width * 3), y * width * 3);
  }
  return { data, width, height };
}

function adjustContrast(image: RgbImage, method: ContrastMethod): RgbImage {
  switch (method) {
    case "Contrast Stretching":
      return stretchContrast(image);
    case "Histogram Equalization":
      return equalizeHistogram(image);
    case "Adaptive Equalization":
      return equalizeAdaptive(image);
  }
}

// Float bilinear resizing of planar images: preprocessing that normalises before resizing (RF-DETR's, docs/model-families.md §1.3), and the resize of float mask logits (§2).
import type { RgbImage } from "./decode.ts";
import type { ResizeConfig } from "./preprocess-config.ts";
import { floatAxis, letterboxGeometry, type Normalisation } from "./resize.ts";

/** A rectangle of a canvas: `width` × `height` pixels with its top-left corner at (left, top). */
export interface CanvasRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The image as float32 CHW planes, normalised as the reference does on its float32 copy of the
 * 8-bit image: `((v / 255) - mean) / std`, each step rounded to float32 (a Python float meeting a
 * float32 array becomes float32).
 */
export function normalisedPlanes(image: RgbImage, norm: Normalisation): Float32Array {
  const f = Math.fround;
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f(norm.mean[c]!);
    const std = f(norm.std[c]!);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = f(f(f(v / 255) - mean) / std);
  }
  const plane = image.width * image.height;
  const planes = new Float32Array(3 * plane);
  const source = image.data;
  for (let c = 0; c < 3; c++) {
    const out = planes.subarray(c * plane, (c + 1) * plane);
    const tableStart = c * 256;
    for (let i = 0, at = c; i < plane; i++, at += 3) out[i] = table[tableStart + source[at]!]!;
  }
  return planes;
}

/**
 * Resizes `channels` float planes of sourceWidth × sourceHeight bilinearly into `region` of a
 * canvasWidth × canvasHeight CHW `target` (other canvas pixels are not touched). Same size copies.
 * OpenCV's float INTER_LINEAR as x86 builds run it (Intel IPP; resize.ts `floatAxis`): half-pixel
 * centres in double, the edge pixel repeated outside the source, horizontal pass kept in float32.
 */
export function resizePlanesInto(
  source: Float32Array,
  sourceWidth: number,
  sourceHeight: number,
  channels: number,
  target: Float32Array,
  canvasWidth: number,
  canvasHeight: number,
  region: CanvasRegion,
): void {
  const { left, top, width, height } = region;
  if (left < 0 || top < 0 || left + width > canvasWidth || top + height > canvasHeight || width <= 0 || height <= 0) {
    throw new RangeError(`region ${width}x${height} at (${left}, ${top}) does not fit a ${canvasWidth}x${canvasHeight} canvas`);
  }
  const sourcePlane = sourceWidth * sourceHeight;
  const canvasPlane = canvasWidth * canvasHeight;
  if (source.length < channels * sourcePlane)
    throw new RangeError(`source holds ${source.length} floats, ${channels} planes of ${sourceWidth}x${sourceHeight} need ${channels * sourcePlane}`);
  if (target.length < channels * canvasPlane)
    throw new RangeError(`target holds ${target.length} floats, ${channels} planes of ${canvasWidth}x${canvasHeight} need ${channels * canvasPlane}`);

  if (width === sourceWidth && height === sourceHeight) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < height; y++) {
        const from = c * sourcePlane + y * sourceWidth;
        target.set(source.subarray(from, from + width), c * canvasPlane + (top + y) * canvasWidth + left);
      }
    }
    return;
  }
  const columns = floatAxis(sourceWidth, width);
  const rows = floatAxis(sourceHeight, height);
  // Horizontal pass of every source row a target row reads, in float32.
  const horizontal = new Float32Array(sourceHeight * width);
  const needed = new Uint8Array(sourceHeight);
  for (let y = 0; y < height; y++) needed[rows.first[y]!] = needed[rows.second[y]!] = 1;
  for (let c = 0; c < channels; c++) {
    const plane = c * sourcePlane;
    for (let sy = 0; sy < sourceHeight; sy++) {
      if (needed[sy] === 0) continue;
      const row = plane + sy * sourceWidth;
      const out = sy * width;
      for (let x = 0; x < width; x++) {
        horizontal[out + x] = source[row + columns.first[x]!]! * columns.weightFirst[x]! + source[row + columns.second[x]!]! * columns.weightSecond[x]!;
      }
    }
    for (let y = 0; y < height; y++) {
      const upper = rows.first[y]! * width;
      const lower = rows.second[y]! * width;
      const weightUpper = rows.weightFirst[y]!;
      const weightLower = rows.weightSecond[y]!;
      const out = c * canvasPlane + (top + y) * canvasWidth + left;
      for (let x = 0; x < width; x++) target[out + x] = horizontal[upper + x]! * weightUpper + horizontal[lower + x]! * weightLower;
    }
  }
}

/** One float plane resized bilinearly to targetWidth × targetHeight (see resizePlanesInto); a new array. */
export function resizePlane(source: Float32Array, sourceWidth: number, sourceHeight: number, targetWidth: number, targetHeight: number): Float32Array {
  const target = new Float32Array(targetWidth * targetHeight);
  resizePlanesInto(source, sourceWidth, sourceHeight, 1, target, targetWidth, targetHeight, { left: 0, top: 0, width: targetWidth, height: targetHeight });
  return target;
}

/** Sets every pixel of each CHW plane of `target` outside `region` to that channel's `values` entry. */
function fillOutside(target: Float32Array, canvasWidth: number, canvasHeight: number, region: CanvasRegion, values: readonly number[]): void {
  const plane = canvasWidth * canvasHeight;
  const bottom = region.top + region.height;
  const right = region.left + region.width;
  for (let c = 0; c < values.length; c++) {
    const start = c * plane;
    const value = values[c]!;
    target.fill(value, start, start + region.top * canvasWidth);
    target.fill(value, start + bottom * canvasWidth, start + plane);
    for (let y = region.top; y < bottom; y++) {
      target.fill(value, start + y * canvasWidth, start + y * canvasWidth + region.left);
      target.fill(value, start + y * canvasWidth + right, start + (y + 1) * canvasWidth);
    }
  }
}

/**
 * The size RF-DETR letterboxes into (docs/model-families.md §1.2 step 4, §1.4 step 8): PREPROCESSING.resize's
 * width × height when the "non-square" flag holds (letterbox, those two differ, and the model's
 * input is square), else the model's input size.
 */
export function letterboxTarget(resize: ResizeConfig, inputWidth: number, inputHeight: number): { width: number; height: number } {
  if (resize.method !== "letterbox") return { width: inputWidth, height: inputHeight };
  const width = resize.width ?? inputWidth;
  const height = resize.height ?? inputHeight;
  const nonSquare = width !== height && inputWidth === inputHeight;
  return nonSquare ? { width, height } : { width: inputWidth, height: inputHeight };
}

/**
 * RF-DETR's preprocessing after decoding and the static crop / contrast / grayscale steps (spec
 * docs/model-families.md §1.3 steps 3-5), into `target` as CHW RGB float32 of inputWidth × inputHeight:
 * 1. normalise the 8-bit image (normalisedPlanes), before any resizing;
 * 2. stretch: bilinear resize of the float image to the input size (no rounding back to 8 bits);
 *    letterbox: the letterbox geometry of resize.ts (truncated size, floor-halved padding) into the
 *    size of letterboxTarget, padded with the resize's colour **as normalised values**
 *    (0, 114 or 255 per channel: black is then the channel mean, grey and white far out of range);
 *    when that size is not the input size (the non-square flag), the padded image is then
 *    stretched bilinearly to the input size.
 */
export function normaliseThenResizeInto(image: RgbImage, resize: ResizeConfig, inputWidth: number, inputHeight: number, target: Float32Array, norm: Normalisation): void {
  if (target.length < 3 * inputWidth * inputHeight) {
    throw new RangeError(`target holds ${target.length} floats, a ${inputWidth}x${inputHeight} CHW tensor needs ${3 * inputWidth * inputHeight}`);
  }
  const planes = normalisedPlanes(image, norm);
  const whole = (width: number, height: number): CanvasRegion => ({ left: 0, top: 0, width, height });
  if (resize.method === "stretch") {
    resizePlanesInto(planes, image.width, image.height, 3, target, inputWidth, inputHeight, whole(inputWidth, inputHeight));
    return;
  }
  const box = letterboxTarget(resize, inputWidth, inputHeight);
  const geometry = letterboxGeometry(image.width, image.height, box.width, box.height);
  if (geometry.width <= 0 || geometry.height <= 0) {
    throw new RangeError(`a ${image.width}x${image.height} image letterboxes to nothing in ${box.width}x${box.height}`);
  }
  const region: CanvasRegion = { left: geometry.left, top: geometry.top, width: geometry.width, height: geometry.height };
  const direct = box.width === inputWidth && box.height === inputHeight;
  const canvas = direct ? target : new Float32Array(3 * box.width * box.height);
  fillOutside(canvas, box.width, box.height, region, resize.padRgb);
  resizePlanesInto(planes, image.width, image.height, 3, canvas, box.width, box.height, region);
  if (!direct) resizePlanesInto(canvas, box.width, box.height, 3, target, inputWidth, inputHeight, whole(inputWidth, inputHeight));
}

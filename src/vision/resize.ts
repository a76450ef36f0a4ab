// Bilinear resizing that reproduces the reference's cv2.resize (INTER_LINEAR), writing normalised float32 CHW tensors.

import type { RgbImage } from "./decode.ts";

/** Per-channel (R, G, B) normalisation: out = (v / 255 - mean[c]) / std[c]. Detection uses mean 0, std 1. */
export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** Where the resized image sits inside a letterboxed canvas. */
export interface LetterboxGeometry {
  /** Size of the resized image before padding. */
  width: number;
  height: number;
  /** Padding before it; the right and bottom get the rest. */
  left: number;
  top: number;
}

/** One axis of a bilinear resize: per destination index, two source indices and their weights. */
export interface Axis<Weights extends Float64Array | Int32Array> {
  first: Int32Array;
  second: Int32Array;
  weightFirst: Weights;
  weightSecond: Weights;
}

/**
 * The float32 resize of x86 OpenCV builds (the reference's) runs through Intel IPP, which
 * places half-pixel centres in double precision and repeats the edge pixel outside the source.
 * (OpenCV's own float path rounds positions to float32 first: up to 1e-3 apart, measured.)
 */
export function floatAxis(sourceLength: number, targetLength: number): Axis<Float64Array> {
  const axis = {
    first: new Int32Array(targetLength),
    second: new Int32Array(targetLength),
    weightFirst: new Float64Array(targetLength),
    weightSecond: new Float64Array(targetLength),
  };
  const scale = sourceLength / targetLength;
  const last = sourceLength - 1;
  for (let d = 0; d < targetLength; d++) {
    const position = (d + 0.5) * scale - 0.5;
    let index = Math.floor(position);
    let fraction = position - index;
    if (index < 0) {
      index = 0;
      fraction = 0;
    }
    if (index >= last) {
      index = last;
      fraction = 0;
    }
    axis.first[d] = index;
    axis.second[d] = Math.min(index + 1, last);
    axis.weightFirst[d] = 1 - fraction;
    axis.weightSecond[d] = fraction;
  }
  return axis;
}

// OpenCV's fixed-point weights for 8-bit resizing: INTER_RESIZE_COEF_BITS = 11.
const COEF_SCALE = 2048;

/**
 * How cv::resize treats positions outside the source: horizontally it moves them onto the edge
 * pixel with weights (1, 0); vertically it keeps the weights and clamps the row indices. Both
 * repeat the edge, but the rounding differs, so each axis copies its own.
 */
type EdgeRule = "clamp-position" | "clamp-indices";

/**
 * OpenCV's own 8-bit INTER_LINEAR axis (IPP is not used there): the position is computed in
 * double from 1 / (dst / src), rounded to float32, and the weights become 11-bit fixed point.
 */
function fixedAxis(sourceLength: number, targetLength: number, edge: EdgeRule): Axis<Int32Array> {
  const axis = {
    first: new Int32Array(targetLength),
    second: new Int32Array(targetLength),
    weightFirst: new Int32Array(targetLength),
    weightSecond: new Int32Array(targetLength),
  };
  const scale = 1 / (targetLength / sourceLength);
  const last = sourceLength - 1;
  for (let d = 0; d < targetLength; d++) {
    const position = Math.fround((d + 0.5) * scale - 0.5);
    let index = Math.floor(position);
    let fraction = Math.fround(position - index);
    if (edge === "clamp-position") {
      if (index < 0) {
        index = 0;
        fraction = 0;
      }
      if (index >= last) {
        index = last;
        fraction = 0;
      }
    }
    axis.first[d] = Math.min(Math.max(index, 0), last);
    axis.second[d] = Math.min(Math.max(index + 1, 0), last);
    axis.weightFirst[d] = roundHalfEven(Math.fround(1 - fraction) * COEF_SCALE);
    axis.weightSecond[d] = roundHalfEven(fraction * COEF_SCALE);
  }
  return axis;
}

/** cvRound: nearest integer, ties to even. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5) return floor + 1;
  if (difference < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The horizontally resized source rows (planar: R then G then B, `width` each) that the
 * current output row blends. Output rows walk down the source, so two cached rows suffice.
 */
class RowCache<Row extends Float32Array | Int32Array> {
  private readonly rows: [Row, Row];
  private readonly indices = [-1, -1];

  constructor(
    allocate: () => Row,
    private readonly fill: (sourceRow: number, out: Row) => void,
  ) {
    this.rows = [allocate(), allocate()];
  }

  /** Source row `index`, computing it if needed without evicting row `keep`. */
  row(index: number, keep: number): Row {
    if (this.indices[0] === index) return this.rows[0];
    if (this.indices[1] === index) return this.rows[1];
    const slot = this.indices[0] === keep ? 1 : 0;
    this.fill(index, this.rows[slot]);
    this.indices[slot] = index;
    return this.rows[slot];
  }
}

/** Horizontal pass of one source row into planar float32, as IPP keeps its intermediate rows. */
function resizeRowFloat(image: RgbImage, row: number, columns: Axis<Float64Array>, out: Float32Array): void {
  const source = image.data;
  const rowStart = row * image.width * 3;
  const { first, second, weightFirst, weightSecond } = columns;
  const width = first.length;
  for (let x = 0; x < width; x++) {
    const a = rowStart + first[x]! * 3;
    const b = rowStart + second[x]! * 3;
    const wa = weightFirst[x]!;
    const wb = weightSecond[x]!;
    out[x] = source[a]! * wa + source[b]! * wb;
    out[width + x] = source[a + 1]! * wa + source[b + 1]! * wb;
    out[2 * width + x] = source[a + 2]! * wa + source[b + 2]! * wb;
  }
}

/** Horizontal pass of one source row into planar fixed point (value x 2048), exact like OpenCV's. */
function resizeRowFixed(image: RgbImage, row: number, columns: Axis<Int32Array>, out: Int32Array): void {
  const source = image.data;
  const rowStart = row * image.width * 3;
  const { first, second, weightFirst, weightSecond } = columns;
  const width = first.length;
  for (let x = 0; x < width; x++) {
    const a = rowStart + first[x]! * 3;
    const b = rowStart + second[x]! * 3;
    const wa = weightFirst[x]!;
    const wb = weightSecond[x]!;
    out[x] = source[a]! * wa + source[b]! * wb;
    out[width + x] = source[a + 1]! * wa + source[b + 1]! * wb;
    out[2 * width + x] = source[a + 2]! * wa + source[b + 2]! * wb;
  }
}

/** float32 constants of a normalisation, as numpy applies a Python float to a float32 array. */
function normalisationConstants(norm: Normalisation): { mean: Float64Array; std: Float64Array; identity: boolean } {
  const mean = Float64Array.from(norm.mean, Math.fround);
  const std = Float64Array.from(norm.std, Math.fround);
  const identity = mean.every((m) => m === 0) && std.every((s) => s === 1);
  return { mean, std, identity };
}

/** The normalised float of each 8-bit value of each channel: 3 x 256 entries. */
function normalisationTable(norm: Normalisation): Float32Array {
  const { mean, std } = normalisationConstants(norm);
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = Math.fround(Math.fround(v / 255) - mean[c]!) / std[c]!;
  }
  return table;
}

function checkTarget(target: Float32Array, width: number, height: number): void {
  if (target.length < 3 * width * height) {
    throw new RangeError(`target holds ${target.length} floats, a ${width}x${height} CHW tensor needs ${3 * width * height}`);
  }
}

/** An image that needs no resizing, through the lookup table into a canvas at (left, top). */
function writeUnresized(image: RgbImage, table: Float32Array, target: Float32Array, canvasWidth: number, canvasHeight: number, left: number, top: number): void {
  const plane = canvasWidth * canvasHeight;
  const source = image.data;
  for (let y = 0; y < image.height; y++) {
    const rowStart = (top + y) * canvasWidth + left;
    const sourceStart = y * image.width * 3;
    for (let c = 0; c < 3; c++) {
      const planeStart = c * plane + rowStart;
      const tableStart = c * 256;
      for (let x = 0, i = sourceStart + c; x < image.width; x++, i += 3) {
        target[planeStart + x] = table[tableStart + source[i]!]!;
      }
    }
  }
}

/**
 * The reference's "Stretch to": the image is converted to float32 and resized to exactly
 * width x height in float (no rounding back to 8 bits), then normalised into `target` as CHW RGB.
 */
export function stretchInto(image: RgbImage, width: number, height: number, target: Float32Array, norm: Normalisation): void {
  checkTarget(target, width, height);
  if (image.width === width && image.height === height) {
    writeUnresized(image, normalisationTable(norm), target, width, height, 0, 0);
    return;
  }
  const columns = floatAxis(image.width, width);
  const rows = floatAxis(image.height, height);
  const { mean, std, identity } = normalisationConstants(norm);
  // Reciprocals instead of divisions halve this loop's cost (measured). For 1/255 the float32
  // result equals numpy's division for every 8-bit value (and every float32 we sampled);
  // 1/std can differ from numpy's division by one float32 ulp.
  const inverse255 = 1 / 255;
  const plane = width * height;
  const cache = new RowCache(
    () => new Float32Array(width * 3),
    (row, out: Float32Array) => resizeRowFloat(image, row, columns, out),
  );
  for (let y = 0; y < height; y++) {
    const upper = cache.row(rows.first[y]!, rows.second[y]!);
    const lower = cache.row(rows.second[y]!, rows.first[y]!);
    const weightUpper = rows.weightFirst[y]!;
    const weightLower = rows.weightSecond[y]!;
    for (let c = 0; c < 3; c++) {
      const out = c * plane + y * width;
      const row = c * width;
      if (identity) {
        for (let x = 0; x < width; x++) {
          target[out + x] = Math.fround(upper[row + x]! * weightUpper + lower[row + x]! * weightLower) * inverse255;
        }
      } else {
        const m = mean[c]!;
        const inverseStd = 1 / std[c]!;
        for (let x = 0; x < width; x++) {
          const value = Math.fround(upper[row + x]! * weightUpper + lower[row + x]! * weightLower);
          target[out + x] = Math.fround(Math.fround(value * inverse255) - m) * inverseStd;
        }
      }
    }
  }
}

/**
 * OpenCV's 8-bit INTER_LINEAR resize, handing each output row (planar R, G, B) to `emit`.
 * The vertical rounding is OpenCV's: ((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2) >> 2.
 */
function resizeRowsFixed(image: RgbImage, width: number, height: number, emit: (y: number, row: Uint8Array) => void): void {
  const columns = fixedAxis(image.width, width, "clamp-position");
  const rows = fixedAxis(image.height, height, "clamp-indices");
  const cache = new RowCache(
    () => new Int32Array(width * 3),
    (row, out: Int32Array) => resizeRowFixed(image, row, columns, out),
  );
  const out = new Uint8Array(width * 3);
  for (let y = 0; y < height; y++) {
    const upper = cache.row(rows.first[y]!, rows.second[y]!);
    const lower = cache.row(rows.second[y]!, rows.first[y]!);
    const weightUpper = rows.weightFirst[y]!;
    const weightLower = rows.weightSecond[y]!;
    for (let i = 0; i < out.length; i++) {
      out[i] = (((weightUpper * (upper[i]! >> 4)) >> 16) + ((weightLower * (lower[i]! >> 4)) >> 16) + 2) >> 2;
    }
    emit(y, out);
  }
}

/** cv2.resize(image, (width, height)) on an 8-bit image, bit-exact with OpenCV's INTER_LINEAR. */
export function resizeRgb(image: RgbImage, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  resizeRowsFixed(image, width, height, (y, row) => {
    const rowStart = y * width * 3;
    for (let x = 0; x < width; x++) {
      data[rowStart + x * 3] = row[x]!;
      data[rowStart + x * 3 + 1] = row[width + x]!;
      data[rowStart + x * 3 + 2] = row[2 * width + x]!;
    }
  });
  return { data, width, height };
}

function checkPixelTarget(target: Uint8Array | Uint16Array, width: number, height: number): void {
  if (target.length < 3 * width * height) {
    throw new RangeError(`target holds ${target.length} values, a ${width}x${height} CHW image needs ${3 * width * height}`);
  }
}

/** `image` copied unresized into CHW planes of canvasWidth x canvasHeight at (left, top), each level times `scale`. */
function copyPixelsInto(image: RgbImage, target: Uint8Array | Uint16Array, canvasWidth: number, canvasHeight: number, left: number, top: number, scale = 1): void {
  const plane = canvasWidth * canvasHeight;
  const source = image.data;
  for (let y = 0; y < image.height; y++) {
    const rowStart = (top + y) * canvasWidth + left;
    const sourceStart = y * image.width * 3;
    for (let c = 0; c < 3; c++) {
      const out = c * plane + rowStart;
      for (let x = 0, i = sourceStart + c; x < image.width; x++, i += 3) target[out + x] = source[i]! * scale;
    }
  }
}

/**
 * "Stretch to" for a pixel-input slot (docs/compatibility.md §4.1): stretchInto's float resize (the reference's
 * cv2.resize of a float32 copy) into CHW planes, each value rounded to the nearest 1/256 of a level into 16 bits (8.8
 * fixed point), or to the nearest level into 8 bits.
 */
export function stretchPixelsInto(image: RgbImage, width: number, height: number, target: Uint8Array | Uint16Array): void {
  checkPixelTarget(target, width, height);
  const scale = target instanceof Uint16Array ? 256 : 1;
  if (image.width === width && image.height === height) {
    copyPixelsInto(image, target, width, height, 0, 0, scale);
    return;
  }
  const columns = floatAxis(image.width, width);
  const rows = floatAxis(image.height, height);
  const plane = width * height;
  const cache = new RowCache(
    () => new Float32Array(width * 3),
    (row, out: Float32Array) => resizeRowFloat(image, row, columns, out),
  );
  for (let y = 0; y < height; y++) {
    const upper = cache.row(rows.first[y]!, rows.second[y]!);
    const lower = cache.row(rows.second[y]!, rows.first[y]!);
    // Bilinear weights sum to 1, so values stay within 0..255 levels: adding a half and truncating rounds to nearest.
    const weightUpper = rows.weightFirst[y]! * scale;
    const weightLower = rows.weightSecond[y]! * scale;
    for (let c = 0; c < 3; c++) {
      const out = c * plane + y * width;
      const row = c * width;
      for (let x = 0; x < width; x++) target[out + x] = (upper[row + x]! * weightUpper + lower[row + x]! * weightLower + 0.5) | 0;
    }
  }
}

/** The reference's "Fit (… edges) in" for an 8-bit pixel-input slot: letterboxInto's pixels before normalisation, CHW. */
export function letterboxPixelsInto(image: RgbImage, width: number, height: number, padRgb: readonly [number, number, number], target: Uint8Array): void {
  checkPixelTarget(target, width, height);
  const geometry = letterboxGeometry(image.width, image.height, width, height);
  if (geometry.width <= 0 || geometry.height <= 0) {
    throw new RangeError(`a ${image.width}x${image.height} image letterboxes to nothing in ${width}x${height}`);
  }
  const plane = width * height;
  const { left, top } = geometry;
  const right = left + geometry.width;
  const bottom = top + geometry.height;
  for (let c = 0; c < 3; c++) {
    const pad = padRgb[c]!;
    const planeStart = c * plane;
    target.fill(pad, planeStart, planeStart + top * width);
    target.fill(pad, planeStart + bottom * width, planeStart + plane);
    for (let y = top; y < bottom; y++) {
      const rowStart = planeStart + y * width;
      target.fill(pad, rowStart, rowStart + left);
      target.fill(pad, rowStart + right, rowStart + width);
    }
  }
  if (geometry.width === image.width && geometry.height === image.height) {
    copyPixelsInto(image, target, width, height, left, top);
    return;
  }
  const resizedWidth = geometry.width;
  resizeRowsFixed(image, resizedWidth, geometry.height, (y, row) => {
    const rowStart = (top + y) * width + left;
    for (let c = 0; c < 3; c++) target.set(row.subarray(c * resizedWidth, (c + 1) * resizedWidth), c * plane + rowStart);
  });
}

/**
 * The reference letterbox's resized size and padding: keep the aspect ratio, truncate the
 * scaled side (`int()`), centre with the odd pixel of padding on the right/bottom.
 */
export function letterboxGeometry(sourceWidth: number, sourceHeight: number, width: number, height: number): LetterboxGeometry {
  const sourceRatio = sourceWidth / sourceHeight;
  const targetRatio = width / height;
  let resizedWidth: number;
  let resizedHeight: number;
  if (sourceRatio >= targetRatio) {
    resizedWidth = width;
    resizedHeight = Math.trunc(width / sourceRatio);
  } else {
    resizedHeight = height;
    resizedWidth = Math.trunc(height * sourceRatio);
  }
  return {
    width: resizedWidth,
    height: resizedHeight,
    left: Math.floor((width - resizedWidth) / 2),
    top: Math.floor((height - resizedHeight) / 2),
  };
}

/**
 * The reference's "Fit (… edges) in": 8-bit bilinear resize keeping the aspect ratio, padded
 * with `padRgb` to width x height, normalised into `target` as CHW RGB.
 */
export function letterboxInto(image: RgbImage, width: number, height: number, padRgb: readonly [number, number, number], target: Float32Array, norm: Normalisation): void {
  checkTarget(target, width, height);
  const geometry = letterboxGeometry(image.width, image.height, width, height);
  if (geometry.width <= 0 || geometry.height <= 0) {
    throw new RangeError(`a ${image.width}x${image.height} image letterboxes to nothing in ${width}x${height}`);
  }
  const table = normalisationTable(norm);
  const plane = width * height;
  const { left, top } = geometry;
  const bottom = top + geometry.height;
  const right = left + geometry.width;
  for (let c = 0; c < 3; c++) {
    const padValue = table[c * 256 + padRgb[c]!]!;
    const planeStart = c * plane;
    target.fill(padValue, planeStart, planeStart + top * width);
    target.fill(padValue, planeStart + bottom * width, planeStart + plane);
    for (let y = top; y < bottom; y++) {
      const rowStart = planeStart + y * width;
      target.fill(padValue, rowStart, rowStart + left);
      target.fill(padValue, rowStart + right, rowStart + width);
    }
  }
  if (geometry.width === image.width && geometry.height === image.height) {
    writeUnresized(image, table, target, width, height, left, top);
    return;
  }
  const resizedWidth = geometry.width;
  resizeRowsFixed(image, resizedWidth, geometry.height, (y, row) => {
    const rowStart = (top + y) * width + left;
    for (let c = 0; c < 3; c++) {
      const out = c * plane + rowStart;
      const tableStart = c * 256;
      const channel = c * resizedWidth;
      for (let x = 0; x < resizedWidth; x++) target[out + x] = table[tableStart + row[channel + x]!]!;
    }
  });
}

// Contrast and grayscale preprocessing on RGB images, reproducing the reference's OpenCV/scikit-image maths.

import type { RgbImage } from "./decode.ts";

// cv2.cvtColor(BGR2GRAY) on 8-bit images: 15-bit fixed-point weights (R 0.299, G 0.587, B 0.114).
const GRAY_RED = 9798;
const GRAY_GREEN = 19235;
const GRAY_BLUE = 3735;
const GRAY_SHIFT = 15;
const GRAY_ROUND = 1 << (GRAY_SHIFT - 1);

/** Luma of each pixel, as cv2.cvtColor(image, COLOR_BGR2GRAY) computes it. */
export function grayLevels(image: RgbImage): Uint8Array {
  const pixels = image.width * image.height;
  const gray = new Uint8Array(pixels);
  const data = image.data;
  for (let p = 0, i = 0; p < pixels; p++, i += 3) {
    gray[p] = (data[i]! * GRAY_RED + data[i + 1]! * GRAY_GREEN + data[i + 2]! * GRAY_BLUE + GRAY_ROUND) >> GRAY_SHIFT;
  }
  return gray;
}

/** GRAY2BGR: three equal channels. */
function fromGray(gray: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(gray.length * 3);
  for (let p = 0, i = 0; p < gray.length; p++, i += 3) {
    const value = gray[p]!;
    data[i] = value;
    data[i + 1] = value;
    data[i + 2] = value;
  }
  return { data, width, height };
}

/** The reference's "grayscale" step: BGR -> gray -> BGR. */
export function toGrayscale(image: RgbImage): RgbImage {
  return fromGray(grayLevels(image), image.width, image.height);
}

/** cvRound on a float32 product: nearest, ties to even, saturated to 8 bits. */
function saturateRound(value: number): number {
  if (value <= 0) return 0;
  if (value >= 255) return 255;
  const floor = Math.floor(value);
  const difference = value - floor;
  if (difference > 0.5 || (difference === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/** numpy.percentile's default ("linear") for values given as a 256-bin histogram of `count` samples. */
function percentileFromHistogram(histogram: Float64Array, count: number, percent: number): number {
  const quantile = percent / 100;
  const virtualIndex = (count - 1) * quantile;
  const below = Math.min(Math.max(Math.floor(virtualIndex), 0), count - 1);
  const above = Math.min(below + 1, count - 1);
  const gamma = virtualIndex - Math.floor(virtualIndex);
  const a = valueAtRank(histogram, below);
  const b = valueAtRank(histogram, above);
  // numpy's _lerp: a + (b - a) * t, computed from the other end when t >= 0.5.
  const difference = b - a;
  return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
}

function valueAtRank(histogram: Float64Array, rank: number): number {
  let seen = 0;
  for (let value = 0; value < 256; value++) {
    seen += histogram[value]!;
    if (seen > rank) return value;
  }
  return 255;
}

/**
 * "Contrast Stretching": p2, p98 = numpy.percentile(image, (2, 98)) over every channel value,
 * then skimage.exposure.rescale_intensity(image, in_range=(p2, p98)) into uint8 (truncating).
 */
export function stretchContrast(image: RgbImage): RgbImage {
  const data = image.data;
  const histogram = new Float64Array(256);
  for (let i = 0; i < data.length; i++) histogram[data[i]!]!++;
  const low = percentileFromHistogram(histogram, data.length, 2);
  const high = percentileFromHistogram(histogram, data.length, 98);
  const table = new Uint8Array(256);
  for (let value = 0; value < 256; value++) {
    const clipped = Math.min(Math.max(value, low), high);
    table[value] = low === high ? clipped : Math.trunc(((clipped - low) / (high - low)) * 255);
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = table[data[i]!]!;
  return { data: out, width: image.width, height: image.height };
}

/** cv2.equalizeHist on the luma, back to three equal channels ("Histogram Equalization"). */
export function equalizeHistogram(image: RgbImage): RgbImage {
  const gray = grayLevels(image);
  const histogram = new Int32Array(256);
  for (let p = 0; p < gray.length; p++) histogram[gray[p]!]!++;
  let first = 0;
  while (first < 255 && histogram[first] === 0) first++;
  const table = new Uint8Array(256);
  if (histogram[first] === gray.length) {
    table.fill(first);
  } else {
    const scale = Math.fround(255 / (gray.length - histogram[first]!));
    let sum = 0;
    for (let value = first + 1; value < 256; value++) {
      sum += histogram[value]!;
      table[value] = saturateRound(Math.fround(sum * scale));
    }
  }
  for (let p = 0; p < gray.length; p++) gray[p] = table[gray[p]!]!;
  return fromGray(gray, image.width, image.height);
}

// The reference's cv2.createCLAHE(clipLimit=0.03, tileGridSize=(8, 8)).
const CLAHE_CLIP_LIMIT = 0.03;
const CLAHE_TILES = 8;

/** cv2 CLAHE on the luma, back to three equal channels ("Adaptive Equalization"). */
export function equalizeAdaptive(image: RgbImage): RgbImage {
  const { width, height } = image;
  const gray = grayLevels(image);
  const tiles = CLAHE_TILES;
  // OpenCV pads with BORDER_REFLECT_101 up to a multiple of the grid whenever either side is not
  // one, by tiles - (side % tiles) on both sides (so a side that already divides gains a whole tile).
  const padded = width % tiles !== 0 || height % tiles !== 0;
  const lutWidth = padded ? width + tiles - (width % tiles) : width;
  const lutHeight = padded ? height + tiles - (height % tiles) : height;
  const tileWidth = lutWidth / tiles;
  const tileHeight = lutHeight / tiles;
  const tileArea = tileWidth * tileHeight;
  const lutScale = Math.fround(255 / tileArea);
  const clipLimit = Math.max(Math.trunc((CLAHE_CLIP_LIMIT * tileArea) / 256), 1);

  const sourceColumn = new Int32Array(lutWidth);
  for (let x = 0; x < lutWidth; x++) sourceColumn[x] = reflect101(x, width);
  const luts = new Uint8Array(tiles * tiles * 256);
  const histogram = new Int32Array(256);
  for (let ty = 0; ty < tiles; ty++) {
    for (let tx = 0; tx < tiles; tx++) {
      histogram.fill(0);
      for (let y = ty * tileHeight; y < (ty + 1) * tileHeight; y++) {
        const rowStart = reflect101(y, height) * width;
        for (let x = tx * tileWidth; x < (tx + 1) * tileWidth; x++) histogram[gray[rowStart + sourceColumn[x]!]!]!++;
      }
      clipHistogram(histogram, clipLimit);
      const lutStart = (ty * tiles + tx) * 256;
      let sum = 0;
      for (let value = 0; value < 256; value++) {
        sum += histogram[value]!;
        luts[lutStart + value] = saturateRound(Math.fround(sum * lutScale));
      }
    }
  }

  // Bilinear interpolation between the four nearest tiles' tables, in float32 like OpenCV.
  const inverseTileWidth = Math.fround(1 / tileWidth);
  const inverseTileHeight = Math.fround(1 / tileHeight);
  const leftTable = new Int32Array(width);
  const rightTable = new Int32Array(width);
  const rightWeight = new Float32Array(width);
  const leftWeight = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const position = Math.fround(Math.fround(x * inverseTileWidth) - 0.5);
    const left = Math.floor(position);
    rightWeight[x] = Math.fround(position - left);
    leftWeight[x] = Math.fround(1 - rightWeight[x]!);
    leftTable[x] = Math.max(left, 0) * 256;
    rightTable[x] = Math.min(left + 1, tiles - 1) * 256;
  }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const position = Math.fround(Math.fround(y * inverseTileHeight) - 0.5);
    const top = Math.floor(position);
    const bottomWeight = Math.fround(position - top);
    const topWeight = Math.fround(1 - bottomWeight);
    const topPlane = Math.max(top, 0) * tiles * 256;
    const bottomPlane = Math.min(top + 1, tiles - 1) * tiles * 256;
    const rowStart = y * width;
    for (let x = 0; x < width; x++) {
      const value = gray[rowStart + x]!;
      const left = leftTable[x]! + value;
      const right = rightTable[x]! + value;
      const wl = leftWeight[x]!;
      const wr = rightWeight[x]!;
      const upper = Math.fround(Math.fround(luts[topPlane + left]! * wl) + Math.fround(luts[topPlane + right]! * wr));
      const lower = Math.fround(Math.fround(luts[bottomPlane + left]! * wl) + Math.fround(luts[bottomPlane + right]! * wr));
      out[rowStart + x] = saturateRound(Math.fround(Math.fround(upper * topWeight) + Math.fround(lower * bottomWeight)));
    }
  }
  return fromGray(out, width, height);
}

/** BORDER_REFLECT_101 index (…, 2, 1 | 0, 1, 2, …, n-1 | n-2, …). */
function reflect101(index: number, length: number): number {
  if (length === 1) return 0;
  let i = index;
  while (i < 0 || i >= length) i = i < 0 ? -i : 2 * (length - 1) - i;
  return i;
}

/** OpenCV's CLAHE clipping: cut every bin at the limit, spread the excess evenly, the remainder stepwise. */
function clipHistogram(histogram: Int32Array, clipLimit: number): void {
  let clipped = 0;
  for (let value = 0; value < 256; value++) {
    if (histogram[value]! > clipLimit) {
      clipped += histogram[value]! - clipLimit;
      histogram[value] = clipLimit;
    }
  }
  const batch = Math.trunc(clipped / 256);
  let residual = clipped - batch * 256;
  for (let value = 0; value < 256; value++) histogram[value]! += batch;
  if (residual !== 0) {
    const step = Math.max(Math.trunc(256 / residual), 1);
    for (let value = 0; value < 256 && residual > 0; value += step, residual--) histogram[value]!++;
  }
}

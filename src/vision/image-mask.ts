// Binary masks at original-image resolution, from masks at model or prototype resolution: what an RLE answer encodes (docs/model-families.md §5).
import { staticCropRegion, type RescaleGeometry } from "./boxes.ts";
import type { MaskWindow } from "./masks.ts";

/**
 * The mask of `window` (a binary window of a maskWidth × maskHeight mask) as a row-major
 * imageWidth × imageHeight mask of the original image (0 or 1), by nearest sampling: each image
 * pixel inside the static crop region takes the mask pixel under its centre, through the inverse
 * of polygon rescaling (polygons.ts `rescalePolygon`), so an RLE and the polygon of one mask agree:
 * - stretch: mask x = (u + 0.5) · maskWidth / w, with u = x - shiftX and w the cropped width;
 * - letterbox: s = min(maskHeight / h, maskWidth / w), pad = (maskWidth - int(w · s)) / 2,
 *   mask x = (u + 0.5) · s + pad;
 * likewise for y. Pixels outside the crop region, or mapping outside the window, are 0.
 *
 * This is how a mask the reference never brings to full resolution (fast and tradeoff modes,
 * prototype-grid masks) becomes one; a mask already at the cropped region's size maps one to one.
 */
export function maskAtImageResolution(window: MaskWindow, maskWidth: number, maskHeight: number, geometry: RescaleGeometry): Uint8Array {
  const { imageWidth, imageHeight } = geometry;
  const region = staticCropRegion(imageWidth, imageHeight, geometry.staticCrop);
  // Mask coordinate = (u + 0.5) · numerator / denominator + pad; stretch keeps the exact ratio of integers.
  let [numeratorX, denominatorX, numeratorY, denominatorY] = [maskWidth, region.width, maskHeight, region.height];
  let padX = 0;
  let padY = 0;
  if (geometry.resize === "letterbox") {
    const scale = Math.min(maskHeight / region.height, maskWidth / region.width);
    [numeratorX, denominatorX, numeratorY, denominatorY] = [scale, 1, scale, 1];
    padX = (maskWidth - Math.trunc(region.width * scale)) / 2;
    padY = (maskHeight - Math.trunc(region.height * scale)) / 2;
  }
  const sampleIndices = (
    imageSize: number,
    shift: number,
    regionSize: number,
    numerator: number,
    denominator: number,
    pad: number,
    windowStart: number,
    windowSize: number,
  ): Int32Array => {
    const indices = new Int32Array(imageSize).fill(-1);
    for (let p = 0; p < imageSize; p++) {
      const u = p - shift;
      if (u < 0 || u >= regionSize) continue;
      const inWindow = Math.floor(((u + 0.5) * numerator) / denominator + pad) - windowStart;
      if (inWindow >= 0 && inWindow < windowSize) indices[p] = inWindow;
    }
    return indices;
  };
  const columns = sampleIndices(imageWidth, region.shiftX, region.width, numeratorX, denominatorX, padX, window.left, window.width);
  const rows = sampleIndices(imageHeight, region.shiftY, region.height, numeratorY, denominatorY, padY, window.top, window.height);

  const mask = new Uint8Array(imageWidth * imageHeight);
  for (let y = 0; y < imageHeight; y++) {
    const row = rows[y]!;
    if (row < 0) continue;
    const source = row * window.width;
    const out = y * imageWidth;
    for (let x = 0; x < imageWidth; x++) {
      const column = columns[x]!;
      if (column >= 0 && window.data[source + column] !== 0) mask[out + x] = 1;
    }
  }
  return mask;
}

// Box rescaling: xyxy boxes in model-input pixels back to original-image pixels, as the reference's post_process_bboxes.
import { roundHalfToEven } from "../python-rounding.ts";

/** Static crop as configured in the model's preprocessing: percentages of the decoded image, 0..100. */
export interface StaticCropPercentages {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** How one image reached the model input, which is what rescaling has to undo. */
export interface RescaleGeometry {
  inputWidth: number;
  inputHeight: number;
  /** Decoded (and oriented) image size, before the static crop. */
  imageWidth: number;
  imageHeight: number;
  resize: "stretch" | "letterbox";
  /** Non-null only when the static crop was applied to this image. */
  staticCrop: StaticCropPercentages | null;
}

/** Where the cropped region sits in the decoded image, in the rounded pixels the reference's rescaling uses. */
export interface StaticCropRegion {
  shiftX: number;
  shiftY: number;
  width: number;
  height: number;
}

/** Box in the response's centre form. */
export interface ResponseBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The reference's `get_static_crop_dimensions`: half-to-even rounded shift and size, with its exact
 * operation order (percentages divided by 100 first). Without a crop: no shift, the whole image.
 * The crop itself (preprocessing) truncates instead, so the two may differ by a pixel, as in the reference.
 */
export function staticCropRegion(imageWidth: number, imageHeight: number, staticCrop: StaticCropPercentages | null): StaticCropRegion {
  if (staticCrop === null) return { shiftX: 0, shiftY: 0, width: imageWidth, height: imageHeight };
  const xMin = staticCrop.xMin / 100;
  const yMin = staticCrop.yMin / 100;
  const xMax = staticCrop.xMax / 100;
  const yMax = staticCrop.yMax / 100;
  return {
    shiftX: roundHalfToEven(xMin * imageWidth),
    shiftY: roundHalfToEven(yMin * imageHeight),
    width: roundHalfToEven(imageWidth * (xMax - xMin)),
    height: roundHalfToEven(imageHeight * (yMax - yMin)),
  };
}

/**
 * Rescales boxes in place: `boxes` holds x1, y1, x2, y2 per box in model-input pixels and ends with
 * integer original-image pixels. Steps as the reference: undo stretch or letterbox relative to the
 * cropped region, clip to it, round half-to-even, then add the crop shift.
 */
export function rescaleBoxes(boxes: Float64Array, geometry: RescaleGeometry): void {
  const region = staticCropRegion(geometry.imageWidth, geometry.imageHeight, geometry.staticCrop);
  const { width, height, shiftX, shiftY } = region;
  if (geometry.resize === "stretch") {
    const scaleX = width / geometry.inputWidth;
    const scaleY = height / geometry.inputHeight;
    for (let k = 0; k < boxes.length; k += 4) {
      boxes[k] = boxes[k]! * scaleX;
      boxes[k + 1] = boxes[k + 1]! * scaleY;
      boxes[k + 2] = boxes[k + 2]! * scaleX;
      boxes[k + 3] = boxes[k + 3]! * scaleY;
    }
  } else {
    const scale = Math.min(geometry.inputHeight / height, geometry.inputWidth / width);
    // Rounded here although preprocessing truncated the resized size: the reference's ≤0.5 px offset, kept on purpose.
    const padX = (geometry.inputWidth - roundHalfToEven(width * scale)) / 2;
    const padY = (geometry.inputHeight - roundHalfToEven(height * scale)) / 2;
    for (let k = 0; k < boxes.length; k += 4) {
      boxes[k] = (boxes[k]! - padX) / scale;
      boxes[k + 1] = (boxes[k + 1]! - padY) / scale;
      boxes[k + 2] = (boxes[k + 2]! - padX) / scale;
      boxes[k + 3] = (boxes[k + 3]! - padY) / scale;
    }
  }
  for (let k = 0; k < boxes.length; k += 4) {
    boxes[k] = roundHalfToEven(clip(boxes[k]!, width)) + shiftX;
    boxes[k + 1] = roundHalfToEven(clip(boxes[k + 1]!, height)) + shiftY;
    boxes[k + 2] = roundHalfToEven(clip(boxes[k + 2]!, width)) + shiftX;
    boxes[k + 3] = roundHalfToEven(clip(boxes[k + 3]!, height)) + shiftY;
  }
}

/** The response's centre form of an xyxy box. */
export function responseBox(x1: number, y1: number, x2: number, y2: number): ResponseBox {
  return { x: (x1 + x2) / 2, y: (y1 + y2) / 2, width: x2 - x1, height: y2 - y1 };
}

/** np.clip(value, 0, max). */
function clip(value: number, max: number): number {
  return Math.min(Math.max(value, 0), max);
}

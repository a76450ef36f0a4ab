// Polygon rescaling: mask-pixel vertices back to original-image pixels, as the reference's post_process_polygons.
import { staticCropRegion, type RescaleGeometry } from "./boxes.ts";
import type { Contour } from "./contours.ts";

export interface PolygonPoint {
  x: number;
  y: number;
}

/**
 * Maps `polygon` (flat x, y vertices in the pixels of a maskWidth × maskHeight mask) to the original
 * image. Unlike box rescaling (docs/compatibility.md §5.3): the letterbox's resized size is truncated, not rounded, and
 * nothing is clipped or rounded, so vertices keep fractions and may fall outside the image.
 * Stretch: scale by the cropped region's size over the mask's. Letterbox: remove the padding, divide
 * by the scale. Then add the static crop's shift.
 */
export function rescalePolygon(polygon: Contour, maskWidth: number, maskHeight: number, geometry: RescaleGeometry): PolygonPoint[] {
  const { width, height, shiftX, shiftY } = staticCropRegion(geometry.imageWidth, geometry.imageHeight, geometry.staticCrop);
  const points: PolygonPoint[] = new Array(polygon.length / 2);
  if (geometry.resize === "stretch") {
    const scaleX = width / maskWidth;
    const scaleY = height / maskHeight;
    for (let k = 0; k < points.length; k++) {
      points[k] = { x: polygon[2 * k]! * scaleX + shiftX, y: polygon[2 * k + 1]! * scaleY + shiftY };
    }
  } else {
    const scale = Math.min(maskHeight / height, maskWidth / width);
    const padX = (maskWidth - Math.trunc(width * scale)) / 2;
    const padY = (maskHeight - Math.trunc(height * scale)) / 2;
    for (let k = 0; k < points.length; k++) {
      points[k] = { x: (polygon[2 * k]! - padX) / scale + shiftX, y: (polygon[2 * k + 1]! - padY) / scale + shiftY };
    }
  }
  return points;
}

// Tests of polygon rescaling from mask pixels to original-image pixels (the reference's post_process_polygons).
import { describe, expect, test } from "bun:test";
import type { RescaleGeometry } from "../../../src/vision/boxes.ts";
import { rescalePolygon } from "../../../src/vision/polygons.ts";

function geometry(imageWidth: number, imageHeight: number, resize: RescaleGeometry["resize"], staticCrop: RescaleGeometry["staticCrop"] = null): RescaleGeometry {
  return { inputWidth: 640, inputHeight: 640, imageWidth, imageHeight, resize, staticCrop };
}

describe("rescalePolygon", () => {
  test("stretch scales each axis by image size over mask size, keeping fractions", () => {
    expect(rescalePolygon(Int32Array.of(10, 20, 3, 7), 640, 640, geometry(1280, 960, "stretch"))).toEqual([
      { x: 20, y: 30 },
      { x: 6, y: 10.5 },
    ]);
  });

  test("measures against the mask's own resolution, e.g. the 160x160 grid of fast mode", () => {
    expect(rescalePolygon(Int32Array.of(40, 40), 160, 160, geometry(640, 480, "stretch"))).toEqual([{ x: 160, y: 120 }]);
  });

  test("letterbox removes the padding of a truncated resized size, then divides by the scale", () => {
    // 1000x667 into 640x640: s = 0.64, resized height int(426.88) = 426, so pad_y = 107 (rounding would say 106.5).
    const points = rescalePolygon(Int32Array.of(0, 107, 320, 533), 640, 640, geometry(1000, 667, "letterbox"));
    expect(points[0]).toEqual({ x: 0, y: 0 });
    expect(points[1]!.x).toBeCloseTo(500, 10);
    expect(points[1]!.y).toBeCloseTo(426 / 0.64, 10);
  });

  test("neither clips nor rounds: vertices in the padding map outside the image", () => {
    const [point] = rescalePolygon(Int32Array.of(0, 0), 640, 640, geometry(1000, 667, "letterbox"));
    expect(point!.x).toBe(0);
    expect(point!.y).toBeCloseTo(-107 / 0.64, 10);
    expect(rescalePolygon(Int32Array.of(639, 1), 640, 640, geometry(100, 100, "stretch"))).toEqual([{ x: 639 * (100 / 640), y: 100 / 640 }]);
  });

  test("undoes a static crop: scales to the cropped region's rounded size, then adds its shift", () => {
    // 1000x1000 cropped to x 10..90 %, y 20..70 %: shift (100, 200), region 800 x 500.
    const crop = { xMin: 10, yMin: 20, xMax: 90, yMax: 70 };
    expect(rescalePolygon(Int32Array.of(64, 64), 640, 640, geometry(1000, 1000, "stretch", crop))).toEqual([{ x: 180, y: 250 }]);
    // Letterboxed: s = min(640/500, 640/800) = 0.8, resized 640 x 400, pad_y = 120.
    expect(rescalePolygon(Int32Array.of(80, 120), 640, 640, geometry(1000, 1000, "letterbox", crop))).toEqual([{ x: 200, y: 200 }]);
  });

  test("an empty polygon stays empty", () => {
    expect(rescalePolygon(new Int32Array(0), 640, 640, geometry(10, 10, "letterbox"))).toEqual([]);
  });
});

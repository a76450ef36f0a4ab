// Test helper: masks as tests reason about them, independent of src/: rectangles and chamfered rectangles as pixel sets, polygons rasterised, and how two masks compare.

export type Point = { x: number; y: number };

/** A binary mask, row-major, width × height, 0 or 1. */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Pixels [x1, x2) × [y1, y2) set, less the four corner pixels when `chamfered` (what a 4x bilinear upscale of a rectangle of ±logits leaves). */
export function rectangleMask(width: number, height: number, x1: number, y1: number, x2: number, y2: number, chamfered = false): Mask {
  const data = new Uint8Array(width * height);
  for (let y = y1; y < y2; y++) data.fill(1, y * width + x1, y * width + x2);
  if (chamfered)
    for (const [x, y] of [
      [x1, y1],
      [x2 - 1, y1],
      [x1, y2 - 1],
      [x2 - 1, y2 - 1],
    ])
      data[y! * width + x!] = 0;
  return { width, height, data };
}

/**
 * The contour OpenCV traces around a rectangle of mask pixels [x1, x2) × [y1, y2) (CHAIN_APPROX_SIMPLE): it starts at the
 * first pixel in raster order and goes down the left side first; with `chamfered` the corner pixels are missing, so eight
 * vertices with one-pixel diagonals. Vertices are pixel indices, multiplied by (sx, sy).
 */
export function rectangleContour(x1: number, y1: number, x2: number, y2: number, chamfered = false, sx = 1, sy = 1): Point[] {
  const [left, top, right, bottom] = [x1, y1, x2 - 1, y2 - 1];
  const vertices = chamfered
    ? [
        [left + 1, top],
        [left, top + 1],
        [left, bottom - 1],
        [left + 1, bottom],
        [right - 1, bottom],
        [right, bottom - 1],
        [right, top + 1],
        [right - 1, top],
      ]
    : [
        [left, top],
        [left, bottom],
        [right, bottom],
        [right, top],
      ];
  return vertices.map(([x, y]) => ({ x: x! * sx, y: y! * sy }));
}

/** True when (px, py) lies on segment a-b (within 1e-6). */
function onSegment(px: number, py: number, a: Point, b: Point): boolean {
  const cross = (b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x);
  const length = Math.hypot(b.x - a.x, b.y - a.y);
  if (Math.abs(cross) > 1e-6 * Math.max(length, 1)) return false;
  return px >= Math.min(a.x, b.x) - 1e-6 && px <= Math.max(a.x, b.x) + 1e-6 && py >= Math.min(a.y, b.y) - 1e-6 && py <= Math.max(a.y, b.y) + 1e-6;
}

/** The pixels whose centres (integer coordinates, as polygon vertices are pixel indices) lie inside or on the polygon. */
export function rasterisePolygon(points: Point[], width: number, height: number): Mask {
  const data = new Uint8Array(width * height);
  const n = points.length;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let inside = false;
      let boundary = false;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const a = points[i]!;
        const b = points[j]!;
        if (onSegment(x, y, a, b)) {
          boundary = true;
          break;
        }
        if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
      }
      if (boundary || inside) data[y * width + x] = 1;
    }
  }
  return { width, height, data };
}

/** The inclusive pixel bounds of a mask's set pixels; null for an empty mask. */
export function maskBounds(mask: Mask): { left: number; top: number; right: number; bottom: number } | null {
  let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  return left === Infinity ? null : { left, top, right, bottom };
}

export function polygonBounds(points: Point[]) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
}

export function maskArea(mask: Mask): number {
  let area = 0;
  for (const v of mask.data) area += v;
  return area;
}

/** Intersection over union of two same-size masks (1 for two empty masks). */
export function maskIou(a: Mask, b: Mask): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`masks of ${a.width}x${a.height} and ${b.width}x${b.height}`);
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] && b.data[i]) intersection++;
    if (a.data[i] || b.data[i]) union++;
  }
  return union === 0 ? 1 : intersection / union;
}

/** The pixels where two same-size masks differ, as "x,y" strings (the first few), for readable failures. */
export function maskDifferences(a: Mask, b: Mask, limit = 12): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.data.length && out.length < limit; i++) if (a.data[i] !== b.data[i]) out.push(`${i % a.width},${Math.floor(i / a.width)}:${a.data[i]}`);
  return out;
}

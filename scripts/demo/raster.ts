// Polygon rasterising for the demo's scenes and their evaluation: even-odd scanline fill at pixel centres.

/** A closed ring of vertices, flat: x0, y0, x1, y1, … in image pixels. Several rings fill by the even-odd rule (a hole is a ring inside another). */
export type Ring = number[];

/**
 * Calls `span(y, x0, x1)` for every run of pixels [x0, x1) on row y whose centre (x + 0.5, y + 0.5)
 * lies inside `rings` by the even-odd rule, clipped to the width × height image.
 */
export function fillRings(rings: readonly Ring[], width: number, height: number, span: (y: number, x0: number, x1: number) => void): void {
  let top = Infinity;
  let bottom = -Infinity;
  for (const ring of rings) {
    for (let k = 1; k < ring.length; k += 2) {
      top = Math.min(top, ring[k]!);
      bottom = Math.max(bottom, ring[k]!);
    }
  }
  const firstRow = Math.max(0, Math.floor(top));
  const lastRow = Math.min(height - 1, Math.ceil(bottom));
  const crossings: number[] = [];
  for (let y = firstRow; y <= lastRow; y++) {
    const centre = y + 0.5;
    crossings.length = 0;
    for (const ring of rings) {
      const n = ring.length / 2;
      for (let k = 0; k < n; k++) {
        const x0 = ring[2 * k]!;
        const y0 = ring[2 * k + 1]!;
        const x1 = ring[(2 * k + 2) % ring.length]!;
        const y1 = ring[(2 * k + 3) % ring.length]!;
        if (y0 <= centre !== y1 <= centre) crossings.push(x0 + ((centre - y0) * (x1 - x0)) / (y1 - y0));
      }
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [left, right).
      const x0 = Math.max(0, Math.ceil(crossings[k]! - 0.5));
      const x1 = Math.min(width, Math.ceil(crossings[k + 1]! - 0.5));
      if (x1 > x0) span(y, x0, x1);
    }
  }
}

/** A width × height mask (1 inside, 0 outside) of `rings`. */
export function rasteriseRings(rings: readonly Ring[], width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  fillRings(rings, width, height, (y, x0, x1) => mask.fill(1, y * width + x0, y * width + x1));
  return mask;
}

/** Intersection over union of two masks of the same size (0 when both are empty). */
export function maskIou(a: Uint8Array, b: Uint8Array): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const inA = a[i] !== 0;
    const inB = b[i] !== 0;
    if (inA && inB) intersection++;
    if (inA || inB) union++;
  }
  return union === 0 ? 0 : intersection / union;
}

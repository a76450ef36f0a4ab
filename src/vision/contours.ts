// Outer contours of binary masks as OpenCV's findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) finds them, and the polygon the reference keeps.

/** One contour's vertices, flat: x0, y0, x1, y1, … (x = column, y = row), in OpenCV's order. */
export type Contour = Int32Array;

/** Neighbour directions as OpenCV numbers them (y grows downwards): right, up-right, up, up-left, left, down-left, down, down-right. */
const DIRECTION_X = [1, 1, 0, -1, -1, -1, 0, 1];
const DIRECTION_Y = [0, -1, -1, -1, 0, 1, 1, 1];

// Pixel marks of OpenCV's 8-bit scanner (schar values): a border pixel becomes NEW when traced,
// NEW_RIGHT when the pixel to its right is background seen while tracing. Unvisited foreground is 1.
const FOREGROUND = 1;
const NEW = 2;
const NEW_RIGHT = 2 - 128;

/**
 * Outer borders of the non-zero pixels of `mask` (row-major, width × height), traced with
 * Suzuki–Abe border following as OpenCV implements it:
 * - the image is padded with a background border, so pixels on the edge are traced like any other;
 * - a raster scan starts a border at a foreground pixel with background on its left, unless the last
 *   traced border met on that row was a left side (then the pixel is inside a traced shape: a hole's
 *   far side or a shape nested in a hole, which RETR_EXTERNAL skips);
 * - each border is followed counter-clockwise on screen from its start (first down the left side);
 * - CHAIN_APPROX_SIMPLE keeps a pixel when the direction leaving it differs from the one leaving the
 *   previous pixel, so straight and diagonal runs keep their end points only.
 * Contours come out in OpenCV's order: the last one found first.
 */
export function findExternalContours(mask: Uint8Array, width: number, height: number): Contour[] {
  if (mask.length < width * height) throw new RangeError(`a ${width}x${height} mask needs ${width * height} values, got ${mask.length}`);
  const step = width + 2;
  const image = new Int8Array(step * (height + 2));
  for (let y = 0; y < height; y++) {
    const row = (y + 1) * step + 1;
    for (let x = 0, i = y * width; x < width; x++, i++) if (mask[i] !== 0) image[row + x] = FOREGROUND;
  }
  const deltas = DIRECTION_X.map((dx, s) => dx + DIRECTION_Y[s]! * step);

  const found: Contour[] = [];
  for (let y = 1; y <= height; y++) {
    const row = y * step;
    let previous = 0;
    // Column of the last traced border pixel met on this row; column 0 is the padding, background.
    let lastBorder = 0;
    for (let x = 1; x <= width; x++) {
      const pixel = image[row + x]!;
      if (pixel === previous) continue;
      if (previous === 0 && pixel === FOREGROUND && image[row + lastBorder]! <= 0) {
        found.push(traceOuterBorder(image, row + x, x - 1, y - 1, deltas));
        lastBorder = x;
        previous = image[row + x]!;
        continue;
      }
      // OpenCV moves the last border to a hole's left edge before its external mode rejects the hole.
      if (pixel === 0 && previous >= 1 && (previous & ~1) !== 0) lastBorder = x - 1;
      previous = pixel;
      if ((previous & ~1) !== 0) lastBorder = x;
    }
  }
  return found.reverse();
}

/**
 * Follows one outer border from its start pixel `start` (an index into the padded image; its
 * unpadded position is x, y), marking the pixels it visits, and returns its CHAIN_APPROX_SIMPLE vertices.
 */
function traceOuterBorder(image: Int8Array, start: number, x: number, y: number, deltas: number[]): Contour {
  const points: number[] = [];
  // Clockwise from the left neighbour: the first foreground neighbour is where the border ends.
  let s = 4;
  let last = start;
  do {
    s = (s - 1) & 7;
    last = start + deltas[s]!;
  } while (image[last] === 0 && s !== 4);
  if (s === 4) {
    image[start] = NEW_RIGHT;
    return Int32Array.of(x, y);
  }

  let current = start;
  let previousDirection = s ^ 4;
  for (;;) {
    // Counter-clockwise from the pixel we came from: the first foreground neighbour is the next border pixel.
    const cameFrom = s;
    let next = current;
    while (s < 15) {
      s++;
      next = current + deltas[s & 7]!;
      if (image[next] !== 0) break;
    }
    s &= 7;
    // Directions cameFrom+1 … s were examined; past 7 that includes 0, the background on the right.
    if ((s - 1) >>> 0 < cameFrom) image[current] = NEW_RIGHT;
    else if (image[current] === FOREGROUND) image[current] = NEW;
    if (s !== previousDirection) points.push(x, y);
    previousDirection = s;
    x += DIRECTION_X[s]!;
    y += DIRECTION_Y[s]!;
    if (next === start && current === last) break;
    current = next;
    s = (s + 4) & 7;
  }
  return Int32Array.from(points);
}

/**
 * The reference's polygon for a mask: of its outer contours, the one with the most vertices (the
 * first in OpenCV's order on ties; not the largest area). Empty when the mask has no foreground.
 */
export function maskToPolygon(mask: Uint8Array, width: number, height: number): Contour {
  let best: Contour = new Int32Array(0);
  for (const contour of findExternalContours(mask, width, height)) if (contour.length > best.length) best = contour;
  return best;
}

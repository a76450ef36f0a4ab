// Visualisation: predictions drawn onto a copy of the original image (boxes, polygons, keypoints, labels) and encoded as JPEG.
//
// Everything is rasterised by our own code into the RGB buffer, text included (bitmap-font.ts):
// sharp would need fontconfig fonts to render SVG text, and a fresh machine may have none.
// Geometry follows the reference (OpenCV): pixel centres sit on integer coordinates, a box
// spans int(x - w/2)..int(x + w/2) inclusive, a 1-px line is 8-connected, a thicker one covers
// every pixel within thickness/2 of the segment (round caps and joins, like cv2's thick lines).
import sharp from "sharp";
import { pythonFixed, roundHalfToEven } from "../python-rounding.ts";
import { TEXT_HEIGHT, drawText, textWidth, type Rgb } from "./bitmap-font.ts";
import type { RgbImage } from "./decode.ts";
import type { KeypointEdge } from "./keypoints.ts";

/** Roboflow's palette: classes take it in class-id order when the model's environment has no COLORS. */
export const DEFAULT_PALETTE = ["#4892EA", "#00EEC3", "#FE4EF0", "#F4004E", "#FA7200", "#EEEE17", "#90FF00", "#78C1D2", "#8C29FF"];
/** The reference's colour for a class that the model's COLORS leaves out. */
export const FALLBACK_COLOUR = "#4892EA";
/** The reference encodes visualisations with OpenCV at JPEG quality 90. */
const JPEG_QUALITY = 90;
/** Space around a label's text, as the reference's label "buttons" have. */
const LABEL_MARGIN = 10;
const WHITE: Rgb = [255, 255, 255];

export interface DrawablePrediction {
  /** Box centre and size in original-image pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  class: string;
  class_id: number;
  confidence: number;
  /** Instance outline; drawn when it has more than two points. */
  points?: { x: number; y: number }[];
  /** Keypoints (those the response returns); drawn as dots, joined by the class's skeleton edges when there are any. */
  keypoints?: DrawableKeypoint[];
}

/** A keypoint in original-image pixels, and its index within its object class (`class_id` of the response's keypoint). */
export interface DrawableKeypoint {
  x: number;
  y: number;
  class_id: number;
}

/** A classification answer as drawn: single-label predictions in order (the top one first), or every class's score by name (multi-label). */
export interface DrawableClassification {
  predictions: { class: string; class_id: number; confidence: number }[] | Record<string, { confidence: number; class_id: number }>;
}

/** Class colours: the model's COLORS, or null when its environment has none (the palette then applies). */
export type ClassColours = Record<string, string> | null;

export interface DrawOptions {
  colors: ClassColours;
  /** Line thickness in pixels (request `visualization_stroke_width`); 0 draws 1-px lines, negative fills boxes, as cv2 does. */
  strokeWidth: number;
  /** Draw a "<class> <confidence:.2f>" label at each box's top-left corner. */
  labels: boolean;
  /** Skeleton edges per object class id (keypoints_metadata.json's `edges`); absent or empty draws dots only. */
  skeletons?: ReadonlyMap<number, readonly KeypointEdge[]>;
}

/**
 * A class's colour the way the reference picks it: when the model's environment has COLORS,
 * COLORS[class] or #4892EA when the class is missing; without COLORS, the default palette
 * cycled by class id. A colour that is not "#RRGGBB" (the reference would fail) falls back to #4892EA.
 */
export function classColour(className: string, classId: number, colors: ClassColours): Rgb {
  const hex =
    colors === null
      ? DEFAULT_PALETTE[((classId % DEFAULT_PALETTE.length) + DEFAULT_PALETTE.length) % DEFAULT_PALETTE.length]!
      : Object.hasOwn(colors, className)
        ? colors[className]!
        : FALLBACK_COLOUR;
  return parseHexColour(hex) ?? parseHexColour(FALLBACK_COLOUR)!;
}

function parseHexColour(hex: string): Rgb | null {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return match ? [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)] : null;
}

/**
 * Object-detection / instance-segmentation / keypoint visualisation: for each prediction in order,
 * its box, its polygon (closed, when it has more than two points), its keypoints (drawKeypoints)
 * and optionally its label, then JPEG.
 *
 * Labels follow the reference's layout: a block of the class colour, text size plus a 10-px
 * margin on every side, top-left at the box's top-left corner, clipped to the image; white text,
 * left out when the clipped block cannot hold it. The reference fills that block with the
 * colour's channels reversed (it writes a BGR triple into an RGB image); we use the class colour.
 */
export async function drawPredictions(image: RgbImage, predictions: DrawablePrediction[], options: DrawOptions): Promise<Uint8Array> {
  const canvas = copyOf(image);
  for (const prediction of predictions) {
    const colour = classColour(prediction.class, prediction.class_id, options.colors);
    const x1 = Math.trunc(prediction.x - prediction.width / 2);
    const y1 = Math.trunc(prediction.y - prediction.height / 2);
    const x2 = Math.trunc(prediction.x + prediction.width / 2);
    const y2 = Math.trunc(prediction.y + prediction.height / 2);
    if (options.strokeWidth < 0) {
      fillRect(canvas, Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2) + 1, Math.max(y1, y2) + 1, colour);
    } else {
      drawPolyline(
        canvas,
        [
          [x1, y1],
          [x2, y1],
          [x2, y2],
          [x1, y2],
        ],
        options.strokeWidth,
        colour,
      );
    }
    const points = prediction.points ?? [];
    if (points.length > 2) {
      drawPolyline(
        canvas,
        points.map((p) => [Math.trunc(p.x), Math.trunc(p.y)]),
        Math.max(options.strokeWidth, 1),
        colour,
      );
    }
    if (prediction.keypoints !== undefined && prediction.keypoints.length > 0) {
      drawKeypoints(canvas, prediction.keypoints, options.skeletons?.get(prediction.class_id) ?? [], options.strokeWidth, colour);
    }
    if (options.labels) {
      drawLabel(canvas, Math.max(x1, 0), Math.max(y1, 0), `${prediction.class} ${pythonFixed(prediction.confidence, 2)}`, colour, true);
    }
  }
  return encodeJpeg(canvas);
}

/**
 * Classification visualisation. The reference frames the image and pastes label blocks at its
 * top-left: single-label, one block "<class_id> - <class> <confidence:.2f>" in the top class's
 * colour; multi-label, a frame in #4892EA and one block "<class> <confidence:.2f>" per class, in
 * each class's colour, stacked downwards from the most confident. Its frame goes to (height,
 * width) instead of (width, height), a stray line on non-square images: ours runs along the
 * image's edges, `strokeWidth` pixels wide, inside the image. With no single-label prediction
 * above the threshold the reference fails (500); we return the plain image.
 */
export async function drawClassification(image: RgbImage, body: DrawableClassification, options: { colors: ClassColours; strokeWidth: number }): Promise<Uint8Array> {
  const canvas = copyOf(image);
  if (Array.isArray(body.predictions)) {
    const top = body.predictions[0];
    if (top !== undefined) {
      const colour = classColour(top.class, top.class_id, options.colors);
      drawFrame(canvas, options.strokeWidth, colour);
      drawLabel(canvas, 0, 0, `${top.class_id} - ${top.class} ${pythonFixed(top.confidence, 2)}`, colour, false);
    }
  } else {
    const classes = Object.entries(body.predictions).sort(([, a], [, b]) => b.confidence - a.confidence);
    if (classes.length > 0) drawFrame(canvas, options.strokeWidth, parseHexColour(FALLBACK_COLOUR)!);
    let top = 0;
    for (const [name, { confidence, class_id }] of classes) {
      top += drawLabel(canvas, 0, top, `${name} ${pythonFixed(confidence, 2)}`, classColour(name, class_id, options.colors), false);
    }
  }
  return encodeJpeg(canvas);
}

/**
 * One prediction's keypoints in its class colour, as the reference draws them (docs/model-families.md §4.7): a filled
 * circle of radius `strokeWidth` (OpenCV's `cv2.circle(..., -1)` raster, a plus sign at radius 1, a
 * dot at 0) at (round(x), round(y)), half to even. Our addition, drawn first so the dots sit on top:
 * the class's skeleton `edges` as lines `max(strokeWidth, 1)` wide between the keypoints the
 * prediction has (an edge to a keypoint left out, e.g. below `keypoint_confidence`, is not drawn).
 * A negative stroke width, which makes OpenCV fail, draws dots of radius 0.
 */
export function drawKeypoints(image: RgbImage, keypoints: readonly DrawableKeypoint[], edges: readonly KeypointEdge[], strokeWidth: number, colour: Rgb): void {
  const at = new Map<number, [number, number]>();
  for (const keypoint of keypoints) at.set(keypoint.class_id, [roundHalfToEven(keypoint.x), roundHalfToEven(keypoint.y)]);
  const thickness = Math.max(strokeWidth, 1);
  for (const [from, to] of edges) {
    const a = at.get(from);
    const b = at.get(to);
    if (a === undefined || b === undefined) continue;
    if (thickness <= 1) drawThinLine(image, a[0], a[1], b[0], b[1], colour);
    else drawThickLine(image, a[0], a[1], b[0], b[1], thickness / 2, colour);
  }
  for (const [x, y] of at.values()) fillCircle(image, x, y, Math.max(strokeWidth, 0), colour);
}

/**
 * OpenCV's filled `Circle` (8-connected, no shift): a midpoint walk from (radius, 0) that fills the
 * four horizontal spans of each step, clipped to the image.
 */
function fillCircle(image: RgbImage, cx: number, cy: number, radius: number, colour: Rgb): void {
  const span = (y: number, x1: number, x2: number) => {
    if (y >= 0 && y < image.height) fillSpan(image, y, Math.max(x1, 0), Math.min(x2, image.width - 1) + 1, colour);
  };
  let [err, dx, dy, plus, minus] = [0, radius, 0, 1, 2 * radius - 1];
  while (dx >= dy) {
    span(cy - dy, cx - dx, cx + dx);
    span(cy + dy, cx - dx, cx + dx);
    span(cy - dx, cx - dy, cx + dy);
    span(cy + dx, cx - dy, cx + dy);
    dy++;
    err += plus;
    plus += 2;
    const mask = (err <= 0 ? 1 : 0) - 1;
    err -= minus & mask;
    dx += mask;
    minus -= mask & 2;
  }
}

function copyOf(image: RgbImage): RgbImage {
  return { data: new Uint8Array(image.data), width: image.width, height: image.height };
}

async function encodeJpeg(image: RgbImage): Promise<Uint8Array> {
  const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY })
    .toBuffer();
  return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
}

/**
 * A label block at (x, y): text plus LABEL_MARGIN on every side, filled with `colour`, white
 * text. Clipped to the image; with `dropTextWhenClipped` the text is left out when the clipped
 * block cannot hold it (the reference's detection labels), otherwise it is clipped too.
 * Returns the block's full height, for stacking.
 */
function drawLabel(image: RgbImage, x: number, y: number, text: string, colour: Rgb, dropTextWhenClipped: boolean): number {
  const width = textWidth(text) + 2 * LABEL_MARGIN;
  const height = TEXT_HEIGHT + 2 * LABEL_MARGIN;
  const right = Math.min(x + width, image.width);
  const bottom = Math.min(y + height, image.height);
  fillRect(image, x, y, right, bottom, colour);
  if (!dropTextWhenClipped || (right - x === width && bottom - y === height)) drawText(image, x + LABEL_MARGIN, y + LABEL_MARGIN, text, WHITE);
  return height;
}

/** A border `thickness` pixels wide along the inside of the image's edges. */
function drawFrame(image: RgbImage, thickness: number, colour: Rgb): void {
  if (thickness <= 0) return;
  const { width, height } = image;
  fillRect(image, 0, 0, width, thickness, colour);
  fillRect(image, 0, height - thickness, width, height, colour);
  fillRect(image, 0, 0, thickness, height, colour);
  fillRect(image, width - thickness, 0, width, height, colour);
}

/** Fills columns [x0, x1) of rows [y0, y1), clipped to the image. */
function fillRect(image: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  const left = Math.max(x0, 0);
  const right = Math.min(x1, image.width);
  for (let y = Math.max(y0, 0); y < Math.min(y1, image.height); y++) fillSpan(image, y, left, right, colour);
}

function fillSpan(image: RgbImage, y: number, left: number, right: number, colour: Rgb): void {
  const rowStart = y * image.width;
  for (let x = left; x < right; x++) setPixel(image, rowStart + x, colour);
}

function setPixel(image: RgbImage, index: number, colour: Rgb): void {
  const at = index * 3;
  image.data[at] = colour[0];
  image.data[at + 1] = colour[1];
  image.data[at + 2] = colour[2];
}

/** A closed polyline through integer points. */
function drawPolyline(image: RgbImage, points: [number, number][], thickness: number, colour: Rgb): void {
  for (let i = 0; i < points.length; i++) {
    const [ax, ay] = points[i]!;
    const [bx, by] = points[(i + 1) % points.length]!;
    if (thickness <= 1) drawThinLine(image, ax, ay, bx, by, colour);
    else drawThickLine(image, ax, ay, bx, by, thickness / 2, colour);
  }
}

/** Bresenham's 8-connected line, both ends included, clipped pixel by pixel. */
function drawThinLine(image: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const stepX = x0 < x1 ? 1 : -1;
  const stepY = y0 < y1 ? 1 : -1;
  let error = dx + dy;
  let x = x0;
  let y = y0;
  for (;;) {
    if (x >= 0 && x < image.width && y >= 0 && y < image.height) setPixel(image, y * image.width + x, colour);
    if (x === x1 && y === y1) return;
    const doubled = 2 * error;
    if (doubled >= dy) {
      error += dy;
      x += stepX;
    }
    if (doubled <= dx) {
      error += dx;
      y += stepY;
    }
  }
}

/**
 * Every pixel whose centre lies within `radius` of the segment A-B (a capsule), row by row: the
 * capsule is convex, so each row meets it in one interval, the hull of the row's intervals
 * through the band around the segment and the discs at its ends. Cost is the painted area.
 */
function drawThickLine(image: RgbImage, ax: number, ay: number, bx: number, by: number, radius: number, colour: Rgb): void {
  const dx = bx - ax;
  const dy = by - ay;
  const length = Math.hypot(dx, dy);
  const top = Math.max(Math.ceil(Math.min(ay, by) - radius), 0);
  const bottom = Math.min(Math.floor(Math.max(ay, by) + radius), image.height - 1);
  for (let y = top; y <= bottom; y++) {
    let left = Infinity;
    let right = -Infinity;
    const include = (interval: [number, number] | null) => {
      if (interval === null || interval[0] > interval[1]) return;
      left = Math.min(left, interval[0]);
      right = Math.max(right, interval[1]);
    };
    include(discRow(ax, ay, radius, y));
    include(discRow(bx, by, radius, y));
    if (length > 0) {
      // The band: |cross(P - A, d)| <= radius * length and 0 <= dot(P - A, d) <= length², both linear in x.
      const across = linearRange(dy, -(y - ay) * dx, -radius * length, radius * length);
      const along = linearRange(dx, (y - ay) * dy, 0, length * length);
      if (across !== null && along !== null) include([Math.max(across[0], along[0]), Math.min(across[1], along[1])]);
    }
    if (left > right) continue;
    // The tolerance keeps pixels exactly on the boundary that rounding in the square roots would lose.
    fillSpan(image, y, Math.max(Math.ceil(left - 1e-9), 0), Math.min(Math.floor(right + 1e-9), image.width - 1) + 1, colour);
  }

  /** The x-interval of row y inside the disc of radius r around (cx, cy), or null. */
  function discRow(cx: number, cy: number, r: number, y: number): [number, number] | null {
    const squared = r * r - (y - cy) * (y - cy);
    if (squared < 0) return null;
    const half = Math.sqrt(squared);
    return [cx - half, cx + half];
  }

  /** The offsets u = x - ax with low <= slope * u + constant <= high, shifted back to x; null when none. */
  function linearRange(slope: number, constant: number, low: number, high: number): [number, number] | null {
    if (slope === 0) return constant >= low && constant <= high ? [-Infinity, Infinity] : null;
    const a = (low - constant) / slope;
    const b = (high - constant) / slope;
    return [ax + Math.min(a, b), ax + Math.max(a, b)];
  }
}

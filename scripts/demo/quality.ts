// Quality of the demo models' answers against a scene's labels: detections matched to shapes at IoU 0.5 with the right
// class, and the masks of matched shapes compared pixel by pixel. Pure functions; eval.ts feeds them server answers.
import type { ObjectDetectionPrediction } from "../../src/models/tasks/detections.ts";
import type { PolygonPoint } from "../../src/vision/polygons.ts";
import { fillRings, type Ring } from "./raster.ts";
import type { Scene } from "./scenes.ts";

/** What is scored of a prediction as the server answers it: its box (centre and size in image pixels), confidence and class. */
export type Prediction = Pick<ObjectDetectionPrediction, "x" | "y" | "width" | "height" | "confidence" | "class">;

export type Box = [number, number, number, number];

export function boxIou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

export function predictionBox(p: Prediction): Box {
  return [p.x - p.width / 2, p.y - p.height / 2, p.x + p.width / 2, p.y + p.height / 2];
}

export interface Match {
  /** Index into the scene's instances. */
  instance: number;
  prediction: number;
  iou: number;
}

export interface DetectionMatches {
  matches: Match[];
  /** Predictions that matched no shape (wrong place or wrong class). */
  falsePositives: number;
  /** Shapes no prediction matched. */
  falseNegatives: number;
}

/**
 * Greedy matching as detection benchmarks do it: predictions in order of confidence, each taking the unmatched shape of
 * its class with which its box has the highest IoU, if that IoU is at least `threshold`.
 */
export function matchDetections(instances: readonly { className: string; box: Box }[], predictions: readonly Prediction[], threshold = 0.5): DetectionMatches {
  const order = predictions.map((_, i) => i).sort((a, b) => predictions[b]!.confidence - predictions[a]!.confidence);
  const taken = new Set<number>();
  const matches: Match[] = [];
  for (const p of order) {
    const box = predictionBox(predictions[p]!);
    let best = -1;
    let bestIou = threshold;
    instances.forEach((instance, i) => {
      if (taken.has(i) || instance.className !== predictions[p]!.class) return;
      const iou = boxIou(box, instance.box);
      if (iou >= bestIou) {
        best = i;
        bestIou = iou;
      }
    });
    if (best >= 0) {
      taken.add(best);
      matches.push({ instance: best, prediction: p, iou: bestIou });
    }
  }
  return { matches, falsePositives: predictions.length - matches.length, falseNegatives: instances.length - matches.length };
}

/** Pixels of `rings` inside the window [x0, x0 + width) x [y0, y0 + height), as a mask of the window. */
function windowMask(rings: readonly Ring[], x0: number, y0: number, width: number, height: number): Uint8Array {
  const shifted = rings.map((ring) => ring.map((v, k) => v - (k % 2 === 0 ? x0 : y0)));
  const mask = new Uint8Array(width * height);
  fillRings(shifted, width, height, (y, a, b) => mask.fill(1, y * width + a, y * width + b));
  return mask;
}

export interface MaskIous {
  /** Against the shape's visible pixels inside its outline, holes filled: what one polygon (the `points` contract) can express. */
  outline: number;
  /** Against the exact visible mask, a hex nut's hole excluded. */
  exact: number;
}

/** IoU of a predicted polygon with instance `index` of `scene`, computed over the window around both. */
export function maskIous(scene: Scene, index: number, polygon: readonly PolygonPoint[]): MaskIous {
  const instance = scene.instances[index]!;
  const { width, height } = scene.spec;
  const ring: Ring = polygon.flatMap((p) => [p.x, p.y]);
  let [x0, y0, x1, y1] = instance.box;
  for (let k = 0; k < ring.length; k += 2) {
    x0 = Math.min(x0, Math.floor(ring[k]!));
    y0 = Math.min(y0, Math.floor(ring[k + 1]!));
    x1 = Math.max(x1, Math.ceil(ring[k]!) + 1);
    y1 = Math.max(y1, Math.ceil(ring[k + 1]!) + 1);
  }
  x0 = Math.max(0, x0);
  y0 = Math.max(0, y0);
  x1 = Math.min(width, x1);
  y1 = Math.min(height, y1);
  const w = x1 - x0;
  const h = y1 - y0;
  const predicted = ring.length >= 6 ? windowMask([ring], x0, y0, w, h) : new Uint8Array(w * h);
  const outer = windowMask([instance.rings[0]!], x0, y0, w, h);
  const owner = instance.shape + 1;
  const counts = { outline: { inter: 0, union: 0 }, exact: { inter: 0, union: 0 } };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = scene.owner[(y0 + y) * width + x0 + x]!;
      const p = predicted[y * w + x] === 1;
      // Inside the outline and not under a shape drawn later (a later hex nut's hole shows this shape).
      const inOutline = outer[y * w + x] === 1 && o <= owner;
      const inExact = o === owner;
      if (p && inOutline) counts.outline.inter++;
      if (p || inOutline) counts.outline.union++;
      if (p && inExact) counts.exact.inter++;
      if (p || inExact) counts.exact.union++;
    }
  }
  const ratio = (c: { inter: number; union: number }) => (c.union === 0 ? 0 : c.inter / c.union);
  return { outline: ratio(counts.outline), exact: ratio(counts.exact) };
}

// Tests of RF-DETR decoding: top-k over (query, class) sigmoid scores, the background column, boxes to original pixels (docs/model-families.md §1.4) and instance masks (§2).
import { describe, expect, test } from "bun:test";
import { placeCandidates } from "./rfdetr-boxes.ts";
import {
  decodeRfdetrMask,
  rfdetrClasses,
  rfdetrResolution,
  selectRfdetrDetections,
  sigmoidStable,
  type RfdetrGeometry,
  type RfdetrSelection,
} from "../../../../src/models/families/rfdetr.ts";
import { maskAtImageResolution } from "../../../../src/vision/image-mask.ts";
import { allocateDetectionCandidates, setCandidate, type DetectionCandidates } from "../../../../src/vision/nms.ts";

const f = Math.fround;

/** Inverse of the sigmoid, so tests can state scores. */
const logit = (p: number) => Math.log(p / (1 - p));

/** Q × 4 boxes and Q × C logits from per-query rows. */
function outputs(queries: { box: [number, number, number, number]; logits: number[] }[]) {
  return {
    boxes: Float32Array.from(queries.flatMap((q) => q.box)),
    logits: Float32Array.from(queries.flatMap((q) => q.logits)),
    numQueries: queries.length,
    numColumns: queries[0]!.logits.length,
  };
}

function select(out: ReturnType<typeof outputs>, selection: Partial<RfdetrSelection> = {}): DetectionCandidates {
  return selectRfdetrDetections(out.boxes, out.logits, out.numQueries, out.numColumns, {
    confidence: 0.4,
    maxDetections: 300,
    backgroundIndex: null,
    numClasses: out.numColumns,
    ...selection,
  });
}

/** (query, class, score) of each candidate, in order. */
const picks = (c: DetectionCandidates) => Array.from({ length: c.count }, (_, i) => [c.row[i], c.classId[i], c.score[i]]);

const OFF = -20;

describe("sigmoidStable", () => {
  test("is the float32 logistic function, stable for large negative logits", () => {
    expect(sigmoidStable(0)).toBe(0.5);
    expect(sigmoidStable(2)).toBe(f(1 / f(1 + f(Math.exp(-2)))));
    expect(sigmoidStable(-2)).toBe(f(f(Math.exp(-2)) / f(1 + f(Math.exp(-2)))));
    expect(sigmoidStable(-100)).toBeGreaterThan(0);
    expect(sigmoidStable(-100)).toBe(f(f(Math.exp(-100)) / 1));
    expect(sigmoidStable(100)).toBe(1);
    expect(sigmoidStable(Number.NaN)).toBeNaN();
  });
});

describe("rfdetrClasses", () => {
  test("removes the background line and remembers its index", () => {
    expect(rfdetrClasses(["a", "background_class83422", "b"])).toEqual({ classNames: ["a", "b"], backgroundIndex: 1 });
    expect(rfdetrClasses(["a", "b"])).toEqual({ classNames: ["a", "b"], backgroundIndex: null });
  });
});

describe("rfdetrResolution", () => {
  test("reads RESOLUTION, else PREPROCESSING's resize width, as Python's int() would", () => {
    expect(rfdetrResolution({ RESOLUTION: 384 })).toBe(384);
    expect(rfdetrResolution({ RESOLUTION: [560, 560] })).toBe(560);
    expect(rfdetrResolution({ RESOLUTION: "1600" })).toBe(1600);
    expect(rfdetrResolution({ RESOLUTION: 1599.9 })).toBe(1599);
    expect(rfdetrResolution({ PREPROCESSING: { resize: { width: 640 } } })).toBe(640);
    expect(rfdetrResolution({ PREPROCESSING: '{"resize": {"width": 432, "height": 432}}' })).toBe(432);
    expect(rfdetrResolution({ RESOLUTION: 384, PREPROCESSING: { resize: { width: 2000 } } })).toBe(384);
  });

  test("is null, no guard, where int() would fail or nothing is given", () => {
    expect(rfdetrResolution({})).toBeNull();
    expect(rfdetrResolution({ RESOLUTION: "384.0" })).toBeNull();
    expect(rfdetrResolution({ RESOLUTION: [] })).toBeNull();
    expect(rfdetrResolution({ PREPROCESSING: "not json" })).toBeNull();
  });
});

describe("selectRfdetrDetections", () => {
  const scene = outputs([
    { box: [0.5, 0.5, 0.2, 0.4], logits: [logit(0.7), OFF, logit(0.9)] },
    { box: [0.25, 0.75, 0.1, 0.1], logits: [OFF, logit(0.8), OFF] },
    { box: [0.1, 0.1, 0.1, 0.1], logits: [logit(0.3), OFF, OFF] },
  ]);

  test("ranks every (query, class) score: one query may give several detections", () => {
    expect(picks(select(scene))).toEqual([
      [0, 2, sigmoidStable(f(logit(0.9)))],
      [1, 1, sigmoidStable(f(logit(0.8)))],
      [0, 0, sigmoidStable(f(logit(0.7)))],
    ]);
  });

  test("corners come from the normalised centre and size, in float32", () => {
    const c = select(scene);
    expect([c.x1[0], c.y1[0], c.x2[0], c.y2[0]]).toEqual([f(0.5 - f(0.1)), f(0.5 - f(0.2)), f(0.5 + f(0.1)), f(0.5 + f(0.2))]);
    expect([c.x1[1], c.y1[1], c.x2[1], c.y2[1]]).toEqual([f(0.25 - f(0.05)), f(0.75 - f(0.05)), f(0.25 + f(0.05)), f(0.75 + f(0.05))]);
  });

  test("keeps scores strictly above the threshold", () => {
    const score = sigmoidStable(f(logit(0.8)));
    expect(picks(select(scene, { confidence: score })).map((p) => p[1])).toEqual([2]);
    expect(picks(select(scene, { confidence: 0.25 })).length).toBe(4);
  });

  test("takes the top max_detections before the threshold and the class mapping", () => {
    expect(picks(select(scene, { maxDetections: 2 })).map((p) => p[0])).toEqual([0, 1]);
    expect(picks(select(scene, { maxDetections: 0 }))).toEqual([]);
    // A negative value keeps all but that many of the Q·C = 9 scores, as Python's slice.
    expect(picks(select(scene, { maxDetections: -7 })).map((p) => p[0])).toEqual([0, 1]);
    expect(picks(select(scene, { maxDetections: -9 }))).toEqual([]);
    // The column past the class names takes a top-k place and is then dropped: fewer than max_detections remain.
    expect(picks(select(scene, { maxDetections: 2, numClasses: 2 })).map((p) => [p[0], p[1]])).toEqual([[1, 1]]);
  });

  test("breaks score ties by flat index q * C + c", () => {
    const tied = outputs([
      { box: [0.5, 0.5, 0.1, 0.1], logits: [OFF, 1] },
      { box: [0.5, 0.5, 0.1, 0.1], logits: [1, 1] },
    ]);
    expect(picks(select(tied)).map((p) => [p[0], p[1]])).toEqual([
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    expect(picks(select(tied, { maxDetections: 2 })).map((p) => [p[0], p[1]])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  test("one-indexed models: the background column is dropped and later columns shift down", () => {
    // Columns: a, background, b. Background scores 0.95 and takes a top-k place.
    const withBackground = outputs([{ box: [0.5, 0.5, 0.1, 0.1], logits: [logit(0.6), logit(0.95), logit(0.7)] }]);
    const selection = { ...rfdetrClasses(["a", "background_class83422", "b"]), numClasses: 2 };
    expect(picks(select(withBackground, selection)).map((p) => p[1])).toEqual([1, 0]);
    expect(picks(select(withBackground, { ...selection, maxDetections: 1 }))).toEqual([]);
  });

  test("drops NaN scores and checks the output sizes", () => {
    const nan = outputs([{ box: [0.5, 0.5, 0.1, 0.1], logits: [Number.NaN, 3] }]);
    expect(picks(select(nan)).map((p) => p[1])).toEqual([1]);
    expect(() => selectRfdetrDetections(new Float32Array(3), new Float32Array(2), 1, 2, { confidence: 0, maxDetections: 1, backgroundIndex: null, numClasses: 2 })).toThrow(
      "4 needed",
    );
    expect(() => selectRfdetrDetections(new Float32Array(4), new Float32Array(2), 1, 3, { confidence: 0, maxDetections: 1, backgroundIndex: null, numClasses: 3 })).toThrow(
      "3 needed",
    );
  });
});

function geometry(extra: Partial<RfdetrGeometry>): RfdetrGeometry {
  return { inputWidth: 384, inputHeight: 384, imageWidth: 640, imageHeight: 480, resize: "stretch", staticCrop: null, letterboxWidth: 384, letterboxHeight: 384, ...extra };
}

function normalisedBoxes(...boxes: [number, number, number, number][]): DetectionCandidates {
  const c = allocateDetectionCandidates(boxes.length);
  boxes.forEach(([x1, y1, x2, y2], i) => setCandidate(c, i, x1, y1, x2, y2, 0.9, 0.9, 0, i));
  return c;
}

const corners = (c: DetectionCandidates, i = 0) => [c.x1[i], c.y1[i], c.x2[i], c.y2[i]];

describe("rfdetrBoxesToImage", () => {
  test("stretch: normalised coordinates times the image size, float32, unrounded", () => {
    const c = normalisedBoxes([0.123, 0.2, 0.3, 0.45]);
    placeCandidates(c, geometry({}));
    expect(corners(c)).toEqual([f(f(0.123) * 640), f(f(0.2) * 480), f(f(0.3) * 640), f(f(0.45) * 480)]);
    expect(c.x1[0]).toBe(78.72000122070312);
  });

  test("letterbox: (x * Iw - pad) / s, with the truncated scaled size", () => {
    // 800x400 into 400x400: s = 0.5, scaled 400x200, pad_y = 100.
    const c = normalisedBoxes([0.25, 0.5, 0.75, 0.625]);
    placeCandidates(c, geometry({ inputWidth: 400, inputHeight: 400, imageWidth: 800, imageHeight: 400, resize: "letterbox", letterboxWidth: 400, letterboxHeight: 400 }));
    expect(corners(c)).toEqual([200, 200, 600, 300]);
  });

  test("letterbox with odd padding: pad may be .5", () => {
    // 333x500 into 384: s = 0.768, int(333 * 0.768) = 255, pad_x = 64.5.
    const c = normalisedBoxes([0.5, 0, 1, 1]);
    placeCandidates(c, geometry({ imageWidth: 333, imageHeight: 500, resize: "letterbox" }));
    expect(c.x1[0]).toBe(f(f(f(0.5 * 384) - 64.5) / f(0.768)));
    expect(c.x2[0]).toBe(333);
  });

  test("non-square flag: the letterbox filled PREPROCESSING's size, so coordinates scale by it", () => {
    // A 400x400 input from a 800x400 letterbox of an 800x400 image: no padding, s = 1.
    const c = normalisedBoxes([0.25, 0.5, 0.5, 1]);
    placeCandidates(c, geometry({ inputWidth: 400, inputHeight: 400, imageWidth: 800, imageHeight: 400, resize: "letterbox", letterboxWidth: 800, letterboxHeight: 400 }));
    expect(corners(c)).toEqual([200, 200, 400, 400]);
  });

  test("clips to the image", () => {
    const c = normalisedBoxes([-0.1, -0.5, 1.2, 1.01]);
    placeCandidates(c, geometry({}));
    expect(corners(c)).toEqual([0, 0, 640, 480]);
  });

  test("static crop: sizes of the cropped region, then its shift (the reference forgets both)", () => {
    // 1000x800 cropped to x 10..60 %, y 25..75 %: region 500x400 at (100, 200).
    const c = normalisedBoxes([0.5, 0.5, 1.5, 1]);
    placeCandidates(c, geometry({ imageWidth: 1000, imageHeight: 800, staticCrop: { xMin: 10, yMin: 25, xMax: 60, yMax: 75 } }));
    expect(corners(c)).toEqual([350, 400, 600, 600]);
  });
});

/** A maskWidth × maskHeight logit plane: +10 inside [x1, x2) × [y1, y2) (mask cells), -10 elsewhere. */
function rectangleLogits(maskWidth: number, maskHeight: number, x1: number, y1: number, x2: number, y2: number): Float32Array {
  return Float32Array.from({ length: maskWidth * maskHeight }, (_, i) => {
    const [x, y] = [i % maskWidth, Math.floor(i / maskWidth)];
    return x >= x1 && x < x2 && y >= y1 && y < y2 ? 10 : -10;
  });
}

/** The bounding rectangle of the set pixels of a binary mask: [x1, y1, x2, y2) or null. */
function extent(data: Uint8Array, width: number): number[] | null {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -1, -1];
  data.forEach((v, i) => {
    if (!v) return;
    const [x, y] = [i % width, Math.floor(i / width)];
    [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
  });
  return x2 < 0 ? null : [x1, y1, x2, y2];
}

describe("decodeRfdetrMask", () => {
  // An 8x8 mask for a 32x32 input; the rectangle covers cells 2..5 x 1..3.
  const logits = rectangleLogits(8, 8, 2, 1, 6, 4);
  const stretch32 = (imageWidth: number, imageHeight: number) => geometry({ inputWidth: 32, inputHeight: 32, letterboxWidth: 32, letterboxHeight: 32, imageWidth, imageHeight });

  test("accurate: logits resized to the image, > 0, polygon in integer image pixels", () => {
    // 8 -> 32: each cell becomes 4 pixels; along an edge the +10/-10 midpoint falls between pixels,
    // at a corner pixel the blend of three outside cells and one inside cell is negative.
    const mask = decodeRfdetrMask(logits, 8, 8, stretch32(32, 32), "accurate", 0);
    expect([mask.width, mask.height]).toEqual([32, 32]);
    expect(extent(mask.data, 32)).toEqual([8, 4, 24, 16]);
    expect(mask.data[4 * 32 + 8]).toBe(0);
    expect(mask.data[5 * 32 + 8]).toBe(1);
    expect(mask.points).toEqual([
      { x: 9, y: 4 },
      { x: 8, y: 5 },
      { x: 8, y: 14 },
      { x: 9, y: 15 },
      { x: 22, y: 15 },
      { x: 23, y: 14 },
      { x: 23, y: 5 },
      { x: 22, y: 4 },
    ]);
  });

  test("fast: no resize; the polygon scales by the image over the mask size", () => {
    const mask = decodeRfdetrMask(logits, 8, 8, stretch32(64, 16), "fast", 0);
    expect([mask.width, mask.height]).toEqual([8, 8]);
    expect(extent(mask.data, 8)).toEqual([2, 1, 6, 4]);
    expect(mask.points).toEqual([
      { x: 16, y: 2 },
      { x: 16, y: 6 },
      { x: 40, y: 6 },
      { x: 40, y: 2 },
    ]);
  });

  test("any other mode is fast, without the 400 the YOLO families give", () => {
    expect(decodeRfdetrMask(logits, 8, 8, stretch32(64, 16), "no-such-mode", 0)).toEqual(decodeRfdetrMask(logits, 8, 8, stretch32(64, 16), "fast", 0));
  });

  test("tradeoff: a size between the mask's and the image's, per axis, without the YOLO swap", () => {
    // t = 0.5: width int(8 * 0.5 + 24 * 0.5) = 16, height int(8 * 0.5 + 40 * 0.5) = 24.
    const mask = decodeRfdetrMask(logits, 8, 8, stretch32(24, 40), "tradeoff", 0.5);
    expect([mask.width, mask.height]).toEqual([16, 24]);
    expect(decodeRfdetrMask(logits, 8, 8, stretch32(24, 40), "tradeoff", 0)).toEqual(decodeRfdetrMask(logits, 8, 8, stretch32(24, 40), "fast", 0));
    expect(() => decodeRfdetrMask(logits, 8, 8, stretch32(24, 40), "tradeoff", -2)).toThrow("resizes a 8x8 mask to -24x-56");
  });

  test("letterbox: the mask is cropped to the unpadded area first", () => {
    // A 32x16 image in a 32x32 input: s = 1, pad_y = 8; mask rows round(8 * 8 / 32) = 2 .. round(24 * 8 / 32) = 6.
    const letterboxed = { ...stretch32(32, 16), resize: "letterbox" as const };
    const fast = decodeRfdetrMask(logits, 8, 8, letterboxed, "fast", 0);
    expect([fast.width, fast.height]).toEqual([8, 4]);
    expect(extent(fast.data, 8)).toEqual([2, 0, 6, 2]);
    const accurate = decodeRfdetrMask(logits, 8, 8, letterboxed, "accurate", 0);
    expect([accurate.width, accurate.height]).toEqual([32, 16]);
    expect(extent(accurate.data, 32)).toEqual([8, 0, 24, 8]);
  });

  test("letterbox crop bounds round half to even", () => {
    // 30x32 image in 32x32: s = 1, scaled 30, pad_x = 1; 7-cell mask: 1 * 7 / 32 = 0.21875 -> 0, (1 + 30) * 7 / 32 = 6.78 -> 7.
    // 28x32: pad_x = 2: 2 * 8 / 32 = 0.5 -> 0 (even), 30 * 8 / 32 = 7.5 -> 8 (even).
    const mask = decodeRfdetrMask(logits, 8, 8, { ...stretch32(28, 32), resize: "letterbox" }, "fast", 0);
    expect([mask.width, mask.height]).toEqual([8, 8]);
  });

  test("static crop: polygon in the crop region's pixels plus its shift", () => {
    // 64x64 image cropped to 50..100 % both ways: region 32x32 at (32, 32).
    const cropped = { ...stretch32(64, 64), staticCrop: { xMin: 50, yMin: 50, xMax: 100, yMax: 100 } };
    const mask = decodeRfdetrMask(logits, 8, 8, cropped, "accurate", 0);
    const uncropped = decodeRfdetrMask(logits, 8, 8, stretch32(32, 32), "accurate", 0);
    expect([mask.width, mask.height]).toEqual([32, 32]);
    expect(mask.data).toEqual(uncropped.data);
    expect(mask.points).toEqual(uncropped.points.map((p) => ({ x: p.x + 32, y: p.y + 32 })));
  });

  test("an empty mask has no polygon", () => {
    const mask = decodeRfdetrMask(new Float32Array(64).fill(-1), 8, 8, stretch32(32, 32), "fast", 0);
    expect(mask.points).toEqual([]);
  });

  test("coverage brings any mode's mask to the original resolution: as is in accurate mode, nearest upscaled otherwise", () => {
    const image = stretch32(32, 32);
    const full = (mode: string, t = 0) => {
      const mask = decodeRfdetrMask(logits, 8, 8, image, mode, t);
      return maskAtImageResolution({ left: 0, top: 0, width: mask.width, height: mask.height, data: mask.data }, mask.width, mask.height, mask.coverage);
    };
    expect(full("accurate")).toEqual(decodeRfdetrMask(logits, 8, 8, image, "accurate", 0).data);
    const rectangle = (x1: number, y1: number, x2: number, y2: number) =>
      Uint8Array.from({ length: 32 * 32 }, (_, i) => (i % 32 >= x1 && i % 32 < x2 && Math.floor(i / 32) >= y1 && Math.floor(i / 32) < y2 ? 1 : 0));
    // fast: each of the 8x8 cells becomes 4x4 pixels.
    expect(full("fast")).toEqual(rectangle(8, 4, 24, 16));
    // tradeoff 0.5: a 20x20 mask, set over x 5..14, y 3..9 (y = 2 reads exactly the +10/-10 midpoint, 0, not > 0)
    // except its two bottom corners, sampled at 20/32 per pixel: x 8..23, y 5..15, less 2x2 pixels at each bottom corner.
    const tradeoff = rectangle(8, 5, 24, 16);
    for (const [x, y] of [
      [8, 14],
      [9, 14],
      [8, 15],
      [9, 15],
      [22, 14],
      [23, 14],
      [22, 15],
      [23, 15],
    ])
      tradeoff[y! * 32 + x!] = 0;
    expect(full("tradeoff", 0.5)).toEqual(tradeoff);
  });
});

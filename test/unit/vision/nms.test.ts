// Tests for the reference's NMS: overlap over the other box's area, +1 pixel areas, strict threshold, ordering.
import { describe, expect, test } from "bun:test";
import { allocateDetectionCandidates, nonMaxSuppression, type DetectionCandidates, type NmsOptions } from "../../../src/vision/nms.ts";

interface Box {
  box: [number, number, number, number];
  score: number;
  classId?: number;
}

function candidatesOf(boxes: Box[]): DetectionCandidates {
  const candidates = allocateDetectionCandidates(boxes.length);
  boxes.forEach(({ box, score, classId = 0 }, i) => {
    [candidates.x1[i], candidates.y1[i], candidates.x2[i], candidates.y2[i]] = box;
    candidates.score[i] = score;
    candidates.classConfidence[i] = score;
    candidates.classId[i] = classId;
    candidates.row[i] = i;
  });
  return candidates;
}

function keptIndices(boxes: Box[], options: Partial<NmsOptions> = {}): number[] {
  const full: NmsOptions = { iouThreshold: 0.3, classAgnostic: false, maxDetections: 300, ...options };
  return Array.from(nonMaxSuppression(candidatesOf(boxes), full));
}

describe("overlap measure", () => {
  test("suppresses a small box inside a bigger higher-scored box even though their IoU is tiny", () => {
    // IoU = 100 / 10000 = 0.01, but overlap over the small box's own area is 1.
    expect(
      keptIndices([
        { box: [0, 0, 99, 99], score: 0.9 },
        { box: [10, 10, 19, 19], score: 0.8 },
      ]),
    ).toEqual([0]);
  });

  test("keeps a bigger lower-scored box around a smaller higher-scored one (overlap is over the other box's area)", () => {
    // Overlap for the big box = 100 / 10000 = 0.01.
    expect(
      keptIndices([
        { box: [10, 10, 19, 19], score: 0.9 },
        { box: [0, 0, 99, 99], score: 0.8 },
      ]),
    ).toEqual([0, 1]);
  });

  test("counts areas and intersections with the +1 pixel convention", () => {
    // +1: inter 5×10 = 50, area 10×10 = 100 → 0.5 > 0.45. Without +1 it would be 36 / 81 = 0.44.
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [5, 0, 14, 9], score: 0.8 },
    ];
    expect(keptIndices(boxes, { iouThreshold: 0.45 })).toEqual([0]);
  });

  test("boxes that only touch at an edge still overlap by one pixel column", () => {
    // inter = (9 - 9 + 1) × 10 = 10, area 100 → 0.1.
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [9, 0, 18, 9], score: 0.8 },
    ];
    expect(keptIndices(boxes, { iouThreshold: 0.05 })).toEqual([0]);
    expect(keptIndices(boxes, { iouThreshold: 0.1 })).toEqual([0, 1]);
  });

  test("disjoint boxes never suppress each other", () => {
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [20, 20, 29, 29], score: 0.8 },
    ];
    expect(keptIndices(boxes, { iouThreshold: 0 })).toEqual([0, 1]);
  });
});

describe("threshold", () => {
  const halfOverlapping: Box[] = [
    { box: [0, 0, 9, 9], score: 0.9 },
    { box: [5, 0, 14, 9], score: 0.8 },
  ];

  test("does not suppress when the overlap equals the threshold (strict >)", () => {
    expect(keptIndices(halfOverlapping, { iouThreshold: 0.5 })).toEqual([0, 1]);
  });

  test("suppresses when the overlap is just above the threshold", () => {
    expect(keptIndices(halfOverlapping, { iouThreshold: 0.49 })).toEqual([0]);
  });

  test("a negative threshold suppresses even disjoint boxes (their zero overlap is above it)", () => {
    const disjoint: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [20, 20, 29, 29], score: 0.8 },
    ];
    expect(keptIndices(disjoint, { iouThreshold: -0.1 })).toEqual([0]);
  });

  test("iou_threshold >= 1 suppresses nothing, even identical boxes", () => {
    const identical: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [0, 0, 9, 9], score: 0.8 },
      { box: [2, 2, 5, 5], score: 0.7 },
    ];
    expect(keptIndices(identical, { iouThreshold: 1 })).toEqual([0, 1, 2]);
  });
});

describe("greedy order", () => {
  test("keeps the higher-scored box of an overlapping pair wherever it sits in the input", () => {
    expect(
      keptIndices([
        { box: [0, 0, 9, 9], score: 0.6 },
        { box: [0, 0, 9, 9], score: 0.95 },
      ]),
    ).toEqual([1]);
  });

  test("a suppressed box does not suppress others", () => {
    // A suppresses B (0.5); B would suppress C (0.5) but is gone; A and C are disjoint.
    const chain: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [5, 0, 14, 9], score: 0.8 },
      { box: [10, 0, 19, 9], score: 0.7 },
    ];
    expect(keptIndices(chain)).toEqual([0, 2]);
  });
});

describe("classes", () => {
  const sameBoxTwoClasses: Box[] = [
    { box: [0, 0, 9, 9], score: 0.9, classId: 0 },
    { box: [0, 0, 9, 9], score: 0.8, classId: 1 },
  ];

  test("class-aware NMS does not suppress across classes", () => {
    expect(keptIndices(sameBoxTwoClasses)).toEqual([0, 1]);
  });

  test("class-agnostic NMS suppresses across classes", () => {
    expect(keptIndices(sameBoxTwoClasses, { classAgnostic: true })).toEqual([0]);
  });
});

describe("result order and max_detections", () => {
  test("sorts survivors of all classes by score descending", () => {
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.5, classId: 0 },
      { box: [20, 0, 29, 9], score: 0.9, classId: 2 },
      { box: [40, 0, 49, 9], score: 0.7, classId: 1 },
    ];
    expect(keptIndices(boxes)).toEqual([1, 2, 0]);
  });

  test("score ties keep the class-ascending concatenation order (stable sort), not the input order", () => {
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.5, classId: 2 },
      { box: [20, 0, 29, 9], score: 0.5, classId: 0 },
      { box: [40, 0, 49, 9], score: 0.7, classId: 1 },
    ];
    expect(keptIndices(boxes)).toEqual([2, 1, 0]);
  });

  test("score ties within a class keep input order", () => {
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.5 },
      { box: [20, 0, 29, 9], score: 0.5 },
      { box: [40, 0, 49, 9], score: 0.5 },
    ];
    expect(keptIndices(boxes)).toEqual([0, 1, 2]);
  });

  test("max_detections keeps the highest-scored survivors across classes", () => {
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.5, classId: 0 },
      { box: [20, 0, 29, 9], score: 0.9, classId: 1 },
      { box: [40, 0, 49, 9], score: 0.7, classId: 0 },
    ];
    expect(keptIndices(boxes, { maxDetections: 2 })).toEqual([1, 2]);
  });

  test("max_detections applies after suppression, not to the candidates", () => {
    const boxes: Box[] = [
      { box: [0, 0, 9, 9], score: 0.9 },
      { box: [0, 0, 9, 9], score: 0.8 },
      { box: [40, 0, 49, 9], score: 0.7 },
    ];
    expect(keptIndices(boxes, { maxDetections: 2 })).toEqual([0, 2]);
  });

  test("max_detections 0 keeps nothing", () => {
    expect(keptIndices([{ box: [0, 0, 9, 9], score: 0.9 }], { maxDetections: 0 })).toEqual([]);
  });

  test("no candidates give no survivors", () => {
    expect(keptIndices([])).toEqual([]);
  });
});

describe("agreement with the reference's loop", () => {
  /** Mulberry32: a small seeded generator, so failures reproduce. */
  function seededRandom(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** NumPy's maximum/minimum propagate NaN, unlike Math.max/min when only some arguments are NaN. */
  const npMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b));
  const npMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b));

  /** non_max_suppression_fast transcribed: argsort ascending, take the last, np.delete the overlapping. */
  function referenceFastNms(rows: number[], boxes: Box[], threshold: number): number[] {
    const area = (i: number) => (boxes[i]!.box[2] - boxes[i]!.box[0] + 1) * (boxes[i]!.box[3] - boxes[i]!.box[1] + 1);
    let idxs = [...rows].sort((a, b) => boxes[a]!.score - boxes[b]!.score);
    const pick: number[] = [];
    while (idxs.length > 0) {
      const last = idxs.length - 1;
      const i = idxs[last]!;
      pick.push(i);
      const [ix1, iy1, ix2, iy2] = boxes[i]!.box;
      idxs = idxs.slice(0, last).filter((j) => {
        const [jx1, jy1, jx2, jy2] = boxes[j]!.box;
        const w = npMax(0, npMin(ix2, jx2) - npMax(ix1, jx1) + 1);
        const h = npMax(0, npMin(iy2, jy2) - npMax(iy1, jy1) + 1);
        return !((w * h) / area(j) > threshold);
      });
    }
    return pick;
  }

  function referenceNms(boxes: Box[], options: NmsOptions): number[] {
    const all = boxes.map((_, i) => i);
    const groups = options.classAgnostic
      ? [all]
      : [...new Set(boxes.map((b) => b.classId ?? 0))].sort((a, b) => a - b).map((c) => all.filter((i) => (boxes[i]!.classId ?? 0) === c));
    const survivors = groups.flatMap((group) => referenceFastNms(group, boxes, options.iouThreshold));
    return survivors.sort((a, b) => boxes[b]!.score - boxes[a]!.score).slice(0, options.maxDetections);
  }

  test("matches a transcription of the reference on random candidates, degenerate and NaN boxes and negative thresholds included", () => {
    const random = seededRandom(12345);
    for (let trial = 0; trial < 500; trial++) {
      const used = new Set<number>();
      const boxes: Box[] = Array.from({ length: Math.floor(random() * 40) }, () => {
        let score: number;
        do score = Math.fround(random());
        while (used.has(score)); // distinct scores: the reference's order among ties is unspecified
        used.add(score);
        const [cx, cy, w, h] = [random() * 100, random() * 100, random() * 60 - 5, random() * 60 - 5];
        const box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2].map(Math.fround) as Box["box"];
        if (random() < 0.03) box[Math.floor(random() * 4)] = Number.NaN;
        return { box, score, classId: Math.floor(random() * 3) };
      });
      const options: NmsOptions = {
        iouThreshold: [0.3, 0, 0.5, 0.9, -0.2, 1, random()][trial % 7]!,
        classAgnostic: trial % 2 === 0,
        maxDetections: trial % 5 === 0 ? 3 : 300,
      };
      expect(keptIndices(boxes, options)).toEqual(referenceNms(boxes, options));
    }
  });
});

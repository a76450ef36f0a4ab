// Non-maximum suppression: the reference's greedy "fast NMS" (overlap over the other box's area) on detection candidates.

/**
 * Detection candidates in model-input pixels, one entry per index across parallel typed arrays
 * (struct of arrays: no per-candidate objects on the hot path).
 * Corners are float32, as the reference converts xywh to xyxy inside the float32 model output.
 */
export interface DetectionCandidates {
  readonly count: number;
  readonly x1: Float32Array;
  readonly y1: Float32Array;
  readonly x2: Float32Array;
  readonly y2: Float32Array;
  /** What the confidence filter, the NMS ordering and the response's `confidence` use. */
  readonly score: Float32Array;
  /** Max class score; equals `score` for YOLOv8, differs for objectness models (YOLOv5). */
  readonly classConfidence: Float32Array;
  readonly classId: Int32Array;
  /** Index of the candidate's anchor in the raw output, to fetch further columns (mask coefficients). */
  readonly row: Int32Array;
}

export interface NmsOptions {
  /** Suppress a box when its overlap with a kept box is strictly greater than this. */
  iouThreshold: number;
  classAgnostic: boolean;
  /** Survivors kept after the final sort; applied as a Python slice `[:maxDetections]`. */
  maxDetections: number;
}

/** Zero-filled candidates for a decoder to write into. */
export function allocateDetectionCandidates(count: number): DetectionCandidates {
  return {
    count,
    x1: new Float32Array(count),
    y1: new Float32Array(count),
    x2: new Float32Array(count),
    y2: new Float32Array(count),
    score: new Float32Array(count),
    classConfidence: new Float32Array(count),
    classId: new Int32Array(count),
    row: new Int32Array(count),
  };
}

/** Writes candidate `index`: its corners, score, class confidence and class, and its row in the raw output. */
export function setCandidate(
  candidates: DetectionCandidates,
  index: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  score: number,
  classConfidence: number,
  classId: number,
  row: number,
): void {
  candidates.x1[index] = x1;
  candidates.y1[index] = y1;
  candidates.x2[index] = x2;
  candidates.y2[index] = y2;
  candidates.score[index] = score;
  candidates.classConfidence[index] = classConfidence;
  candidates.classId[index] = classId;
  candidates.row[index] = row;
}

/** The corners of the candidates at `indices`, in that order, as [x1, y1, x2, y2] rows of float64 (what rescaling works on). */
export function gatherBoxes(candidates: DetectionCandidates, indices: ArrayLike<number>): Float64Array {
  const boxes = new Float64Array(indices.length * 4);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    boxes[4 * k] = candidates.x1[i]!;
    boxes[4 * k + 1] = candidates.y1[i]!;
    boxes[4 * k + 2] = candidates.x2[i]!;
    boxes[4 * k + 3] = candidates.y2[i]!;
  }
  return boxes;
}

/** The first `count` candidates, as views (a decoder that allocated for more than passed its filter). */
export function truncateCandidates(candidates: DetectionCandidates, count: number): DetectionCandidates {
  return {
    count,
    x1: candidates.x1.subarray(0, count),
    y1: candidates.y1.subarray(0, count),
    x2: candidates.x2.subarray(0, count),
    y2: candidates.y2.subarray(0, count),
    score: candidates.score.subarray(0, count),
    classConfidence: candidates.classConfidence.subarray(0, count),
    classId: candidates.classId.subarray(0, count),
    row: candidates.row.subarray(0, count),
  };
}

/**
 * Sort keys are exact integers in a float64, so native numeric sorts (no comparator calls) order
 * candidates: high part = what to sort by, low 21 bits = position, which also makes them stable.
 */
const POSITION_RANGE = 2 ** 21;
const CLASS_OFFSET = 2 ** 31;

/** Corners and +1 areas in suppression order, in float64 as the reference's detection rows are. */
interface OrderedBoxes {
  x1: Float64Array;
  y1: Float64Array;
  x2: Float64Array;
  y2: Float64Array;
  area: Float64Array;
}

/**
 * Runs the reference's NMS and returns the indices of the surviving candidates, sorted by score
 * descending and cut to `maxDetections`.
 *
 * Class-aware: classes in ascending id order, each sorted by score descending, greedy suppression;
 * survivors concatenated in that order, then stably sorted by score. Score ties are broken by
 * candidate index, so the result is deterministic (the reference's NumPy sorts are not stable).
 * Scores must not be NaN (the confidence filter before NMS already drops NaN scores).
 */
export function nonMaxSuppression(candidates: DetectionCandidates, options: NmsOptions): Int32Array {
  const { count, score, classId } = candidates;
  if (count >= POSITION_RANGE) throw new RangeError(`NMS takes at most ${POSITION_RANGE - 1} candidates, got ${count}`);
  const scoreBits = new Uint32Array(score.buffer, score.byteOffset, count);
  const keys = new Float64Array(count);

  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) keys[i] = descendingScoreKey(scoreBits[i]!) * POSITION_RANGE + i;
  keys.sort();
  for (let p = 0; p < count; p++) order[p] = positionOf(keys[p]!);
  if (!options.classAgnostic) {
    // Stable regrouping by class keeps each class's candidates in score order.
    for (let p = 0; p < count; p++) keys[p] = (classId[order[p]!]! + CLASS_OFFSET) * POSITION_RANGE + p;
    keys.sort();
    const byScore = order.slice();
    for (let p = 0; p < count; p++) order[p] = byScore[positionOf(keys[p]!)]!;
  }

  const boxes = orderedBoxes(candidates, order);
  const survivors = new Int32Array(count);
  const remaining = new Int32Array(count);
  let survivorCount = 0;
  for (let groupStart = 0; groupStart < count; ) {
    const groupEnd = options.classAgnostic ? count : endOfClassGroup(order, classId, groupStart);
    survivorCount = suppressGroup(boxes, groupStart, groupEnd, options.iouThreshold, remaining, survivors, survivorCount);
    groupStart = groupEnd;
  }

  // Stable on the concatenation order, like the reference's final Python sort.
  const finalKeys = keys.subarray(0, survivorCount);
  for (let k = 0; k < survivorCount; k++) finalKeys[k] = descendingScoreKey(scoreBits[order[survivors[k]!]!]!) * POSITION_RANGE + k;
  finalKeys.sort();
  const keptCount = pythonSliceEnd(options.maxDetections, survivorCount);
  const kept = new Int32Array(keptCount);
  for (let k = 0; k < keptCount; k++) kept[k] = order[survivors[positionOf(finalKeys[k]!)]!]!;
  return kept;
}

/**
 * Greedy suppression over positions [start, end) (already in score order): take the first remaining
 * box, drop every remaining box whose overlap with it is > threshold, repeat. Appends the kept
 * positions to `survivors` and returns the new survivor count. `remaining` is scratch.
 */
function suppressGroup(boxes: OrderedBoxes, start: number, end: number, threshold: number, remaining: Int32Array, survivors: Int32Array, survivorCount: number): number {
  // An intersection never exceeds the other box's area, so a threshold >= 1 (or NaN) suppresses
  // nothing: skipping the quadratic loop matters for confidence-0 requests with thousands of candidates.
  if (!(threshold < 1)) {
    for (let p = start; p < end; p++) survivors[survivorCount++] = p;
    return survivorCount;
  }
  let remainingCount = 0;
  for (let p = start; p < end; p++) remaining[remainingCount++] = p;
  while (remainingCount > 0) {
    const kept = remaining[0]!;
    survivors[survivorCount++] = kept;
    remainingCount =
      threshold >= 0
        ? keepNotOverlapping(boxes, kept, remaining, remainingCount, threshold)
        : keepNotOverlappingNegativeThreshold(boxes, kept, remaining, remainingCount, threshold);
  }
  return survivorCount;
}

/**
 * Compacts remaining[1..count) into remaining[0..) keeping boxes whose overlap with `kept`, over
 * their own area, is not > threshold. For threshold >= 0 only: a zero or NaN overlap never
 * suppresses there, so disjoint boxes skip the division and a box with a NaN corner (whose overlaps
 * are all NaN in the reference) suppresses nothing.
 */
function keepNotOverlapping(boxes: OrderedBoxes, kept: number, remaining: Int32Array, count: number, threshold: number): number {
  const { x1, y1, x2, y2, area } = boxes;
  const kx1 = x1[kept]!;
  const ky1 = y1[kept]!;
  const kx2 = x2[kept]!;
  const ky2 = y2[kept]!;
  if (Number.isNaN(kx1 + ky1 + kx2 + ky2)) {
    remaining.copyWithin(0, 1, count);
    return count - 1;
  }
  let written = 0;
  for (let r = 1; r < count; r++) {
    const j = remaining[r]!;
    // Ternaries rather than Math.min/max (twice as fast here); a NaN corner of j still propagates.
    const jx1 = x1[j]!;
    const jx2 = x2[j]!;
    const w = (kx2 < jx2 ? kx2 : jx2) - (kx1 > jx1 ? kx1 : jx1) + 1;
    if (w > 0) {
      const jy1 = y1[j]!;
      const jy2 = y2[j]!;
      const h = (ky2 < jy2 ? ky2 : jy2) - (ky1 > jy1 ? ky1 : jy1) + 1;
      // Divided by the other box's area, not the union: a box inside a kept one has overlap 1.
      if (h > 0 && (w * h) / area[j]! > threshold) continue;
    }
    remaining[written++] = j;
  }
  return written;
}

/** The reference's arithmetic verbatim, for negative thresholds where even a zero overlap suppresses. */
function keepNotOverlappingNegativeThreshold(boxes: OrderedBoxes, kept: number, remaining: Int32Array, count: number, threshold: number): number {
  const { x1, y1, x2, y2, area } = boxes;
  let written = 0;
  for (let r = 1; r < count; r++) {
    const j = remaining[r]!;
    const w = Math.max(0, Math.min(x2[kept]!, x2[j]!) - Math.max(x1[kept]!, x1[j]!) + 1);
    const h = Math.max(0, Math.min(y2[kept]!, y2[j]!) - Math.max(y1[kept]!, y1[j]!) + 1);
    if (!((w * h) / area[j]! > threshold)) remaining[written++] = j;
  }
  return written;
}

function orderedBoxes(candidates: DetectionCandidates, order: Int32Array): OrderedBoxes {
  const count = order.length;
  const boxes: OrderedBoxes = {
    x1: new Float64Array(count),
    y1: new Float64Array(count),
    x2: new Float64Array(count),
    y2: new Float64Array(count),
    area: new Float64Array(count),
  };
  for (let p = 0; p < count; p++) {
    const i = order[p]!;
    const x1 = candidates.x1[i]!;
    const y1 = candidates.y1[i]!;
    const x2 = candidates.x2[i]!;
    const y2 = candidates.y2[i]!;
    boxes.x1[p] = x1;
    boxes.y1[p] = y1;
    boxes.x2[p] = x2;
    boxes.y2[p] = y2;
    boxes.area[p] = (x2 - x1 + 1) * (y2 - y1 + 1);
  }
  return boxes;
}

/** A uint32 that sorts ascending as the float32 with these bits sorts descending (-0 and +0 equal). */
function descendingScoreKey(bits: number): number {
  let ascending: number;
  if (bits === 0x80000000) ascending = 0x80000000;
  else if (bits & 0x80000000) ascending = ~bits >>> 0;
  else ascending = (bits | 0x80000000) >>> 0;
  return 0xffffffff - ascending;
}

/** Low part of a sort key; floor-based because `%` on doubles is several times slower. */
function positionOf(key: number): number {
  return key - Math.floor(key / POSITION_RANGE) * POSITION_RANGE;
}

/** First position after `start` in `order` whose candidate has another class than the one at `start`. */
function endOfClassGroup(order: Int32Array, classId: Int32Array, start: number): number {
  const groupClass = classId[order[start]!];
  let end = start + 1;
  while (end < order.length && classId[order[end]!] === groupClass) end++;
  return end;
}

/** End index of Python's `list[:end]` for a list of `length` items (negative counts from the end). */
function pythonSliceEnd(end: number, length: number): number {
  if (end < 0) return Math.max(0, length + end);
  return Math.min(end, length);
}

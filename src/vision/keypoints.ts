// Keypoints: where a pose model's keypoint triplets sit in its output, their mapping back to the original image (docs/model-families.md §4.5), the response's keypoint lists (§4.6) and keypoints_metadata.json (§4.1).
import { roundHalfToEven } from "../python-rounding.ts";
import { staticCropRegion, type RescaleGeometry } from "./boxes.ts";
import type { DetectionCandidates } from "./nms.ts";

/** Values per keypoint: x, y (model-input pixels) and confidence. */
export const KEYPOINT_VALUES = 3;

/**
 * Where the keypoints of a candidate sit in its family's raw output: value v (0 = x, 1 = y,
 * 2 = confidence) of keypoint j of the anchor in output row `row` is
 * `output[start + row * rowStep + (3 * j + v) * valueStep]`.
 */
export interface KeypointLayout {
  start: number;
  rowStep: number;
  valueStep: number;
  /** Keypoints per anchor (Kp). */
  keypoints: number;
}

/**
 * The keypoint triplets of the candidates at `indices`, as float64 rows of 3 · Kp values (x, y,
 * confidence per keypoint; the reference's detection rows are float64), in the order of `indices`.
 */
export function gatherKeypoints(output: Float32Array, layout: KeypointLayout, candidates: DetectionCandidates, indices: ArrayLike<number>): Float64Array {
  const width = KEYPOINT_VALUES * layout.keypoints;
  const keypoints = new Float64Array(indices.length * width);
  for (let n = 0; n < indices.length; n++) {
    const first = layout.start + candidates.row[indices[n]!]! * layout.rowStep;
    for (let v = 0; v < width; v++) keypoints[n * width + v] = output[first + v * layout.valueStep]!;
  }
  return keypoints;
}

/**
 * Maps keypoint triplets (x, y, confidence; any number of them, flat) from model-input pixels to
 * original-image pixels in place, as the reference's `post_process_keypoints` (docs/model-families.md §4.5):
 * 1. the static crop's shift and size (docs/compatibility.md §5.3 step 1); `geometry.staticCrop` is null when the request
 *    disabled the crop, which keypoints honour (polygons in the reference do not);
 * 2. stretch: scale by the cropped size over the input size; letterbox: s = min(H/h, W/w), the
 *    resized size **truncated** (like polygons, unlike boxes), padding (W - int(w·s)) / 2, then
 *    (x - pad) / s;
 * 3. clip to the cropped size and round half to even to integers;
 * 4. add the shift.
 * Confidences are left as they are. Arithmetic in float64.
 */
export function rescaleKeypoints(keypoints: Float64Array, geometry: RescaleGeometry): void {
  if (keypoints.length % KEYPOINT_VALUES !== 0) throw new RangeError(`${keypoints.length} keypoint values are not whole (x, y, confidence) triplets`);
  const { width, height, shiftX, shiftY } = staticCropRegion(geometry.imageWidth, geometry.imageHeight, geometry.staticCrop);
  const place = (k: number, x: number, y: number) => {
    keypoints[k] = roundHalfToEven(clip(x, width)) + shiftX;
    keypoints[k + 1] = roundHalfToEven(clip(y, height)) + shiftY;
  };
  if (geometry.resize === "stretch") {
    const scaleX = width / geometry.inputWidth;
    const scaleY = height / geometry.inputHeight;
    for (let k = 0; k < keypoints.length; k += KEYPOINT_VALUES) place(k, keypoints[k]! * scaleX, keypoints[k + 1]! * scaleY);
  } else {
    const scale = Math.min(geometry.inputHeight / height, geometry.inputWidth / width);
    const padX = (geometry.inputWidth - Math.trunc(width * scale)) / 2;
    const padY = (geometry.inputHeight - Math.trunc(height * scale)) / 2;
    for (let k = 0; k < keypoints.length; k += KEYPOINT_VALUES) place(k, (keypoints[k]! - padX) / scale, (keypoints[k + 1]! - padY) / scale);
  }
}

/** np.clip(value, 0, max); NaN stays NaN. */
function clip(value: number, max: number): number {
  return value < 0 ? 0 : value > max ? max : value;
}

/** One keypoint as the reference serialises it, keys in this order. */
export interface KeypointPrediction {
  x: number;
  y: number;
  confidence: number;
  /** The keypoint's index j within its object class. */
  class_id: number;
  /** The keypoint's name from keypoints_metadata.json. */
  class: string;
}

/**
 * The reference's `model_keypoints_to_response` (docs/model-families.md §4.6) for one detection: triplets j = 0, 1, …
 * of `keypoints` (already rescaled); stops at the first j without a name (exports of several classes
 * pad every class to the largest keypoint count) and skips keypoints whose confidence is below
 * `threshold` (inclusive threshold). The reference's threshold is always 0 (its `keypoint_confidence`
 * never arrives); ours is the request's `keypoint_confidence`.
 */
export function keypointPredictions(keypoints: ArrayLike<number>, names: readonly string[], threshold: number): KeypointPrediction[] {
  const predictions: KeypointPrediction[] = [];
  const count = Math.floor(keypoints.length / KEYPOINT_VALUES);
  for (let j = 0; j < count && j < names.length; j++) {
    const confidence = keypoints[KEYPOINT_VALUES * j + 2]!;
    if (confidence < threshold) continue;
    predictions.push({ x: keypoints[KEYPOINT_VALUES * j]!, y: keypoints[KEYPOINT_VALUES * j + 1]!, confidence, class_id: j, class: names[j]! });
  }
  return predictions;
}

/** A skeleton edge: the indices of the two keypoints it joins. */
export type KeypointEdge = readonly [number, number];

/** One object class's entry of keypoints_metadata.json. */
export interface ClassKeypoints {
  /** Keypoint names by keypoint index 0 … n-1. */
  names: string[];
  /** Skeleton edges for visualisation, when the entry has a usable `edges` list (our addition; the reference draws none). */
  edges: KeypointEdge[];
}

/** keypoints_metadata.json, parsed: per object class id, its keypoints; `maxKeypoints` is the largest count (K_max). */
export interface KeypointsMetadata {
  classes: ReadonlyMap<number, ClassKeypoints>;
  maxKeypoints: number;
}

/**
 * Parses keypoints_metadata.json (docs/model-families.md §4.1): a list with one entry per object class,
 * `{"object_class_id": 0, "keypoints": {"0": "nose", "1": "left_eye", …}, …}`; other keys are
 * ignored except `edges`. `file` names the file in errors.
 *
 * Stricter than the reference, which would only fail (500) at the first request that looks a
 * missing name up: the keypoint keys must be the integers 0 … n-1 (in any order) with string names,
 * and a class id may appear once.
 *
 * `edges` (not read by the reference) may be a list of `[from, to]` index pairs, or of
 * `{"from": i, "to": j}` objects; an edge naming a keypoint the class does not have, or an `edges`
 * value of any other shape, is left out rather than refusing a model the reference would serve.
 */
export function parseKeypointsMetadata(raw: unknown, file: string): KeypointsMetadata {
  const fail = (why: string): never => {
    throw new Error(`${file} is malformed: ${why}`);
  };
  if (!Array.isArray(raw)) fail(`expected a JSON list of {"object_class_id", "keypoints"} entries, got ${describe(raw)}`);
  const classes = new Map<number, ClassKeypoints>();
  let maxKeypoints = 0;
  (raw as unknown[]).forEach((entry, i) => {
    if (!isObject(entry)) fail(`entry ${i} is ${describe(entry)}, not an object`);
    const entryObject = entry as Record<string, unknown>;
    const classId = entryObject["object_class_id"];
    if (typeof classId !== "number" || !Number.isInteger(classId) || classId < 0) fail(`entry ${i} has object_class_id ${describe(classId)}, not a non-negative integer`);
    if (classes.has(classId as number)) fail(`object_class_id ${classId} appears more than once`);
    const keypoints = entryObject["keypoints"];
    if (!isObject(keypoints)) fail(`entry ${i} (object_class_id ${classId}) has keypoints ${describe(keypoints)}, not an object of index -> name`);
    const keys = Object.keys(keypoints as object);
    const names = new Array<string>(keys.length);
    for (const key of keys) {
      const index = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : -1;
      if (index < 0 || index >= keys.length) fail(`entry ${i} (object_class_id ${classId}) has keypoint key ${JSON.stringify(key)}; keys must be 0 … ${keys.length - 1}`);
      const name = (keypoints as Record<string, unknown>)[key];
      if (typeof name !== "string") fail(`entry ${i} (object_class_id ${classId}) names keypoint ${key} with ${describe(name)}, not a string`);
      names[index] = name as string;
    }
    classes.set(classId as number, { names, edges: parseEdges(entryObject["edges"], names.length) });
    maxKeypoints = Math.max(maxKeypoints, names.length);
  });
  return { classes, maxKeypoints };
}

/** A class's keypoint names, or an error naming the class (the reference fails with a KeyError, a 500). */
export function keypointNamesOf(metadata: KeypointsMetadata, classId: number): string[] {
  const entry = metadata.classes.get(classId);
  if (entry === undefined) throw new Error(`keypoints_metadata.json has no entry for object class ${classId}`);
  return entry.names;
}

function parseEdges(raw: unknown, keypoints: number): KeypointEdge[] {
  if (!Array.isArray(raw)) return [];
  const isIndex = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0 && value < keypoints;
  const edges: KeypointEdge[] = [];
  for (const edge of raw) {
    const [from, to] = Array.isArray(edge) && edge.length === 2 ? edge : isObject(edge) ? [edge["from"], edge["to"]] : [undefined, undefined];
    if (isIndex(from) && isIndex(to)) edges.push([from, to]);
  }
  return edges;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return JSON.stringify(value) ?? String(value);
}

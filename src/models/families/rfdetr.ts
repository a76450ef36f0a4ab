// RF-DETR families (detection and segmentation): query boxes, class logits and mask logits to detections in original-image pixels, polygons and binary masks (docs/model-families.md §1, §2).
import { HttpError } from "../../errors.ts";
import { roundHalfToEven } from "../../python-rounding.ts";
import { staticCropRegion, type RescaleGeometry } from "../../vision/boxes.ts";
import { maskToPolygon } from "../../vision/contours.ts";
import { resizePlane, letterboxTarget } from "../../vision/float-resize.ts";
import { maskAtImageResolution } from "../../vision/image-mask.ts";
import { allocateDetectionCandidates, setCandidate, truncateCandidates, type DetectionCandidates } from "../../vision/nms.ts";
import { rescalePolygon, type PolygonPoint } from "../../vision/polygons.ts";
import { IMAGENET_NORMALISATION } from "./class-scores.ts";
import { unsuppressed, type ObjectDetectionFamily, type RecognitionContext, type SegmentationFamily } from "./family.ts";

/** The class_names.txt line that marks a "one-indexed" RF-DETR package (docs/model-families.md §1.1). */
export const RFDETR_BACKGROUND_CLASS = "background_class83422";

/** An RF-DETR package's class names without the background line, and the logit column that line stood for. */
export interface RfdetrClasses {
  classNames: string[];
  /** Index of the background line in class_names.txt, or null when there is none. */
  backgroundIndex: number | null;
}

/** Removes the background line (its first occurrence, as Python's `list.index`) from class_names.txt's names; later names shift down by one. */
export function rfdetrClasses(namesInFile: readonly string[]): RfdetrClasses {
  const index = namesInFile.indexOf(RFDETR_BACKGROUND_CLASS);
  if (index < 0) return { classNames: [...namesInFile], backgroundIndex: null };
  return { classNames: [...namesInFile.slice(0, index), ...namesInFile.slice(index + 1)], backgroundIndex: index };
}

/** RFDETR_ONNX_MAX_RESOLUTION's default: a package whose resolution is this or more is refused (docs/model-families.md §1.2). */
export const RFDETR_DEFAULT_MAX_RESOLUTION = 1600;

/** The reference's 507 message for an RF-DETR package over the resolution limit. */
export const RFDETR_RESOLUTION_REFUSAL =
  "Model loading failed due to restrictions of server configuration - usually due to excessive runtime memory requirement of the model (for instance caused by large input size).";

/**
 * The resolution the reference's load guard checks (docs/model-families.md §1.2 step 2): environment.json's
 * `RESOLUTION`, else `PREPROCESSING.resize.width` (PREPROCESSING as an object or a JSON string);
 * the first element of a list; then Python's `int()` (a number truncated, a string of digits
 * parsed). Null when there is none or `int()` would fail: no guard. The guard refuses (507,
 * RFDETR_RESOLUTION_REFUSAL) when the result is >= the limit (1600 by default; 1600 itself is refused).
 * It does not size the input.
 */
export function rfdetrResolution(environment: Record<string, unknown>): number | null {
  let value = environment["RESOLUTION"];
  if (value === undefined || value === null) {
    let preprocessing = environment["PREPROCESSING"];
    if (typeof preprocessing === "string") {
      try {
        preprocessing = JSON.parse(preprocessing);
      } catch {
        preprocessing = undefined;
      }
    }
    const resize = typeof preprocessing === "object" && preprocessing !== null ? (preprocessing as Record<string, unknown>)["resize"] : undefined;
    value = typeof resize === "object" && resize !== null ? (resize as Record<string, unknown>)["width"] : undefined;
  }
  if (Array.isArray(value)) value = value[0];
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value === "string" && /^\s*[+-]?[0-9]+\s*$/.test(value)) return Number.parseInt(value, 10);
  return null;
}

/**
 * The reference's numerically stable sigmoid in float32: z = e^(-|x|), then 1 / (1 + z) for
 * x >= 0 and z / (1 + z) otherwise, each step rounded to float32. NaN stays NaN.
 */
export function sigmoidStable(x: number): number {
  const f = Math.fround;
  const z = f(Math.exp(-Math.abs(x)));
  const denominator = f(1 + z);
  return x >= 0 ? f(1 / denominator) : f(z / denominator);
}

export interface RfdetrSelection {
  confidence: number;
  /** Request `max_detections`: how many (query, class) scores the top-k keeps, with Python slice semantics. */
  maxDetections: number;
  /** From rfdetrClasses. */
  backgroundIndex: number | null;
  /** Names left after removing the background line; columns mapping past them are dropped. */
  numClasses: number;
}

/**
 * Steps 1-7 and 10 of docs/model-families.md §1.4 for one image: `boxes` is Q × 4 (cx, cy, w, h normalised to the
 * network input), `logits` Q × C raw class logits (views of the image's outputs).
 *
 * Every (query, class) pair is a candidate with score sigmoid(logit) (float32, stable form). The
 * top `maxDetections` by score are kept (all when Q · C is not larger; a negative value keeps all
 * but that many, as the reference's slice does), in descending score order; **ties go by flat index
 * q · C + c ascending** (the reference's order among ties is NumPy's partition order, unspecified).
 * Of those, scores strictly above `confidence` (float32) remain. Then one-indexed models drop the
 * background column and shift later columns down by one, and columns at or past `numClasses` are
 * dropped (so fewer than `maxDetections` may remain). One query may give several detections.
 *
 * Returns candidates in that order: corners x1 = cx - w/2 … in normalised input coordinates
 * (float32), `score` = `classConfidence` = the sigmoid, `classId` the (shifted) class, `row` the query.
 */
export function selectRfdetrDetections(boxes: Float32Array, logits: Float32Array, numQueries: number, numColumns: number, selection: RfdetrSelection): DetectionCandidates {
  const total = numQueries * numColumns;
  if (boxes.length < numQueries * 4) throw new Error(`RF-DETR boxes hold ${boxes.length} values, ${numQueries * 4} needed for ${numQueries} queries`);
  if (logits.length < total) throw new Error(`RF-DETR logits hold ${logits.length} values, ${total} needed for ${numQueries} queries × ${numColumns} classes`);
  const threshold = Math.fround(selection.confidence);
  const { maxDetections } = selection;
  const topK = total > maxDetections ? (maxDetections >= 0 ? maxDetections : Math.max(0, total + maxDetections)) : total;

  // The scores above the threshold are a prefix of the descending order, so the top k of all then
  // thresholded equals the top k of those above the threshold.
  const scores = new Float32Array(total);
  const passing: number[] = [];
  for (let i = 0; i < total; i++) {
    const score = sigmoidStable(logits[i]!);
    scores[i] = score;
    if (score > threshold) passing.push(i);
  }
  passing.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const selected = passing.length > topK ? passing.slice(0, topK) : passing;

  const { backgroundIndex, numClasses } = selection;
  const candidates = allocateDetectionCandidates(selected.length);
  let count = 0;
  for (const i of selected) {
    const query = Math.floor(i / numColumns);
    let classId = i - query * numColumns;
    if (backgroundIndex !== null) {
      if (classId === backgroundIndex) continue;
      if (classId > backgroundIndex) classId--;
    }
    if (classId >= numClasses) continue;
    const cx = boxes[4 * query]!;
    const cy = boxes[4 * query + 1]!;
    const halfW = Math.fround(0.5 * boxes[4 * query + 2]!);
    const halfH = Math.fround(0.5 * boxes[4 * query + 3]!);
    setCandidate(candidates, count, cx - halfW, cy - halfH, cx + halfW, cy + halfH, scores[i]!, scores[i]!, classId, query);
    count++;
  }
  return count === candidates.count ? candidates : truncateCandidates(candidates, count);
}

/**
 * How one image reached an RF-DETR input: the common geometry plus the size the letterbox filled,
 * (Iw, Ih) of docs/model-families.md §1.4 step 8 (float-resize.ts `letterboxTarget`: the input size unless the
 * non-square flag holds). Unused for stretch.
 */
export interface RfdetrGeometry extends RescaleGeometry {
  letterboxWidth: number;
  letterboxHeight: number;
}

/** Where the image sits in the letterboxed (Iw × Ih) input, docs/model-families.md §1.4 step 8: scale, truncated size, padding (may be .5). */
export interface RfdetrLetterbox {
  scale: number;
  width: number;
  height: number;
  padX: number;
  padY: number;
}

/** The letterbox of a w × h image (the static crop region's size) in Iw × Ih, as the reference computes it in double. */
export function rfdetrLetterbox(geometry: RfdetrGeometry, width: number, height: number): RfdetrLetterbox {
  const { letterboxWidth, letterboxHeight } = geometry;
  const scale = Math.min(letterboxWidth / width, letterboxHeight / height);
  const scaledWidth = Math.trunc(width * scale);
  const scaledHeight = Math.trunc(height * scale);
  return { scale, width: scaledWidth, height: scaledHeight, padX: (letterboxWidth - scaledWidth) / 2, padY: (letterboxHeight - scaledHeight) / 2 };
}

/**
 * Steps 8-9 of docs/model-families.md §1.4, in place on boxes (x1, y1, x2, y2 per box, normalised corners), in float32 like the
 * reference: stretch x · w; letterbox (x · Iw - pad_x) / s; clip to [0, w] × [0, h]; no rounding.
 *
 * Static crop: the reference uses the uncropped size and adds no shift, which misplaces boxes
 * (docs/model-families.md §1.4 step 9 calls it a bug). We apply docs/compatibility.md §5.3 steps 1 and 4 instead: (w, h) are the
 * crop region's size, and the crop's shift is added after clipping. Without a crop both agree.
 */
export function rfdetrBoxesToImage(boxes: Float64Array, geometry: RfdetrGeometry): void {
  const f = Math.fround;
  const { width, height, shiftX, shiftY } = staticCropRegion(geometry.imageWidth, geometry.imageHeight, geometry.staticCrop);
  let toX: (x: number) => number;
  let toY: (y: number) => number;
  if (geometry.resize === "stretch") {
    toX = (x) => f(x * width);
    toY = (y) => f(y * height);
  } else {
    const box = rfdetrLetterbox(geometry, width, height);
    const scale = f(box.scale);
    const [padX, padY] = [f(box.padX), f(box.padY)];
    toX = (x) => f(f(f(x * geometry.letterboxWidth) - padX) / scale);
    toY = (y) => f(f(f(y * geometry.letterboxHeight) - padY) / scale);
  }
  const place = (value: number, max: number, shift: number) => f(Math.min(Math.max(value, 0), max) + shift);
  for (let k = 0; k < boxes.length; k += 4) {
    boxes[k] = place(toX(boxes[k]!), width, shiftX);
    boxes[k + 1] = place(toY(boxes[k + 1]!), height, shiftY);
    boxes[k + 2] = place(toX(boxes[k + 2]!), width, shiftX);
    boxes[k + 3] = place(toY(boxes[k + 3]!), height, shiftY);
  }
}

/** One RF-DETR instance mask docs/model-families.md §2 steps 2-7. */
export interface RfdetrMask {
  /** The final binary mask (1 where the logit is > 0), row-major, at the size the mode leaves it. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Its polygon (the outer contour with most vertices) in original-image pixels; empty for an empty mask. */
  points: PolygonPoint[];
  /**
   * What the final mask covers: the static crop region of the original image (the whole image
   * without a crop), stretched. `maskAtImageResolution(mask as a window, width, height, coverage)`
   * (image-mask.ts) gives the original-resolution mask an RLE answer encodes: one to one in
   * `accurate` mode, nearest-neighbour upscaled in `fast`/`tradeoff` modes.
   */
  coverage: RescaleGeometry;
}

/**
 * docs/model-families.md §2 steps 2-7 for one query's mask logits (`logits`, maskHeight × maskWidth, a view):
 * 3. letterbox: crop to the unpadded area, in mask pixels `int(round(pad_x · mw / Iw))` …
 *    `int(round((pad_x + sw) · mw / Iw))` (half to even), likewise for y;
 * 4. `accurate`: bilinear resize of the float logits to the original size (skipped when equal);
 *    `tradeoff`: to int(m · (1 - t) + size · t) per axis, from the cropped mask's size, no range
 *    check on t (a size <= 0 throws, the reference's 500); any other mode: no resize (the reference
 *    answers no 400 here);
 * 5. binary = logit > 0; 6. polygon (contours.ts `maskToPolygon`); 7. vertices scaled by the
 *    original size over the final mask size, no clipping or rounding.
 * Static crop as rfdetrBoxesToImage: sizes are the crop region's, and polygons get its shift.
 */
export function decodeRfdetrMask(logits: Float32Array, maskWidth: number, maskHeight: number, geometry: RfdetrGeometry, mode: string, tradeoffFactor: number): RfdetrMask {
  if (logits.length < maskWidth * maskHeight) throw new Error(`RF-DETR mask holds ${logits.length} values, ${maskWidth * maskHeight} needed for ${maskWidth}x${maskHeight}`);
  const region = staticCropRegion(geometry.imageWidth, geometry.imageHeight, geometry.staticCrop);
  let mask = logits.subarray(0, maskWidth * maskHeight);
  let [width, height] = [maskWidth, maskHeight];
  if (geometry.resize === "letterbox") {
    const box = rfdetrLetterbox(geometry, region.width, region.height);
    const left = sliceBound(roundHalfToEven((box.padX * maskWidth) / geometry.letterboxWidth), maskWidth);
    const top = sliceBound(roundHalfToEven((box.padY * maskHeight) / geometry.letterboxHeight), maskHeight);
    const right = sliceBound(roundHalfToEven(((box.padX + box.width) * maskWidth) / geometry.letterboxWidth), maskWidth);
    const bottom = sliceBound(roundHalfToEven(((box.padY + box.height) * maskHeight) / geometry.letterboxHeight), maskHeight);
    [width, height] = [Math.max(right - left, 0), Math.max(bottom - top, 0)];
    const cropped = new Float32Array(width * height);
    for (let y = 0; y < height; y++) cropped.set(mask.subarray((top + y) * maskWidth + left, (top + y) * maskWidth + left + width), y * width);
    mask = cropped;
  }
  if (width === 0 || height === 0) throw new Error(`the letterbox crop leaves an empty ${width}x${height} mask`);

  let target: [number, number] | null = null;
  if (mode === "accurate") {
    target = [region.width, region.height];
  } else if (mode === "tradeoff") {
    const t = tradeoffFactor;
    target = [Math.trunc(width * (1 - t) + region.width * t), Math.trunc(height * (1 - t) + region.height * t)];
  }
  if (target !== null && (target[0] !== width || target[1] !== height)) {
    if (!(target[0] > 0 && target[1] > 0)) throw new Error(`mask_decode_mode ${mode} resizes a ${width}x${height} mask to ${target[0]}x${target[1]}`);
    mask = resizePlane(mask, width, height, target[0], target[1]);
    [width, height] = target;
  }

  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = mask[i]! > 0 ? 1 : 0;
  const { inputWidth, inputHeight, imageWidth, imageHeight, staticCrop } = geometry;
  const coverage: RescaleGeometry = { inputWidth, inputHeight, imageWidth, imageHeight, staticCrop, resize: "stretch" };
  return { data, width, height, points: rescalePolygon(maskToPolygon(data, width, height), width, height, coverage), coverage };
}

/** A NumPy slice bound on an axis of `length`: negative counts from the end, then clamped to [0, length]. */
function sliceBound(index: number, length: number): number {
  return Math.min(Math.max(index < 0 ? index + length : index, 0), length);
}

export interface RfdetrDetectionLayout {
  family: "rfdetr";
  numQueries: number;
  /** Logit columns (class names, plus the background column of a one-indexed model; more are dropped). */
  numColumns: number;
  /** Class names its answers use (the background line removed). */
  numClasses: number;
  backgroundIndex: number | null;
  /** The size the letterbox fills, (Iw, Ih) of docs/model-families.md §1.4 step 8: the input size unless the non-square flag holds. */
  letterboxWidth: number;
  letterboxHeight: number;
}

export interface RfdetrSegmentationLayout extends Omit<RfdetrDetectionLayout, "family"> {
  family: "rfdetr-seg";
  maskHeight: number;
  maskWidth: number;
}

/** `rfdetr`, `rfdetr-{base,nano,small,medium,large,xlarge,2xlarge}`, `rfdetr-nas` and the segmenters' `rfdetr-seg-*`, `rfdetr-nas-seg` (docs/model-families.md §1.1, §2). */
const selectsRfdetr = (modelType: string): boolean => modelType.trim().toLowerCase().startsWith("rfdetr");

/** RF-DETR's exports name their outputs dets, labels (and masks): enough to tell them from YOLO-NAS's boxes and scores without a model type. */
const namedLikeRfdetr = (names: string[]): boolean => names[0] === "dets" && names[1] === "labels";

/** The layout shared by both tasks, when outputs 0 and 1 are Q × 4 boxes and Q × C logits (by position, as the reference reads them). */
function queryLayout(shapes: number[][], context: RecognitionContext): Omit<RfdetrDetectionLayout, "family"> | null {
  const [boxes, logits] = shapes;
  if (!boxes || !logits || boxes.length !== 2 || logits.length !== 2 || boxes[1] !== 4 || logits[0] !== boxes[0] || logits[1]! < 1) return null;
  const { classNames, backgroundIndex } = rfdetrClasses(context.classNames);
  const letterbox = letterboxTarget(context.resize, context.input.width, context.input.height);
  return { numQueries: boxes[0]!, numColumns: logits[1]!, numClasses: classNames.length, backgroundIndex, letterboxWidth: letterbox.width, letterboxHeight: letterbox.height };
}

/** docs/model-families.md §1.4 steps 1-7 and 10 on outputs 0 and 1: every selected (query, class) pair, in score order; no NMS. */
function detectQueries(layout: Omit<RfdetrDetectionLayout, "family">, outputs: (index: number) => Float32Array, params: { confidence: number; maxDetections: number }) {
  return unsuppressed(
    selectRfdetrDetections(outputs(0), outputs(1), layout.numQueries, layout.numColumns, {
      confidence: params.confidence,
      maxDetections: params.maxDetections,
      backgroundIndex: layout.backgroundIndex,
      numClasses: layout.numClasses,
    }),
  );
}

const rfdetrGeometry = (layout: Omit<RfdetrDetectionLayout, "family">, geometry: RescaleGeometry): RfdetrGeometry => ({
  ...geometry,
  letterboxWidth: layout.letterboxWidth,
  letterboxHeight: layout.letterboxHeight,
});

/** The parts both RF-DETR families share: package handling, preprocessing, box decoding and rescaling. */
const RFDETR_COMMON = {
  selects: selectsRfdetr,
  recognisedWithoutModelType: false,
  recognisedByOutputNames: namedLikeRfdetr,
  normalisation: () => IMAGENET_NORMALISATION,
  normalisesBeforeResizing: true,
  responseClassNames: (classNames: string[]) => rfdetrClasses(classNames).classNames,
  // The reference refuses a package whose resolution is RFDETR_ONNX_MAX_RESOLUTION or more, before any session (docs/model-families.md §1.2 step 2).
  checkPackage(environment: Record<string, unknown>, limits: { rfdetrOnnxMaxResolution: number }): void {
    const resolution = rfdetrResolution(environment);
    if (resolution !== null && resolution >= limits.rfdetrOnnxMaxResolution) throw new HttpError(507, RFDETR_RESOLUTION_REFUSAL);
  },
  // Unrounded float32 boxes, with the static-crop fix (rfdetrBoxesToImage).
  rescaleBoxes: (boxes: Float64Array, layout: Omit<RfdetrDetectionLayout, "family">, geometry: RescaleGeometry) => rfdetrBoxesToImage(boxes, rfdetrGeometry(layout, geometry)),
} as const;

export const RFDETR: ObjectDetectionFamily<RfdetrDetectionLayout> = {
  ...RFDETR_COMMON,
  name: "rfdetr",
  task: "object-detection",
  defaultModelType: "rfdetr-base",
  recognise(shapes, context) {
    const layout = shapes.length === 2 ? queryLayout(shapes, context) : null;
    return layout && { family: "rfdetr", ...layout };
  },
  expects: () => "RF-DETR [batch, queries, 4] and [batch, queries, classes]",
  detect: (layout, outputs, params) => detectQueries(layout, outputs, params),
};

export const RFDETR_SEG: SegmentationFamily<RfdetrSegmentationLayout> = {
  ...RFDETR_COMMON,
  name: "rfdetr-seg",
  task: "instance-segmentation",
  defaultModelType: "rfdetr-seg-preview",
  recognise(shapes, context) {
    const layout = shapes.length === 3 ? queryLayout(shapes, context) : null;
    const masks = shapes[2];
    if (!layout || !masks || masks.length !== 3 || masks[0] !== layout.numQueries) return null;
    return { family: "rfdetr-seg", ...layout, maskHeight: masks[1]!, maskWidth: masks[2]! };
  },
  expects: () => "RF-DETR [batch, queries, 4], [batch, queries, classes] and masks [batch, queries, h, w]",
  detect: (layout, outputs, params) => detectQueries(layout, outputs, params),
  // Each detection's own query mask, full-frame logits (docs/model-families.md §2 steps 2-7); the image-size mask for RLE follows the final mask.
  masks(layout, outputs, detections, reported, _boxes, geometry, params) {
    const plane = layout.maskHeight * layout.maskWidth;
    const logits = outputs(2);
    return Array.from(reported, (i) => {
      const query = detections.candidates.row[i]!;
      const mask = decodeRfdetrMask(
        logits.subarray(query * plane, (query + 1) * plane),
        layout.maskWidth,
        layout.maskHeight,
        rfdetrGeometry(layout, geometry),
        params.maskDecodeMode,
        params.tradeoffFactor,
      );
      const window = { left: 0, top: 0, width: mask.width, height: mask.height, data: mask.data };
      return { points: mask.points, imageMask: () => maskAtImageResolution(window, mask.width, mask.height, mask.coverage) };
    });
  },
};

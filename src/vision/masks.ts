// Instance masks from prototypes: the reference's accurate / fast / tradeoff decoding, computed only inside each box, as binary windows.
import { HttpError } from "../errors.ts";
import type { DetectionCandidates } from "./nms.ts";

export type MaskDecodeMode = "accurate" | "fast" | "tradeoff";

/** Prototype channels, and so coefficients per detection, in every YOLO segmentation head. */
export const MASK_COEFFICIENTS = 32;

const MASK_DECODE_ERROR = "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']";

/**
 * The reference's 400 for `mask_decode_mode` / `tradeoff_factor`: the mode must be one of the three,
 * and only in tradeoff mode must the factor lie in [0, 1] (NaN fails).
 */
export function validateMaskDecodeArguments(mode: string, tradeoffFactor: number): asserts mode is MaskDecodeMode {
  const valid = mode === "accurate" || mode === "fast" || (mode === "tradeoff" && tradeoffFactor >= 0 && tradeoffFactor <= 1);
  if (!valid) throw new HttpError(400, MASK_DECODE_ERROR);
}

/** One image's prototypes: MASK_COEFFICIENTS planes of height × width, channel-major (a view of the model's second output). */
export interface MaskPrototypes {
  data: Float32Array;
  height: number;
  width: number;
}

/**
 * Where the mask coefficients of a candidate sit in its family's raw output: coefficient k of the
 * anchor in output row `row` is `output[start + row * rowStep + k * coefficientStep]`.
 */
export interface MaskCoefficientLayout {
  start: number;
  rowStep: number;
  coefficientStep: number;
}

/** Confidence-filtered candidates of a segmentation output, and where to find their mask coefficients. */
export interface SegmentationCandidates {
  candidates: DetectionCandidates;
  coefficients: MaskCoefficientLayout;
}

/**
 * The coefficients of the candidates at `indices`, as float64 rows of MASK_COEFFICIENTS (the
 * reference's detection rows are float64, so its mask product is too).
 */
export function gatherMaskCoefficients(output: Float32Array, layout: MaskCoefficientLayout, candidates: DetectionCandidates, indices: Int32Array): Float64Array {
  const coefficients = new Float64Array(indices.length * MASK_COEFFICIENTS);
  for (let n = 0; n < indices.length; n++) {
    const first = layout.start + candidates.row[indices[n]!]! * layout.rowStep;
    for (let k = 0; k < MASK_COEFFICIENTS; k++) coefficients[n * MASK_COEFFICIENTS + k] = output[first + k * layout.coefficientStep]!;
  }
  return coefficients;
}

/**
 * A binary mask that can only be non-zero inside its box, stored over that window: `data` is
 * width × height, row-major, 1 where the reference's mask is > 0, placed at (left, top) in the full mask.
 */
export interface MaskWindow {
  left: number;
  top: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** Every detection's mask at the resolution its polygon is measured in (what polygon rescaling undoes). */
export interface DecodedMasks {
  width: number;
  height: number;
  windows: MaskWindow[];
}

/** The prototype rows and columns the reference keeps: the part that maps onto the model input (all of it normally). */
interface PrototypeCrop {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Decodes the masks of N detections: `coefficients` N × 32 and `boxes` N × 4 (x1, y1, x2, y2 in
 * model-input pixels, not yet rescaled) for a `inputWidth` × `inputHeight` model input.
 *
 * The reference computes sigmoid(coefficients · prototypes) over the whole prototype grid for every
 * detection, resizes whole masks and zeroes them outside the box; here each mask is computed only
 * over its box's window (and the prototype cells that window interpolates from), which gives the
 * same binary mask. Modes:
 * - accurate: OpenCV INTER_LINEAR resize to the input size, box crop, < 0.5 → 0;
 * - fast: on the prototype grid, boxes scaled by grid / input size, < 0.5 → 0;
 * - tradeoff: resize to a size between the two, with the reference's dsize given as (th, tw), so
 *   the resized width is th and the height tw (a swap only non-square inputs notice); factor 0 skips the resize.
 */
export function decodeMasks(
  prototypes: MaskPrototypes,
  coefficients: Float64Array,
  boxes: Float64Array,
  inputWidth: number,
  inputHeight: number,
  mode: MaskDecodeMode,
  tradeoffFactor: number,
): DecodedMasks {
  const count = boxes.length / 4;
  if (coefficients.length !== count * MASK_COEFFICIENTS) {
    throw new RangeError(`${coefficients.length} mask coefficients for ${count} boxes, ${count * MASK_COEFFICIENTS} needed`);
  }
  const planeSize = prototypes.height * prototypes.width;
  if (prototypes.data.length < MASK_COEFFICIENTS * planeSize) {
    throw new RangeError(`prototypes hold ${prototypes.data.length} values, ${MASK_COEFFICIENTS} x ${prototypes.height} x ${prototypes.width} needed`);
  }
  const crop = prototypeCrop(prototypes, inputWidth, inputHeight);
  const decoder = new MaskDecoder(prototypes, crop);

  let width: number;
  let height: number;
  let resized: boolean;
  // Box scale factors; the reference's fast mode divides the uncropped grid size, the others their masks' size.
  let scaleX: number;
  let scaleY: number;
  if (mode === "accurate") {
    [width, height, resized, scaleX, scaleY] = [inputWidth, inputHeight, true, 1, 1];
  } else if (mode === "fast") {
    [width, height, resized] = [crop.width, crop.height, false];
    scaleX = prototypes.width / inputWidth;
    scaleY = prototypes.height / inputHeight;
  } else {
    const t = tradeoffFactor;
    // cv2.resize(masks, (th, tw)): dsize is (width, height), so width = th and height = tw.
    const th = Math.trunc(prototypes.height * (1 - t) + inputHeight * t);
    const tw = Math.trunc(prototypes.width * (1 - t) + inputWidth * t);
    resized = t !== 0;
    [width, height] = resized ? [th, tw] : [crop.width, crop.height];
    if (width <= 0 || height <= 0) throw new RangeError(`tradeoff factor ${t} resizes masks to ${width}x${height}`);
    scaleX = width / inputWidth;
    scaleY = height / inputHeight;
  }
  const resize = resized ? new BilinearResize(crop.width, crop.height, width, height) : null;

  const windows: MaskWindow[] = [];
  for (let n = 0; n < count; n++) {
    const [left, right] = boxCropRange(boxes[4 * n]! * scaleX, boxes[4 * n + 2]! * scaleX, width);
    const [top, bottom] = boxCropRange(boxes[4 * n + 1]! * scaleY, boxes[4 * n + 3]! * scaleY, height);
    const window: MaskWindow = { left, top, width: right - left, height: bottom - top, data: new Uint8Array((right - left) * (bottom - top)) };
    if (window.data.length > 0) {
      const detectionCoefficients = coefficients.subarray(n * MASK_COEFFICIENTS, (n + 1) * MASK_COEFFICIENTS);
      if (resize === null) decoder.thresholdGrid(detectionCoefficients, window);
      else decoder.thresholdResized(detectionCoefficients, resize, window);
    }
    windows.push(window);
  }
  return { width, height, windows };
}

/**
 * The reference's crop of the prototype grid to the input's aspect: gain = min(mh/H, mw/W), padding
 * (grid - input * gain) / 2 per axis, rows int(pad_y) … int(mh - pad_y), columns likewise.
 */
function prototypeCrop(prototypes: MaskPrototypes, inputWidth: number, inputHeight: number): PrototypeCrop {
  const gain = Math.min(prototypes.height / inputHeight, prototypes.width / inputWidth);
  const padX = (prototypes.width - inputWidth * gain) / 2;
  const padY = (prototypes.height - inputHeight * gain) / 2;
  const top = Math.trunc(padY);
  const left = Math.trunc(padX);
  return { top, left, height: Math.trunc(prototypes.height - padY) - top, width: Math.trunc(prototypes.width - padX) - left };
}

/**
 * Pixel indices i of a `size`-long axis with low <= i < high (float box edges), as [start, end).
 * For integers i, i >= low ⇔ i >= ceil(low) and i < high ⇔ i < ceil(high). NaN edges keep nothing.
 */
function boxCropRange(low: number, high: number, size: number): [number, number] {
  const start = Math.min(Math.max(Math.ceil(low), 0), size);
  const end = Math.min(Math.max(Math.ceil(high), 0), size);
  if (!(end > start)) return [0, 0];
  return [start, end];
}

/**
 * OpenCV's generic INTER_LINEAR resize of float64 images (the reference resizes N masks as one
 * N-channel image, which takes this path): per axis, float32 source positions and weights; outside
 * the source, columns use the edge pixel with weights (1, 0), rows clamp their indices and keep the weights.
 */
class BilinearResize {
  readonly columnFirst: Int32Array;
  readonly columnSecond: Int32Array;
  readonly columnWeightFirst: Float64Array;
  readonly columnWeightSecond: Float64Array;
  readonly rowFirst: Int32Array;
  readonly rowSecond: Int32Array;
  readonly rowWeightFirst: Float64Array;
  readonly rowWeightSecond: Float64Array;

  constructor(sourceWidth: number, sourceHeight: number, targetWidth: number, targetHeight: number) {
    this.columnFirst = new Int32Array(targetWidth);
    this.columnSecond = new Int32Array(targetWidth);
    this.columnWeightFirst = new Float64Array(targetWidth);
    this.columnWeightSecond = new Float64Array(targetWidth);
    const scaleX = 1 / (targetWidth / sourceWidth);
    for (let d = 0; d < targetWidth; d++) {
      let position = Math.fround((d + 0.5) * scaleX - 0.5);
      let index = Math.floor(position);
      position = Math.fround(position - index);
      if (index < 0) [index, position] = [0, 0];
      if (index >= sourceWidth - 1) [index, position] = [sourceWidth - 1, 0];
      this.columnFirst[d] = index;
      this.columnSecond[d] = Math.min(index + 1, sourceWidth - 1);
      this.columnWeightFirst[d] = Math.fround(1 - position);
      this.columnWeightSecond[d] = position;
    }

    this.rowFirst = new Int32Array(targetHeight);
    this.rowSecond = new Int32Array(targetHeight);
    this.rowWeightFirst = new Float64Array(targetHeight);
    this.rowWeightSecond = new Float64Array(targetHeight);
    const scaleY = 1 / (targetHeight / sourceHeight);
    for (let d = 0; d < targetHeight; d++) {
      let position = Math.fround((d + 0.5) * scaleY - 0.5);
      const index = Math.floor(position);
      position = Math.fround(position - index);
      this.rowFirst[d] = Math.min(Math.max(index, 0), sourceHeight - 1);
      this.rowSecond[d] = Math.min(Math.max(index + 1, 0), sourceHeight - 1);
      this.rowWeightFirst[d] = Math.fround(1 - position);
      this.rowWeightSecond[d] = position;
    }
  }
}

/** Mask probabilities of one detection over a window of the cropped prototype grid, reusing scratch buffers across detections. */
class MaskDecoder {
  private probabilities = new Float64Array(0);
  private horizontal = new Float64Array(0);
  private readonly planeSize: number;

  constructor(
    private readonly prototypes: MaskPrototypes,
    private readonly crop: PrototypeCrop,
  ) {
    this.planeSize = prototypes.height * prototypes.width;
  }

  /**
   * sigmoid(coefficients · prototypes) for cropped-grid rows [top, top + rows) and columns
   * [left, left + columns), row-major in the returned scratch view, in float64 like the reference.
   */
  private probabilitiesOver(coefficients: Float64Array, top: number, left: number, rows: number, columns: number): Float64Array {
    const size = rows * columns;
    if (this.probabilities.length < size) this.probabilities = new Float64Array(size);
    const out = this.probabilities.subarray(0, size);
    out.fill(0);
    const { data, width } = this.prototypes;
    const firstCell = (this.crop.top + top) * width + this.crop.left + left;
    // Plain indexing: a subarray per row and channel costs more than the row's arithmetic.
    for (let k = 0; k < MASK_COEFFICIENTS; k++) {
      const coefficient = coefficients[k]!;
      const plane = k * this.planeSize + firstCell;
      for (let r = 0; r < rows; r++) {
        const source = plane + r * width;
        const at = r * columns;
        for (let c = 0; c < columns; c++) out[at + c] += coefficient * data[source + c]!;
      }
    }
    for (let i = 0; i < size; i++) out[i] = 1 / (1 + Math.exp(-out[i]!));
    return out;
  }

  /** No resize: the window lies on the cropped grid; a pixel is kept when its probability is >= 0.5. */
  thresholdGrid(coefficients: Float64Array, window: MaskWindow): void {
    const probabilities = this.probabilitiesOver(coefficients, window.top, window.left, window.height, window.width);
    for (let i = 0; i < window.data.length; i++) window.data[i] = probabilities[i]! >= 0.5 ? 1 : 0;
  }

  /**
   * The window lies on the resized mask: interpolate only its pixels from the grid cells they read,
   * horizontally first then vertically, as OpenCV does, and keep values >= 0.5.
   */
  thresholdResized(coefficients: Float64Array, resize: BilinearResize, window: MaskWindow): void {
    const { left, top, width, height, data } = window;
    const firstRow = resize.rowFirst[top]!;
    const rows = resize.rowSecond[top + height - 1]! - firstRow + 1;
    const firstColumn = resize.columnFirst[left]!;
    const columns = resize.columnSecond[left + width - 1]! - firstColumn + 1;
    const probabilities = this.probabilitiesOver(coefficients, firstRow, firstColumn, rows, columns);

    if (this.horizontal.length < rows * width) this.horizontal = new Float64Array(rows * width);
    const horizontal = this.horizontal;
    for (let r = 0; r < rows; r++) {
      const source = r * columns - firstColumn;
      const out = r * width - left;
      for (let x = left; x < left + width; x++) {
        horizontal[out + x] =
          probabilities[source + resize.columnFirst[x]!]! * resize.columnWeightFirst[x]! + probabilities[source + resize.columnSecond[x]!]! * resize.columnWeightSecond[x]!;
      }
    }
    for (let y = 0; y < height; y++) {
      const upper = (resize.rowFirst[top + y]! - firstRow) * width;
      const lower = (resize.rowSecond[top + y]! - firstRow) * width;
      const weightUpper = resize.rowWeightFirst[top + y]!;
      const weightLower = resize.rowWeightSecond[top + y]!;
      const out = y * width;
      for (let x = 0; x < width; x++) {
        data[out + x] = horizontal[upper + x]! * weightUpper + horizontal[lower + x]! * weightLower >= 0.5 ? 1 : 0;
      }
    }
  }
}

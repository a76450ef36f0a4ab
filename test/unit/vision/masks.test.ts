// Tests of mask decoding from prototypes: the three modes, the box crop, the prototype crop, coefficient gathering and argument validation.
// Hand-worked expectations were also checked against the reference's functions run with OpenCV 4.6 / NumPy.
import { describe, expect, test } from "bun:test";
import { HttpError } from "../../../src/errors.ts";
import {
  decodeMasks,
  gatherMaskCoefficients,
  MASK_COEFFICIENTS,
  validateMaskDecodeArguments,
  type MaskDecodeMode,
  type MaskPrototypes,
  type MaskWindow,
} from "../../../src/vision/masks.ts";
import { allocateDetectionCandidates } from "../../../src/vision/nms.ts";

const MESSAGE = "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']";

/** Prototypes whose channel `channel` is +1 on the given cells (columns × rows ranges, inclusive) and -1 elsewhere; other channels 0. */
function blockPrototypes(width: number, height: number, channel: number, columns: [number, number], rows: [number, number]): MaskPrototypes {
  const data = new Float32Array(MASK_COEFFICIENTS * width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= columns[0] && x <= columns[1] && y >= rows[0] && y <= rows[1];
      data[channel * width * height + y * width + x] = inside ? 1 : -1;
    }
  }
  return { data, width, height };
}

/** Coefficients selecting one channel with the given weight. */
function selecting(channel: number, weight: number): Float64Array {
  const coefficients = new Float64Array(MASK_COEFFICIENTS);
  coefficients[channel] = weight;
  return coefficients;
}

/** Foreground pixels of a window as [x, y] in the full mask. */
function pixelsOf(window: MaskWindow): number[][] {
  const pixels: number[][] = [];
  for (let y = 0; y < window.height; y++) {
    for (let x = 0; x < window.width; x++) if (window.data[y * window.width + x]) pixels.push([window.left + x, window.top + y]);
  }
  return pixels;
}

describe("validateMaskDecodeArguments", () => {
  test("accepts the three modes, with a factor in [0, 1] for tradeoff", () => {
    for (const [mode, factor] of [
      ["accurate", 0],
      ["fast", 0],
      ["tradeoff", 0],
      ["tradeoff", 1],
      ["tradeoff", 0.5],
    ] as const) {
      expect(() => validateMaskDecodeArguments(mode, factor)).not.toThrow();
    }
  });

  test("ignores the factor outside tradeoff mode, as the reference checks it only there", () => {
    expect(() => validateMaskDecodeArguments("accurate", 7)).not.toThrow();
    expect(() => validateMaskDecodeArguments("fast", -1)).not.toThrow();
  });

  test("rejects an unknown mode and an out-of-range or NaN tradeoff factor with the reference's 400", () => {
    for (const [mode, factor] of [
      ["precise", 0],
      ["Accurate", 0],
      ["tradeoff", 1.01],
      ["tradeoff", -0.1],
      ["tradeoff", Number.NaN],
    ] as const) {
      let error: unknown;
      try {
        validateMaskDecodeArguments(mode, factor);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).status).toBe(400);
      expect((error as HttpError).message).toBe(MESSAGE);
    }
  });
});

describe("gatherMaskCoefficients", () => {
  test("reads channel-major (YOLOv8) and row-major (YOLOv5) coefficient columns through each candidate's output row", () => {
    const candidates = allocateDetectionCandidates(2);
    candidates.row.set([2, 0]);
    const anchors = 3;
    const channelMajor = new Float32Array((1 + MASK_COEFFICIENTS) * anchors);
    for (let k = 0; k < MASK_COEFFICIENTS; k++) for (let a = 0; a < anchors; a++) channelMajor[(1 + k) * anchors + a] = 100 * a + k;
    const fromChannelMajor = gatherMaskCoefficients(channelMajor, { start: anchors, rowStep: 1, coefficientStep: anchors }, candidates, Int32Array.of(0, 1));
    expect(Array.from(fromChannelMajor.subarray(0, 3))).toEqual([200, 201, 202]);
    expect(Array.from(fromChannelMajor.subarray(MASK_COEFFICIENTS, MASK_COEFFICIENTS + 3))).toEqual([0, 1, 2]);

    const rowLength = 2 + MASK_COEFFICIENTS;
    const rowMajor = new Float32Array(rowLength * anchors);
    for (let a = 0; a < anchors; a++) for (let k = 0; k < MASK_COEFFICIENTS; k++) rowMajor[a * rowLength + 2 + k] = 100 * a + k;
    const fromRowMajor = gatherMaskCoefficients(rowMajor, { start: 2, rowStep: rowLength, coefficientStep: 1 }, candidates, Int32Array.of(1));
    expect(fromRowMajor.length).toBe(MASK_COEFFICIENTS);
    expect(fromRowMajor[31]).toBe(31);
  });
});

describe("decodeMasks", () => {
  // 8x8 prototypes for a 32x32 input: cells (2..4, 2..3) are inside, i.e. input pixels x 8..19, y 8..15.
  const prototypes = blockPrototypes(8, 8, 0, [2, 4], [2, 3]);
  const wholeInput = Float64Array.of(0, 0, 32, 32);

  test("fast mode thresholds on the prototype grid: the inside cells, polygon resolution = grid", () => {
    const masks = decodeMasks(prototypes, selecting(0, 8), wholeInput, 32, 32, "fast", 0);
    expect([masks.width, masks.height]).toEqual([8, 8]);
    expect(pixelsOf(masks.windows[0]!)).toEqual([
      [2, 2],
      [3, 2],
      [4, 2],
      [2, 3],
      [3, 3],
      [4, 3],
    ]);
  });

  test("accurate mode upsamples bilinearly to the input: cell edges fall on pixel edges, and each convex corner loses its corner pixel", () => {
    // A corner pixel reads its cell with weight 0.625² ≈ 0.39 < 0.5; its neighbours along the edge with 0.625·0.875 > 0.5.
    const masks = decodeMasks(prototypes, selecting(0, 8), wholeInput, 32, 32, "accurate", 0);
    expect([masks.width, masks.height]).toEqual([32, 32]);
    const pixels = pixelsOf(masks.windows[0]!);
    expect(pixels.length).toBe(12 * 8 - 4);
    const corners = [
      [8, 8],
      [19, 8],
      [8, 15],
      [19, 15],
    ];
    for (const corner of corners) expect(pixels).not.toContainEqual(corner);
    for (const inside of [
      [9, 8],
      [8, 9],
      [18, 15],
      [19, 14],
    ])
      expect(pixels).toContainEqual(inside);
    expect(Math.min(...pixels.map(([x]) => x!))).toBe(8);
    expect(Math.max(...pixels.map(([x]) => x!))).toBe(19);
  });

  test("only the box's window is stored, and the crop keeps pixels with x1 <= column < x2 and y1 <= row < y2", () => {
    // Fast mode scales the box by 8/32: (2.25, 2, 4.01, 3) keeps columns 3 and 4 of row 2.
    const masks = decodeMasks(prototypes, selecting(0, 8), Float64Array.of(9, 8, 16.04, 12), 32, 32, "fast", 0);
    const window = masks.windows[0]!;
    expect([window.left, window.top, window.width, window.height]).toEqual([3, 2, 2, 1]);
    expect(pixelsOf(window)).toEqual([
      [3, 2],
      [4, 2],
    ]);
    // An integer right edge excludes its own column: 16 / 4 = 4 keeps column 3 only.
    expect(pixelsOf(decodeMasks(prototypes, selecting(0, 8), Float64Array.of(9, 8, 16, 12), 32, 32, "fast", 0).windows[0]!)).toEqual([[3, 2]]);
  });

  test("a box outside the mask, empty, or with NaN corners gives an empty window", () => {
    const boxes = Float64Array.of(40, 40, 50, 50, 10, 10, 10, 20, Number.NaN, 0, 32, 32, -20, -20, -1, -1);
    for (const mode of ["accurate", "fast", "tradeoff"] as MaskDecodeMode[]) {
      const masks = decodeMasks(prototypes, new Float64Array(4 * MASK_COEFFICIENTS), boxes, 32, 32, mode, 0.5);
      for (const window of masks.windows) expect(window.data.length).toBe(0);
    }
  });

  test("a zero mask logit is sigmoid 0.5, which the reference keeps (only values < 0.5 are zeroed)", () => {
    const masks = decodeMasks(prototypes, new Float64Array(MASK_COEFFICIENTS), Float64Array.of(0, 0, 8, 4), 32, 32, "fast", 0);
    expect(pixelsOf(masks.windows[0]!).length).toBe(2);
  });

  test("tradeoff 0 is fast mode and tradeoff 1 is accurate mode (square input)", () => {
    const fast = decodeMasks(prototypes, selecting(0, 8), wholeInput, 32, 32, "fast", 0);
    const tradeoffZero = decodeMasks(prototypes, selecting(0, 8), wholeInput, 32, 32, "tradeoff", 0);
    expect(tradeoffZero).toEqual(fast);
    const accurate = decodeMasks(prototypes, selecting(0, 8), wholeInput, 32, 32, "accurate", 0);
    const tradeoffOne = decodeMasks(prototypes, selecting(0, 8), wholeInput, 32, 32, "tradeoff", 1);
    expect(tradeoffOne).toEqual(accurate);
  });

  test("tradeoff resizes to width th = int(mh(1-t) + H t) and height tw = int(mw(1-t) + W t): the reference's swapped dsize", () => {
    // 64x32 input, 16x8 prototypes, t = 0.5: th = int(8·0.5 + 32·0.5) = 20, tw = int(16·0.5 + 64·0.5) = 40.
    const flat: MaskPrototypes = { data: new Float32Array(MASK_COEFFICIENTS * 16 * 8).fill(1, 0, 16 * 8), width: 16, height: 8 };
    const masks = decodeMasks(flat, selecting(0, 1), Float64Array.of(0, 0, 64, 32), 64, 32, "tradeoff", 0.5);
    expect([masks.width, masks.height]).toEqual([20, 40]);
    // Boxes scale by the resized mask's own size: the whole-input box covers the whole 20x40 mask.
    const window = masks.windows[0]!;
    expect([window.left, window.top, window.width, window.height]).toEqual([0, 0, 20, 40]);
  });

  test("prototypes wider than the input's aspect are cropped symmetrically before decoding", () => {
    // 10x8 grid for a 32x32 input: gain = min(8/32, 10/32) = 0.25, padding (10 - 8) / 2 = 1 column each side.
    const wide = blockPrototypes(10, 8, 0, [1, 1], [0, 7]);
    const masks = decodeMasks(wide, selecting(0, 8), wholeInput, 32, 32, "fast", 0);
    expect([masks.width, masks.height]).toEqual([8, 8]);
    // Grid column 1 is cropped column 0.
    expect(pixelsOf(masks.windows[0]!).every(([x]) => x === 0)).toBe(true);
    expect(pixelsOf(masks.windows[0]!).length).toBe(8);
  });

  test("computing only inside each box matches resizing whole masks then cropping them", () => {
    let state = 99;
    const random = () => (state = (state * 16807) % 2147483647) / 2147483647;
    const [gridWidth, gridHeight, inputWidth, inputHeight] = [12, 10, 48, 40];
    const data = Float32Array.from({ length: MASK_COEFFICIENTS * gridWidth * gridHeight }, () => random() * 2 - 1);
    const smooth: MaskPrototypes = { data, width: gridWidth, height: gridHeight };
    const count = 6;
    const coefficients = Float64Array.from({ length: count * MASK_COEFFICIENTS }, () => random() * 2 - 1);
    const boxes = Float64Array.from({ length: count * 4 }, (_, i) => (i % 4 < 2 ? -5 + random() * 30 : 15 + random() * 40));
    for (const [mode, factor] of [
      ["accurate", 0],
      ["tradeoff", 0.4],
      ["tradeoff", 0.8],
    ] as [MaskDecodeMode, number][]) {
      const masks = decodeMasks(smooth, coefficients, boxes, inputWidth, inputHeight, mode, factor);
      const whole = wholeMasks(smooth, coefficients, masks.width, masks.height);
      const [scaleX, scaleY] = [masks.width / inputWidth, masks.height / inputHeight];
      masks.windows.forEach((window, n) => {
        const expected: number[][] = [];
        for (let y = 0; y < masks.height; y++) {
          for (let x = 0; x < masks.width; x++) {
            const inBox = x >= boxes[4 * n]! * scaleX && x < boxes[4 * n + 2]! * scaleX && y >= boxes[4 * n + 1]! * scaleY && y < boxes[4 * n + 3]! * scaleY;
            if (inBox && whole[n]![y * masks.width + x]! >= 0.5) expected.push([x, y]);
          }
        }
        expect(pixelsOf(window)).toEqual(expected);
      });
    }
  });
});

/** Each detection's whole mask resized to width × height, the way the reference does it (OpenCV's float INTER_LINEAR). */
function wholeMasks(prototypes: MaskPrototypes, coefficients: Float64Array, width: number, height: number): Float64Array[] {
  const { width: gridWidth, height: gridHeight, data } = prototypes;
  const axis = (source: number, target: number, clampWeights: boolean) =>
    Array.from({ length: target }, (_, d) => {
      let position = Math.fround((d + 0.5) * (1 / (target / source)) - 0.5);
      let index = Math.floor(position);
      position = Math.fround(position - index);
      if (clampWeights && index < 0) [index, position] = [0, 0];
      if (clampWeights && index >= source - 1) [index, position] = [source - 1, 0];
      const clamp = (i: number) => Math.min(Math.max(i, 0), source - 1);
      return { first: clamp(index), second: clamp(index + 1), weightFirst: Math.fround(1 - position), weightSecond: position };
    });
  const columns = axis(gridWidth, width, true);
  const rows = axis(gridHeight, height, false);
  const masks: Float64Array[] = [];
  for (let n = 0; n < coefficients.length / MASK_COEFFICIENTS; n++) {
    const probability = new Float64Array(gridWidth * gridHeight);
    for (let k = 0; k < MASK_COEFFICIENTS; k++) {
      for (let i = 0; i < probability.length; i++) probability[i] += coefficients[n * MASK_COEFFICIENTS + k]! * data[k * probability.length + i]!;
    }
    for (let i = 0; i < probability.length; i++) probability[i] = 1 / (1 + Math.exp(-probability[i]!));
    const mask = new Float64Array(width * height);
    for (let y = 0; y < height; y++) {
      const row = rows[y]!;
      for (let x = 0; x < width; x++) {
        const column = columns[x]!;
        const across = (r: number) => probability[r * gridWidth + column.first]! * column.weightFirst + probability[r * gridWidth + column.second]! * column.weightSecond;
        mask[y * width + x] = across(row.first) * row.weightFirst + across(row.second) * row.weightSecond;
      }
    }
    masks.push(mask);
  }
  return masks;
}

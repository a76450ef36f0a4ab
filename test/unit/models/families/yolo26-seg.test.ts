// Tests of YOLO26 segmentation decoding: end-to-end rows with 32 mask coefficients, into what the contract mask decoder takes (docs/model-families.md §3).
import { describe, expect, test } from "bun:test";
import { YOLO26_SEGMENTATION_ROW, decodeYolo26Segmentation } from "../../../../src/models/families/yolo26-seg.ts";
import { decodeMasks, gatherMaskCoefficients, MASK_COEFFICIENTS } from "../../../../src/vision/masks.ts";
import { gatherBoxes } from "../../../../src/vision/nms.ts";

/** A row: box, score, class, and coefficient `channel` = 1 (others 0). */
function row(box: [number, number, number, number], score: number, classId: number, channel: number): number[] {
  return [...box, score, classId, ...Array.from({ length: MASK_COEFFICIENTS }, (_, k) => (k === channel ? 1 : 0))];
}

describe("decodeYolo26Segmentation", () => {
  const output = Float32Array.from(
    [
      row([8, 8, 24, 24], 0.9, 0, 0),
      // Overlapping the first: kept, there is no NMS.
      row([10, 10, 20, 20], 0.8, 0, 1),
      row([0, 0, 32, 32], 0.4, 1, 0),
      row([0, 0, 32, 32], 0.7, 3, 0),
    ].flat(),
  );

  test("keeps rows strictly above the threshold, in order, with their coefficients' place", () => {
    const { candidates, coefficients } = decodeYolo26Segmentation(output, 4, 2, 0.4);
    expect(YOLO26_SEGMENTATION_ROW).toBe(38);
    expect(Array.from(candidates.row)).toEqual([0, 1]);
    expect(Array.from(candidates.classId)).toEqual([0, 0]);
    expect(coefficients).toEqual({ start: 6, rowStep: 38, coefficientStep: 1 });
    const gathered = gatherMaskCoefficients(output, coefficients, candidates, Int32Array.of(0, 1));
    expect(gathered[0]).toBe(1);
    expect(gathered[MASK_COEFFICIENTS + 1]).toBe(1);
    expect(gathered.reduce((a, b) => a + b, 0)).toBe(2);
  });

  test("feeds the contract mask decoder: each mask is its prototype inside its box", () => {
    const { candidates, coefficients } = decodeYolo26Segmentation(output, 4, 2, 0.4);
    const all = Int32Array.of(0, 1);
    // 8x8 prototypes for a 32x32 input: prototype 0 is +20 everywhere, prototype 1 is +20 on the left half only.
    const protos = new Float32Array(MASK_COEFFICIENTS * 64).fill(0);
    protos.fill(20, 0, 64);
    for (let i = 0; i < 64; i++) protos[64 + i] = i % 8 < 4 ? 20 : -20;
    const masks = decodeMasks(
      { data: protos, width: 8, height: 8 },
      gatherMaskCoefficients(output, coefficients, candidates, all),
      gatherBoxes(candidates, all),
      32,
      32,
      "fast",
      0,
    );
    expect(masks.windows.map((w) => [w.left, w.top, w.width, w.height])).toEqual([
      [2, 2, 4, 4],
      [3, 3, 2, 2],
    ]);
    expect(Array.from(masks.windows[0]!.data).every((v) => v === 1)).toBe(true);
    expect(Array.from(masks.windows[1]!.data)).toEqual([1, 0, 1, 0]);
  });
});

// Test helper: the reference's stretch rescaling of a model-input box to the original image (docs/compatibility.md §5.3), written out
// step by step apart from src/vision/boxes.ts; the rounding is Python's round(), whose one home is src/python-rounding.ts.
import { roundHalfToEven } from "../../src/python-rounding.ts";

/** A box (x1, y1)-(x2, y2) in a square S x S model input, stretched back to a w0 x h0 image: clipped, rounded half to even, as centre and size. */
export function rescaledBox(x1: number, y1: number, x2: number, y2: number, w0: number, h0: number, S = 640) {
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const [a, b] = [roundHalfToEven(clip((x1 * w0) / S, w0)), roundHalfToEven(clip((x2 * w0) / S, w0))];
  const [c, d] = [roundHalfToEven(clip((y1 * h0) / S, h0)), roundHalfToEven(clip((y2 * h0) / S, h0))];
  return { x: (a + b) / 2, y: (c + d) / 2, width: b - a, height: d - c };
}

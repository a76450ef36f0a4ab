// Test helper: the reference's stretch rescaling of a model-input box to the original image (spec §5.3), computed independently of src/.

/** Python's round(): halves go to the even neighbour. */
export function halfToEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A box (x1, y1)-(x2, y2) in a square S x S model input, stretched back to a w0 x h0 image: clipped, rounded half to even, as centre and size. */
export function rescaledBox(x1: number, y1: number, x2: number, y2: number, w0: number, h0: number, S = 640) {
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const [a, b] = [halfToEven(clip((x1 * w0) / S, w0)), halfToEven(clip((x2 * w0) / S, w0))];
  const [c, d] = [halfToEven(clip((y1 * h0) / S, h0)), halfToEven(clip((y2 * h0) / S, h0))];
  return { x: (a + b) / 2, y: (c + d) / 2, width: b - a, height: d - c };
}

// Python's rounding of doubles, exact halves to the even neighbour: `round(x)` (and NumPy's `round`) to an integer,
// `round(x, n)` and `f"{x:.nf}"` to n decimals. The one home of round-half-to-even: boxes, crops, confidences and labels
// all round through it.
//
// JavaScript's toFixed rounds exact halves away from zero instead (0.125.toFixed(2) is "0.13",
// Python's f"{0.125:.2f}" is "0.12"). Only values whose binary expansion is exactly a decimal
// half differ, e.g. 0.125 or 0.03125. 25 exact digits tell such halves from their neighbours: for
// up to 4 decimals no other double lies within 1e-25 of one (they are all >= 5e-5, where doubles
// are rational with denominators below 2^68).

const EXACT_DIGITS = 25;

/** `round(x)`: the nearest integer, an exact half to the even one (-2.5 -> -2, 2.5 -> 2, 3.5 -> 4). */
export function roundHalfToEven(value: number): number {
  const nearest = Math.round(value);
  // Math.round sends halves up; an odd result from an exact half must go down to the even one.
  if (nearest - value === 0.5 && nearest % 2 !== 0) return nearest - 1;
  return nearest;
}

/** `f"{x:.{digits}f}"` for a finite |x| < 1e21 and 0 <= digits <= 4. */
export function pythonFixed(x: number, digits: number): string {
  const exact = x.toFixed(EXACT_DIGITS);
  const truncated = exact.slice(0, exact.indexOf(".") + (digits > 0 ? digits + 1 : 0));
  const isExactHalf = /^50*$/.test(exact.slice(truncated.length + (digits > 0 ? 0 : 1)));
  if (isExactHalf && Number(truncated.at(-1)) % 2 === 0) return truncated;
  return x.toFixed(digits);
}

/** `round(x, digits)` for a finite |x| < 1e21 and 0 <= digits <= 4. */
export function pythonRound(x: number, digits: number): number {
  return Number(pythonFixed(x, digits));
}

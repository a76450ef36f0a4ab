// COCO compressed RLE (pycocotools' string form) of binary masks: the encoding `response_mask_format: "rle"` answers with (docs/model-families.md §5), and its decoder.

/** A mask as pycocotools writes it: `size` is [height, width] (height first), `counts` the compressed runs. */
export interface CocoRle {
  size: [number, number];
  counts: string;
}

/**
 * Run lengths of a binary mask (row-major, width × height, non-zero = 1) scanned column by column
 * (x outer, y inner: Fortran order), alternating 0-runs and 1-runs and starting with a 0-run, which
 * is empty when the first pixel is set. They sum to width × height; an all-zero mask is one run.
 */
export function maskRunLengths(mask: Uint8Array, width: number, height: number): number[] {
  if (mask.length < width * height) throw new RangeError(`a ${width}x${height} mask needs ${width * height} values, got ${mask.length}`);
  const runs: number[] = [];
  let value = 0;
  let length = 0;
  for (let x = 0; x < width; x++) {
    for (let at = x; at < width * height; at += width) {
      const pixel = mask[at] === 0 ? 0 : 1;
      if (pixel !== value) {
        runs.push(length);
        value = pixel;
        length = 0;
      }
      length++;
    }
  }
  runs.push(length);
  return runs;
}

/**
 * pycocotools' `rleToString`: from the fourth run on, each run is written as its difference to the
 * run two before (same value, so usually small); each number is cut into 5-bit groups, low first,
 * each a character `48 + group`, with bit 5 set on every group but the last (the last group's bit 4
 * carries the sign).
 */
export function encodeRunLengths(runs: ArrayLike<number>): string {
  let counts = "";
  for (let i = 0; i < runs.length; i++) {
    let x = i > 2 ? runs[i]! - runs[i - 2]! : runs[i]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      // Arithmetic shift on a value that fits an int32 (masks are below 2^31 pixels).
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      counts += String.fromCharCode(c + 48);
    }
  }
  return counts;
}

/** The COCO RLE of a binary mask (row-major, width × height, non-zero = 1): what `pycocotools.mask.encode` gives for it. */
export function encodeRle(mask: Uint8Array, width: number, height: number): CocoRle {
  return { size: [height, width], counts: encodeRunLengths(maskRunLengths(mask, width, height)) };
}

/** pycocotools' `rleFrString`: the run lengths of a `counts` string; throws on characters outside the code. */
export function decodeRunLengths(counts: string): number[] {
  const runs: number[] = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= counts.length) throw new Error(`RLE counts end inside a number at character ${p}`);
      const c = counts.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE counts hold ${JSON.stringify(counts[p])} at character ${p}, outside the 48..111 code`);
      // Multiplication, not shifts: a run's groups may pass 32 bits before the sign is applied.
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x -= 2 ** (5 * k);
    }
    if (runs.length > 2) x += runs[runs.length - 2]!;
    runs.push(x);
  }
  return runs;
}

/** The row-major binary mask (height × width, 0 or 1) of a COCO RLE; throws when its runs do not cover exactly `size`. */
export function decodeRle(rle: CocoRle): Uint8Array {
  const [height, width] = rle.size;
  const runs = decodeRunLengths(rle.counts);
  const total = width * height;
  const mask = new Uint8Array(total);
  let position = 0;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    if (run < 0 || position + run > total) throw new Error(`RLE runs do not fit a ${width}x${height} mask (run ${i} is ${run} at pixel ${position})`);
    if (i % 2 === 1) {
      // Column-major position p is pixel (x = p div height, y = p mod height).
      for (let p = position; p < position + run; p++) mask[(p % height) * width + Math.floor(p / height)] = 1;
    }
    position += run;
  }
  if (position !== total) throw new Error(`RLE runs cover ${position} pixels, a ${width}x${height} mask has ${total}`);
  return mask;
}

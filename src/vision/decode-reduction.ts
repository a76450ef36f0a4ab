// Reduced-size decoding (DECODE_AT_REDUCED_SIZE, README "Configuration"): which of libjpeg's DCT scales a JPEG may be decoded at.
//
// A JPEG can be decoded at 1/2, 1/4 or 1/8 of its size for a fraction of the work (the DCT drops its high frequencies
// instead of computing pixels that the resize would then average away). The model input is made from that smaller
// image, so the scale is chosen such that the resize that follows still only shrinks, in both directions.

/** The DCT scales libjpeg decodes at: 1/factor of the image's size. */
export type DecodeReduction = 1 | 2 | 4 | 8;

const FACTORS_LARGEST_FIRST: readonly (2 | 4 | 8)[] = [8, 4, 2];

export interface Size {
  width: number;
  height: number;
}

/** The size of an image decoded at 1/factor: libvips' JPEG loader rounds down (it drops a partial last block). */
export function reducedSize(size: Size, factor: DecodeReduction): Size {
  return { width: Math.floor(size.width / factor), height: Math.floor(size.height / factor) };
}

/**
 * The largest factor at which the image (`size`, oriented) decoded at 1/factor is still at least as large, in both
 * directions, as what preprocessing resizes it to; 1 when no factor is. `resizeOf` maps a decoded size to the region
 * the resize reads (after the static crop) and the size it resizes that region to.
 */
export function decodeReduction(size: Size, resizeOf: (decoded: Size) => { region: Size; resized: Size }): DecodeReduction {
  for (const factor of FACTORS_LARGEST_FIRST) {
    const reduced = reducedSize(size, factor);
    if (reduced.width < 1 || reduced.height < 1) continue;
    const { region, resized } = resizeOf(reduced);
    if (region.width >= resized.width && region.height >= resized.height && resized.width > 0 && resized.height > 0) return factor;
  }
  return 1;
}

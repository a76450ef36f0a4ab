// libvips calls sharp does not expose: loading a JPEG at a chosen DCT scale (libjpeg's 1/2, 1/4 or 1/8 decoding).
//
// sharp picks its own shrink-on-load factor from a resize target, and never one that leaves nothing to resize (it
// halves the factor when the shrink is the factor itself), so it cannot return the DCT-scaled image alone
// (BENCHMARKS.md "Lever 5: reduced-size decoding"; README "Reduced-size decoding"). These calls go to the very libvips sharp has loaded: the library is
// found among the process's mapped files, so it is already initialised, and sharp's settings (one thread per
// operation, no operation cache) apply to these calls too. Linux only; elsewhere, or when the library cannot be
// found, `libvips` is null and callers decode in full.
import { dlopen, FFIType, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { readFileSync } from "node:fs";
import "sharp";

const { ptr: P, i32, u64, cstring, void: none } = FFIType;

// VipsBandFormat VIPS_FORMAT_UCHAR.
const FORMAT_UCHAR = 0;

/** The mapped libvips that sharp loaded: libvips.so where sharp links the system's, else the prebuilt libvips-cpp.so holding both APIs. */
function mappedLibvips(): string | null {
  let maps: string;
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return null;
  }
  const paths = [
    ...new Set(
      maps
        .split("\n")
        .map((line) => line.slice(line.indexOf("/")).trim())
        .filter((path) => path.startsWith("/")),
    ),
  ];
  return paths.find((path) => /\/libvips\.so[.\d]*$/.test(path)) ?? paths.find((path) => /\/libvips-cpp\.so[.\d]*$/.test(path)) ?? null;
}

const symbols = (() => {
  if (process.platform !== "linux") return null;
  const path = mappedLibvips();
  if (!path) return null;
  try {
    return dlopen(path, {
      // Variadic in C (a NULL-terminated list of options); called with the terminating NULL only.
      vips_image_new_from_buffer: { args: [P, u64, cstring, P], returns: P },
      vips_autorot: { args: [P, P, P], returns: i32 },
      vips_image_get_width: { args: [P], returns: i32 },
      vips_image_get_height: { args: [P], returns: i32 },
      vips_image_get_bands: { args: [P], returns: i32 },
      vips_image_get_format: { args: [P], returns: i32 },
      vips_image_get_int: { args: [P, cstring, P], returns: i32 },
      vips_image_write_to_memory: { args: [P, P], returns: P },
      vips_error_clear: { args: [], returns: none },
      g_object_unref: { args: [P], returns: none },
      g_free: { args: [P], returns: none },
    }).symbols;
  } catch {
    return null;
  }
})();

const ORIENTATION = Buffer.from("orientation\0");

function options(text: string): Buffer {
  return Buffer.from(`[${text}]\0`);
}

/** A JPEG's header: its stored size and EXIF orientation (1 when absent). */
export interface JpegHeader {
  width: number;
  height: number;
  orientation: number;
}

/** 8-bit pixels, `bands` interleaved channels per pixel (1 grey, 3 RGB), row-major. */
export interface ScaledJpeg {
  data: Uint8Array;
  width: number;
  height: number;
  bands: number;
}

export interface Libvips {
  /** Reads a JPEG's header (no pixel is decoded); null when libvips cannot read it. */
  jpegHeader(bytes: Uint8Array): JpegHeader | null;
  /**
   * Decodes a JPEG at 1/`shrink` of its size with libjpeg's DCT scaling (libvips' jpegload `shrink`, whose result is
   * floor(width / shrink) x floor(height / shrink)), turned and flipped as its EXIF orientation says when `autoOrient`. Null when libvips fails on it
   * (corrupt data: `fail_on=error`, as decode.ts asks sharp) or when its pixels are not 8-bit grey or RGB (CMYK).
   */
  decodeJpegScaled(bytes: Uint8Array, shrink: 2 | 4 | 8, autoOrient: boolean): ScaledJpeg | null;
}

function jpegHeader(bytes: Uint8Array): JpegHeader | null {
  const vips = symbols!;
  const image = vips.vips_image_new_from_buffer(ptr(bytes), bytes.length, ptr(options("fail_on=error")), null);
  if (image === null) {
    vips.vips_error_clear();
    return null;
  }
  try {
    const orientation = new Int32Array(1);
    const found = vips.vips_image_get_int(image, ptr(ORIENTATION), ptr(orientation)) === 0;
    return { width: vips.vips_image_get_width(image), height: vips.vips_image_get_height(image), orientation: found ? orientation[0]! : 1 };
  } finally {
    vips.g_object_unref(image);
  }
}

function decodeJpegScaled(bytes: Uint8Array, shrink: 2 | 4 | 8, autoOrient: boolean): ScaledJpeg | null {
  const vips = symbols!;
  // libvips' default random access decodes the whole image in one pass (its sequential mode measured slower at 1/2: BENCHMARKS.md "Feed").
  const loaded = vips.vips_image_new_from_buffer(ptr(bytes), bytes.length, ptr(options(`shrink=${shrink},fail_on=error`)), null) as Pointer | null;
  if (loaded === null) {
    vips.vips_error_clear();
    return null;
  }
  let image: Pointer = loaded;
  const owned: Pointer[] = [loaded];
  try {
    if (autoOrient) {
      const rotated = new BigUint64Array(1);
      if (vips.vips_autorot(image, ptr(rotated), null) !== 0) return failed();
      image = Number(rotated[0]) as Pointer;
      owned.push(image);
    }
    const bands = vips.vips_image_get_bands(image);
    if ((bands !== 1 && bands !== 3) || vips.vips_image_get_format(image) !== FORMAT_UCHAR) return null;
    const width = vips.vips_image_get_width(image);
    const height = vips.vips_image_get_height(image);
    const size = new BigUint64Array(1);
    const memory = vips.vips_image_write_to_memory(image, ptr(size));
    if (memory === null) return failed();
    try {
      const data = new Uint8Array(toArrayBuffer(memory, 0, Number(size[0]))).slice();
      return { data, width, height, bands };
    } finally {
      vips.g_free(memory);
    }
  } finally {
    for (const object of owned) vips.g_object_unref(object);
  }
}

function failed(): null {
  symbols!.vips_error_clear();
  return null;
}

/** The libvips calls above, or null where the library is not reachable (then decode in full). */
export const libvips: Libvips | null = symbols ? { jpegHeader, decodeJpegScaled } : null;

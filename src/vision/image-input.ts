// The request's image object ({type, value}) -> the encoded image bytes it carries.

import { InputImageError } from "../errors.ts";
import { fetchImageUrl, type UrlFetchDeps } from "./url-image.ts";
import type { UrlInputSettings } from "./url-policy.ts";

/** The JSON image object of a request (docs/compatibility.md §2.2): `type` is matched case-insensitively. */
export interface ImageInput {
  type: string;
  /** Optional in the type because request schemas may omit it; a missing value is malformed. */
  value?: unknown;
}

// The reference strips exactly this prefix, at the start only, before decoding.
const DATA_URI_PREFIX = /^data:image\/[a-z]+;base64,/;

/**
 * Internal type of an image already fetched (a `url` image after download): its value is the
 * encoded bytes as a Uint8Array, which JSON cannot produce, so requests cannot forge one.
 */
export const ENCODED_BYTES_TYPE = "encoded-bytes";

/** Returns the encoded bytes of any image object, downloading `url` images under the URL policy. */
export async function loadImageBytes(image: ImageInput, urlSettings: UrlInputSettings, deps?: UrlFetchDeps): Promise<Uint8Array> {
  if (image.type.toLowerCase() === "url") return fetchImageUrl(image.value, urlSettings, deps);
  return imageBytesFromInput(image);
}

/** Returns the encoded bytes an image object carries itself, or throws the reference's InputImageError. */
export function imageBytesFromInput(image: ImageInput): Uint8Array {
  switch (image.type.toLowerCase()) {
    case "base64":
      return bytesFromBase64(image.value);
    case ENCODED_BYTES_TYPE:
      if (image.value instanceof Uint8Array && image.value.length > 0) return image.value;
      throw new InputImageError("Image declaration contains not recognised image type.");
    case "numpy":
      throw new InputImageError("NumPy image type is not supported in this configuration of `inference`.");
    case "url":
      // Only loadImageBytes may download; a caller that needs bytes synchronously cannot have them.
      throw new Error("url images must be loaded with loadImageBytes");
    case "file":
      throw new InputImageError("Loading images from the local filesystem is not enabled on this server.");
    default:
      throw new InputImageError("Image declaration contains not recognised image type.");
  }
}

function bytesFromBase64(value: unknown): Uint8Array {
  if (typeof value !== "string") throw new InputImageError("Malformed base64 input image.");
  let bytes: Uint8Array;
  try {
    // Standard alphabet only; ASCII whitespace is skipped and missing padding tolerated.
    bytes = Uint8Array.fromBase64(value.replace(DATA_URI_PREFIX, ""));
  } catch {
    throw new InputImageError("Malformed base64 input image.");
  }
  if (bytes.length === 0) throw new InputImageError("Empty image payload.");
  return bytes;
}

// Cache layout: where a model id's package lives under MODEL_CACHE_DIR, as the reference lays it out (docs/compatibility.md §3.2):
// the id itself as a path (`<dataset>/<version>/`, or `<id>/` for an instant model) when every segment is portable,
// else one slug directory `~<readable prefix>-<BLAKE2s-128 of the id>`.
import { blake2sHex } from "./blake2s.ts";
import type { ModelId } from "./model-id.ts";

/** A path segment every file system keeps as is: lower case (case-insensitive file systems), no separators. */
const PORTABLE_SEGMENT = /^[a-z0-9._ -]+$/;
/** Windows device names, which cannot name a file on Windows even with an extension (`con.txt`). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
/** Top-level names the reference keeps for itself under its cache root. */
const RESERVED_FIRST_SEGMENTS = new Set(["_file_locks", "workflow", "models-cache", "auto-resolution-cache", "shared-blobs"]);
/** Longest file name most file systems allow, in bytes. */
const MAX_SEGMENT_BYTES = 255;
const SLUG_PREFIX_LENGTH = 48;

const firstSegment = (modelId: ModelId) => modelId.id.split("/", 1)[0]!;

/** True when the id (`dataset/version`, or an instant id) can be used as a path under the cache as it is. */
export function isPortableCachePath(modelId: ModelId): boolean {
  if (RESERVED_FIRST_SEGMENTS.has(firstSegment(modelId))) return false;
  return modelId.id
    .split("/")
    .every((s) => PORTABLE_SEGMENT.test(s) && !s.endsWith(" ") && !s.endsWith(".") && !WINDOWS_DEVICE.test(s) && Buffer.byteLength(s, "utf8") <= MAX_SEGMENT_BYTES);
}

/** The readable part of a slug: runs of other characters become `-`, runs of `_`/`-` collapse, at most 48 characters. */
export function slugPrefix(id: string): string {
  const slug = id.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/[_-]{2,}/g, "-");
  return (slug || "special-char-only-model-id").slice(0, SLUG_PREFIX_LENGTH);
}

/** The slug directory name of an id, e.g. `~My-Project-3-9ddd5416f2795a3634c55c5264dfe971` for `My Project/3`. */
export function slugDirectory(id: string): string {
  return `~${slugPrefix(id)}-${blake2sHex(id, 16)}`;
}

/** The package's directory relative to the cache root: the id as a path, or the slug directory when that path is not portable. */
export function cacheSubdir(modelId: ModelId): string {
  return isPortableCachePath(modelId) ? modelId.id : slugDirectory(modelId.id);
}

/**
 * Where a package may already be, newest layout first: the slug directory, then the raw id as a path
 * (`dataset/version`), which every release before the slug layout wrote (and that people copy by hand).
 */
export function cacheSubdirCandidates(modelId: ModelId): string[] {
  const primary = cacheSubdir(modelId);
  const raw = modelId.id;
  return primary === raw || RESERVED_FIRST_SEGMENTS.has(firstSegment(modelId)) ? [primary] : [primary, raw];
}

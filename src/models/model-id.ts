// Model id: parsing and validating model ids before they touch the filesystem. As in the reference, `dataset/version`
// with an integer version names a version of a dataset's model; any other id names an "instant" model (no version).
import { HttpError } from "../errors.ts";

/** `dataset/version`: a trained version, fetched through the `ort` endpoint. */
export interface VersionedModelId {
  dataset: string;
  version: string;
  /** The canonical "dataset/version" form. */
  id: string;
}

/** An id without an integer version (`my-model`, `workspace/my-model`): an instant model, fetched through `getWeights`. */
export interface InstantModelId {
  version: null;
  id: string;
}

export type ModelId = VersionedModelId | InstantModelId;

// Letters, digits and the punctuation Roboflow ids use; never "/" or "\" inside a segment.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._~ -]*$/;
const VERSION = /^[0-9]{1,9}$/;
/** What Python's int() also reads as a number among the segments SEGMENT lets through: `1 `, `1_000`, ten digits or more. */
const INT_LIKE = /^[0-9]+(_[0-9]+)* *$/;

export class InvalidModelIdError extends HttpError {
  constructor() {
    super(400, "Invalid Model ID sent in request.");
  }
}

const isSafeSegment = (segment: string) => SEGMENT.test(segment) && !segment.includes("..");

/**
 * Parses "dataset/version" or an instant model id. More than one slash, or a segment that could name a path outside
 * the cache ("..", empty parts, separators), is the reference's 400.
 */
export function parseModelId(raw: string): ModelId {
  const parts = raw.split("/");
  if (parts.length > 2 || !parts.every(isSafeSegment)) throw new InvalidModelIdError();
  const [dataset, version] = parts as [string, string | undefined];
  if (version === undefined) return { version: null, id: raw };
  if (VERSION.test(version)) return { dataset, version, id: raw };
  // The reference would read these as a version (int() succeeds) and ask for it; we keep versions as sent, so refuse
  // them rather than serve them as an unrelated instant model.
  if (INT_LIKE.test(version)) throw new InvalidModelIdError();
  return { version: null, id: raw };
}

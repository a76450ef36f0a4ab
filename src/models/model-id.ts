// Model id: parsing and validating "dataset/version" ids before they touch the filesystem.
import { InferenceError } from "../errors.ts";

export interface ModelId {
  dataset: string;
  version: string;
  /** The canonical "dataset/version" form. */
  id: string;
}

// Letters, digits and the punctuation Roboflow ids use; never "/" or "\" inside a segment.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._~ -]*$/;
const VERSION = /^[0-9]{1,9}$/;

export class InvalidModelIdError extends InferenceError {
  constructor() {
    super(400, "Invalid Model ID sent in request.");
  }
}

/** Parses "dataset/version"; anything else (extra slashes, "..", empty parts) is the reference's 400. */
export function parseModelId(raw: string): ModelId {
  const parts = raw.split("/");
  if (parts.length !== 2) throw new InvalidModelIdError();
  const [dataset, version] = parts as [string, string];
  if (!SEGMENT.test(dataset) || dataset.includes("..") || !VERSION.test(version)) throw new InvalidModelIdError();
  return { dataset, version, id: `${dataset}/${version}` };
}

// HTTP settings: the configuration sections the HTTP layer is built with (README "Configuration").
import type { PreprocessSwitches } from "../vision/preprocess.ts";
import type { MemorySettings } from "../workers/collection-pacer.ts";

/** Everything the HTTP layer reads of the configuration; the rest it reaches through the pipeline. */
export interface AppSettings {
  http: HttpSettings;
  /** The server-wide DISABLE_PREPROC_* kill switches, OR-ed into every request's. */
  preprocessing: PreprocessSwitches;
  /** The HTTP thread's garbage pacing (GC_EVERY_MB). */
  memory: MemorySettings;
}

export interface HttpSettings {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** An inference request not answered within this many milliseconds gets 504 and gives up its slots (0 = no deadline). */
  requestTimeoutMs: number;
  /** Most images one request may carry; more get 413. */
  maxImagesPerRequest: number;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxRequestBytes: number;
  /** Bytes of request bodies held at once, server-wide (an eighth of them for bodies whose key is inside them); beyond, 503. */
  maxRequestBytesInFlight: number;
  /** When non-empty, inference and model-management requests must carry one of these keys, else 401. */
  serverApiKeys: string[];
  /** Origins allowed to call the API from a browser (`*` for any); empty = no CORS headers at all. */
  corsAllowedOrigins: string[];
}

// Roboflow API protocol (docs/compatibility.md §3.1-3.2): the `ort` and `getWeights` URLs, what their answers describe, the reference's
// statuses and messages for the API's refusals and failures, and one GET with the reference's headers and an inactivity
// timeout. No file system here: see download.ts for what is done with the answers.
import { HttpError } from "../../errors.ts";
import { MODEL_ALIASES } from "../aliases.ts";
import type { InstantModelId, VersionedModelId } from "../model-id.ts";
import { BrokenPackageError, ModelNotFoundError } from "../package.ts";

/** The key the reference treats as "no key" (it is never sent to the API). */
export const LOCAL_API_KEY = "local";
/** The reference version this server answers for (see /info); sent as X-Roboflow-Inference-Version. */
const INFERENCE_VERSION = "1.5.0";

/** The reference's model type for each task when the API names none (or names it "ort"). */
export const MODEL_TYPE_DEFAULTS: Readonly<Record<string, string>> = {
  "object-detection": "yolov5v2s",
  "instance-segmentation": "yolact",
  classification: "vit",
  "keypoint-detection": "yolov8n",
};

/** Roboflow's public models (the alias targets), which the reference fetches without a key. */
export const PUBLIC_MODELS: ReadonlySet<string> = new Set(Object.values(MODEL_ALIASES));

const KEY_HELP = "Visit https://docs.roboflow.com/api-reference/authentication#retrieve-an-api-key to learn how to retrieve one.";

/** An answer of (or a failure to reach) the Roboflow API, with the reference's status and message (docs/compatibility.md §2.9). */
export class RoboflowApiError extends HttpError {
  constructor(
    status: number,
    message: string,
    /** True when another API key might have succeeded (401, 402, 403, 404, 423). */
    readonly keyDependent = false,
  ) {
    super(status, message);
    this.name = "RoboflowApiError";
  }
}

/** The reference's error for a non-2xx answer of the Roboflow API. */
export function apiStatusError(status: number): RoboflowApiError {
  switch (status) {
    case 401:
      return new RoboflowApiError(401, `Unauthorized access to roboflow API - check API key and make sure the key is valid for workspace you use. ${KEY_HELP}`, true);
    case 402:
      return new RoboflowApiError(402, "Not enough credits to perform this request. Verify your workspace billing page.", true);
    case 403:
      return new RoboflowApiError(403, `Unauthorized access to roboflow API - check API key and make sure the key is valid and have required scopes. ${KEY_HELP}`, true);
    case 404:
      return new RoboflowApiError(404, new ModelNotFoundError().message, true);
    case 423:
      return new RoboflowApiError(423, "Roboflow API usage is paused. Please contact your workspace administrator to re-enable api keys.", true);
    default:
      return new RoboflowApiError(502, "Internal error. Request to Roboflow API failed.");
  }
}

export const connectionError = () => new RoboflowApiError(503, "Internal error. Could not connect to Roboflow API.");
export const timeoutError = () => new RoboflowApiError(504, "Timeout when attempting to connect to Roboflow API.");
export const malformedResponseError = () => new RoboflowApiError(502, "Internal error. Request to Roboflow API failed.");

/** The key to send: none for an absent, empty or `local` key. */
export function usableKey(key: string | null | undefined): string | null {
  const trimmed = key?.trim();
  return trimmed && trimmed !== LOCAL_API_KEY ? trimmed : null;
}

/** `GET {API_BASE_URL}/ort/{dataset}/{version}?nocache=true&device=…&dynamic=true[&api_key=…]`, parameters in the reference's order. */
export function ortUrl(apiBaseUrl: string, modelId: VersionedModelId, apiKey: string | null, deviceId: string): string {
  const params = new URLSearchParams([
    ["nocache", "true"],
    ["device", deviceId],
    ["dynamic", "true"],
  ]);
  const key = usableKey(apiKey);
  if (key) params.append("api_key", key);
  const path = `${encodeURIComponent(modelId.dataset)}/${encodeURIComponent(modelId.version)}`;
  return `${apiBaseUrl.replace(/\/+$/, "")}/ort/${path}?${params}`;
}

/** `GET {API_BASE_URL}/getWeights?model={id}[&api_key=…]`: the reference's one call for an instant model. */
export function getWeightsUrl(apiBaseUrl: string, modelId: InstantModelId, apiKey: string | null): string {
  const params = new URLSearchParams([["model", modelId.id]]);
  const key = usableKey(apiKey);
  if (key) params.append("api_key", key);
  return `${apiBaseUrl.replace(/\/+$/, "")}/getWeights?${params}`;
}

/** A URL fit for logs: no query (API keys, signatures) and no credentials. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "<unparseable URL>";
  }
}

/** `text` without the API key (as sent, or URL-encoded), for logs. */
export function scrubKey(text: string, apiKey: string | null): string {
  if (!apiKey) return text;
  return text.replaceAll(apiKey, "<api key>").replaceAll(encodeURIComponent(apiKey), "<api key>");
}

/** Task and model type as the API names them (`ort.type` or `taskType`, and `modelType`), with the reference's defaults. */
export function modelTypeOf(task: unknown, model: unknown): { taskType: string; modelType: string } {
  const taskType = typeof task === "string" && task ? task : "object-detection";
  const named = typeof model === "string" && model && model !== "ort" ? model : null;
  return { taskType, modelType: named ?? MODEL_TYPE_DEFAULTS[taskType] ?? "ort" };
}

/** A package as the API describes it, whichever endpoint answered. */
export interface PackageDescription {
  taskType: string;
  modelType: string;
  modelVariant?: string;
  /** Signed URL of the ONNX weights. */
  weightsUrl: string;
  /** environment.json: a signed URL to fetch (`ort`) or the document itself (`getWeights`). */
  environment: string | Record<string, unknown>;
  classes?: unknown[];
  /** Injected into environment.json as COLORS. */
  colors?: unknown;
  keypointsMetadata?: unknown;
}

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The fields both endpoints name alike. */
function describedAlike(api: Record<string, unknown>, task: unknown, weightsUrl: string, environment: string | Record<string, unknown>): PackageDescription {
  return {
    ...modelTypeOf(task, api.modelType),
    ...(typeof api.modelVariant === "string" ? { modelVariant: api.modelVariant } : {}),
    weightsUrl,
    environment,
    ...(Array.isArray(api.classes) ? { classes: api.classes } : {}),
    ...(api.colors !== undefined ? { colors: api.colors } : {}),
    ...(api.keypoints_metadata !== undefined ? { keypointsMetadata: api.keypoints_metadata } : {}),
  };
}

/** The `ort` answer for a version: `{"ort": {type, modelType, model, environment (URLs), classes, colors, ...}}`. */
export function describeOrt(answer: unknown): PackageDescription {
  const ort = isRecord(answer) ? answer.ort : undefined;
  if (!isRecord(ort)) throw new BrokenPackageError("Could not find `ort` key in roboflow API model description response.");
  if (typeof ort.model !== "string") throw new BrokenPackageError("Could not find `model` key in roboflow API model description response.");
  if (typeof ort.environment !== "string") throw new BrokenPackageError("Could not find `environment` key in roboflow API model description response.");
  return describedAlike(ort, ort.type, ort.model, ort.environment);
}

/** The `getWeights` answer for an instant model: `{taskType, modelType, modelFiles: {ort: {model}}, environment (a dict), classes, colors}`. */
export function describeGetWeights(answer: unknown): PackageDescription {
  const api = isRecord(answer) ? answer : {};
  const files = isRecord(api.modelFiles) ? api.modelFiles.ort : undefined;
  if (!isRecord(files) || typeof files.model !== "string") {
    throw new BrokenPackageError("Could not find `modelFiles` key or `modelFiles`.`ort` or `modelFiles`.`ort`.`model` key in roboflow API model description response.");
  }
  if (!isRecord(api.environment)) throw new BrokenPackageError("Could not find `environment` key (a JSON object) in roboflow API model description response.");
  return describedAlike(api, api.taskType, files.model, api.environment);
}

/** How a GET's body is taken in: `length` is the declared Content-Length (0 when unknown), before the first chunk. */
export interface BodySink {
  start?(length: number): Promise<void> | void;
  chunk(bytes: Uint8Array): Promise<void> | void;
}

/**
 * One GET with the reference's headers; the body goes to `sink`, and its size is returned. The timeout is one of
 * inactivity (like the reference's requests timeout): it restarts whenever bytes arrive, so a large file on a slow but
 * live link still finishes. Network failures become the reference's 503 and 504 and non-2xx answers its statuses
 * (`report` hears what went wrong, for the log); an error the sink throws (a full disk) passes through as it is.
 */
export async function apiGet(url: string, timeoutMs: number, sink: BodySink, report: (problem: string) => void = () => {}): Promise<number> {
  const controller = new AbortController();
  let timedOut = false;
  let timer = setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs);
  };
  const networkFailure = (error: unknown): HttpError => {
    if (timedOut) return timeoutError();
    report(`failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    return connectionError();
  };
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        signal: controller.signal,
        // Our own inactivity timer (ROBOFLOW_API_REQUEST_TIMEOUT) governs, not Bun's 5-minute socket idle default.
        timeout: false,
        headers: { "X-Roboflow-Inference-Version": INFERENCE_VERSION, "X-Allow-Chunked": "true" },
      });
    } catch (error) {
      throw networkFailure(error);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      report(`answered HTTP ${response.status}`);
      throw apiStatusError(response.status);
    }
    try {
      await sink.start?.(Number(response.headers.get("content-length")) || 0);
    } catch (error) {
      await response.body?.cancel().catch(() => undefined);
      throw error;
    }
    let received = 0;
    const reader = response.body?.getReader();
    while (reader) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        throw networkFailure(error);
      }
      if (next.done) break;
      touch();
      received += next.value.byteLength;
      try {
        await sink.chunk(next.value);
      } catch (error) {
        await reader.cancel().catch(() => undefined);
        throw error;
      }
    }
    return received;
  } finally {
    clearTimeout(timer);
  }
}

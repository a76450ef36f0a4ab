// Roboflow API client: fetches a model missing from MODEL_CACHE_DIR as the reference does (the `ort` endpoint, then its
// signed environment and weights URLs, spec §3.1-3.2) and writes it atomically into the cache in the reference's layout.
import { existsSync } from "node:fs";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { InferenceError } from "../errors.ts";
import { MODEL_ALIASES } from "./aliases.ts";
import { cacheSubdir, cacheSubdirCandidates } from "./cache-layout.ts";
import type { ModelId } from "./model-id.ts";
import { BrokenPackageError, ModelNotFoundError, WEIGHTS_FILES } from "./package.ts";

export interface RoboflowApiSettings {
  /** API_BASE_URL, without a trailing slash. */
  apiBaseUrl: string;
  /** ROBOFLOW_API_KEY / API_KEY: used when a request carries no key; empty = none. */
  roboflowApiKey: string;
  /** ROBOFLOW_API_REQUEST_TIMEOUT: a call or download that receives nothing for this long fails with 504. */
  roboflowApiTimeoutMs: number;
  modelCacheDir: string;
}

/** The key the reference treats as "no key" (it is never sent to the API). */
export const LOCAL_API_KEY = "local";
/** The reference version this server answers for (see /info); sent as X-Roboflow-Inference-Version. */
const INFERENCE_VERSION = "1.5.0";
/** Downloads at least this large (or of unknown size) log their progress. */
const LARGE_DOWNLOAD_BYTES = 8 * 2 ** 20;
const PROGRESS_INTERVAL_MS = 2_000;
/** Where packages are assembled before they are renamed into place; the dot keeps it apart from model ids. */
export const STAGING_DIR = ".downloads";

/** The reference's model type for each task when the API names none (or names it "ort"). */
export const MODEL_TYPE_DEFAULTS: Readonly<Record<string, string>> = {
  "object-detection": "yolov5v2s",
  "instance-segmentation": "yolact",
  classification: "vit",
  "keypoint-detection": "yolov8n",
};

const KEY_HELP = "Visit https://docs.roboflow.com/api-reference/authentication#retrieve-an-api-key to learn how to retrieve one.";

/** An answer of (or a failure to reach) the Roboflow API, with the reference's status and message (spec §2.9). */
export class RoboflowApiError extends InferenceError {
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
const malformedResponseError = () => new RoboflowApiError(502, "Internal error. Request to Roboflow API failed.");

/** The key to send: none for an absent, empty or `local` key. */
export function usableKey(key: string | null | undefined): string | null {
  const trimmed = key?.trim();
  return trimmed && trimmed !== LOCAL_API_KEY ? trimmed : null;
}

/** `GET {API_BASE_URL}/ort/{dataset}/{version}?nocache=true&device=…&dynamic=true[&api_key=…]`, parameters in the reference's order. */
export function ortUrl(apiBaseUrl: string, modelId: ModelId, apiKey: string | null, deviceId: string): string {
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

/** A URL fit for logs: no query (API keys, signatures) and no credentials. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "<unparseable URL>";
  }
}

/** The file name the reference saves the weights under for this family (spec §3.2). */
export function weightsFileName(taskType: string, modelType: string): string {
  const type = modelType.toLowerCase();
  if ((taskType === "object-detection" || taskType === "instance-segmentation") && type.startsWith("yolov5")) return "yolov5s_weights.onnx";
  if (taskType === "classification" && (type === "vit" || type.startsWith("resnet"))) return "best.onnx";
  return "weights.onnx";
}

/** Task and model type of an `ort` description, with the reference's defaults. */
export function modelTypeOf(ort: Record<string, unknown>): { taskType: string; modelType: string } {
  const taskType = typeof ort.type === "string" && ort.type ? ort.type : "object-detection";
  const named = typeof ort.modelType === "string" && ort.modelType && ort.modelType !== "ort" ? ort.modelType : null;
  return { taskType, modelType: named ?? MODEL_TYPE_DEFAULTS[taskType] ?? "ort" };
}

/** Roboflow's public models (the alias targets), which the reference fetches without a key. */
const PUBLIC_MODELS = new Set(Object.values(MODEL_ALIASES));

/** True when the cache holds a usable package for `modelId`: environment.json and a weights file. */
export function isPackageCached(cacheDir: string, modelId: ModelId): boolean {
  return cacheSubdirCandidates(modelId).some((sub) => isComplete(join(cacheDir, sub)));
}

function isComplete(dir: string): boolean {
  return existsSync(join(dir, "environment.json")) && WEIGHTS_FILES.some((name) => existsSync(join(dir, name)));
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Downloads models into the cache; one download per model at a time, shared by everyone asking for it. */
export class RoboflowApi {
  private readonly inFlight = new Map<string, { apiKey: string | null; done: Promise<void> }>();
  private readonly deviceId = hostname() || "bun-inference";

  constructor(
    private readonly settings: RoboflowApiSettings,
    private readonly log: Pick<Console, "log" | "error"> = console,
  ) {}

  /** The key a download for this request uses: the request's, else the configured one; null when neither is usable. */
  keyFor(requestKey: string | null | undefined): string | null {
    return usableKey(requestKey) ?? usableKey(this.settings.roboflowApiKey);
  }

  /**
   * Makes sure the package of `modelId` is in the cache. A package already there is used as it is (no API call).
   * Otherwise it is downloaded with the request's key (else the configured one); without any key only Roboflow's
   * public models are fetched, and for any other model this returns and the caller answers 404 as before.
   * Concurrent callers share one download; one whose key differs from a download that failed for its key tries its own.
   */
  async ensureCached(modelId: ModelId, requestKey?: string | null): Promise<void> {
    const apiKey = this.keyFor(requestKey);
    for (;;) {
      if (isPackageCached(this.settings.modelCacheDir, modelId)) return;
      if (!apiKey && !PUBLIC_MODELS.has(modelId.id)) return;
      const running = this.inFlight.get(modelId.id);
      if (!running) {
        const done = this.download(modelId, apiKey).finally(() => this.inFlight.delete(modelId.id));
        this.inFlight.set(modelId.id, { apiKey, done });
        return done;
      }
      try {
        return await running.done;
      } catch (error) {
        // Someone else's key was refused (or could not see the model): ours may do better.
        if (!(error instanceof RoboflowApiError && error.keyDependent && running.apiKey !== apiKey)) throw error;
      }
    }
  }

  private async download(modelId: ModelId, apiKey: string | null): Promise<void> {
    const { apiBaseUrl, modelCacheDir } = this.settings;
    const started = performance.now();
    this.log.log(`model ${modelId.id} is not in MODEL_CACHE_DIR: downloading it from ${redactUrl(apiBaseUrl)}${apiKey ? "" : " (public model, no API key)"}`);
    const staging = join(modelCacheDir, STAGING_DIR, `${cacheSubdir(modelId).replaceAll("/", "~")}.${process.pid}.${crypto.randomUUID()}`);
    try {
      const described = await this.getJson(ortUrl(apiBaseUrl, modelId, apiKey, this.deviceId), modelId, "model description", apiKey);
      const ort = described && typeof described === "object" ? (described as Record<string, unknown>).ort : undefined;
      if (!ort || typeof ort !== "object") throw new BrokenPackageError("Could not find `ort` key in roboflow API model description response.");
      const api = ort as Record<string, unknown>;
      if (typeof api.model !== "string") throw new BrokenPackageError("Could not find `model` key in roboflow API model description response.");
      if (typeof api.environment !== "string") throw new BrokenPackageError("Could not find `environment` key in roboflow API model description response.");
      const { taskType, modelType } = modelTypeOf(api);
      const weightsName = weightsFileName(taskType, modelType);

      await mkdir(staging, { recursive: true });
      if (Array.isArray(api.classes)) await writeFile(join(staging, "class_names.txt"), api.classes.map(String).join("\n"));
      const environment = await this.getJson(api.environment, modelId, "environment.json", apiKey);
      if (!environment || typeof environment !== "object" || Array.isArray(environment)) throw new BrokenPackageError("environment.json from the Roboflow API is not a JSON object.");
      const weightsBytes = await this.getFile(api.model, join(staging, weightsName), modelId, weightsName, apiKey);
      const env = environment as Record<string, unknown>;
      if (api.colors !== undefined) env.COLORS = api.colors;
      await writeFile(join(staging, "environment.json"), JSON.stringify(env));
      if (api.keypoints_metadata !== undefined) await writeFile(join(staging, "keypoints_metadata.json"), JSON.stringify(api.keypoints_metadata));
      const modelTypeJson: Record<string, string> = { project_task_type: taskType, model_type: modelType, model_id: modelId.id };
      if (typeof api.modelVariant === "string") modelTypeJson.model_variant = api.modelVariant;
      await writeFile(join(staging, "model_type.json"), JSON.stringify(modelTypeJson));

      const target = join(modelCacheDir, cacheSubdir(modelId));
      await this.install(staging, target);
      this.log.log(`cached ${modelId.id} (${taskType}, ${modelType}, ${weightsName} ${mib(weightsBytes)} MiB) in ${target} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof InferenceError ? `${error.status} ${error.message}` : String(error);
      this.log.error(`downloading ${modelId.id} failed: ${this.scrub(message, apiKey)}`);
      throw error instanceof InferenceError ? error : new InferenceError(500, "Internal error. Could not write the downloaded model into MODEL_CACHE_DIR.");
    } finally {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Renames the assembled package into place; a complete package someone else put there first wins, an incomplete one is replaced. */
  private async install(staging: string, target: string): Promise<void> {
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(staging, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
    }
    if (isComplete(target)) return;
    const stale = `${staging}.stale`;
    await rename(target, stale);
    await rename(staging, target);
    await rm(stale, { recursive: true, force: true });
  }

  /** GETs a JSON document from the API or a signed URL. */
  private async getJson(url: string, modelId: ModelId, what: string, apiKey: string | null): Promise<unknown> {
    const chunks: Uint8Array[] = [];
    await this.get(url, modelId, what, apiKey, async (chunk) => void chunks.push(chunk));
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      this.log.error(`${modelId.id}: the ${what} from ${redactUrl(url)} is not JSON`);
      throw malformedResponseError();
    }
  }

  /** Streams a signed URL into `path`; returns its size. */
  private async getFile(url: string, path: string, modelId: ModelId, what: string, apiKey: string | null): Promise<number> {
    const file = await open(path, "w");
    try {
      return await this.get(url, modelId, what, apiKey, async (chunk) => void (await file.write(chunk)));
    } finally {
      await file.close();
    }
  }

  /**
   * One GET with the reference's headers. The timeout is one of inactivity (like the reference's requests timeout):
   * it restarts whenever bytes arrive, so a large file on a slow but live link still finishes.
   */
  private async get(url: string, modelId: ModelId, what: string, apiKey: string | null, onChunk: (chunk: Uint8Array) => Promise<void>): Promise<number> {
    const timeoutMs = this.settings.roboflowApiTimeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    let timer = setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs);
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs);
    };
    const failure = (error: unknown): InferenceError => {
      if (error instanceof InferenceError) return error;
      if (timedOut) return timeoutError();
      this.log.error(`${modelId.id}: GET ${redactUrl(url)} (${what}) failed: ${this.scrub(error instanceof Error ? `${error.name}: ${error.message}` : String(error), apiKey)}`);
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
        throw failure(error);
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        this.log.error(`${modelId.id}: GET ${redactUrl(url)} (${what}) answered HTTP ${response.status}`);
        throw apiStatusError(response.status);
      }
      const total = Number(response.headers.get("content-length")) || 0;
      const reportProgress = total === 0 || total >= LARGE_DOWNLOAD_BYTES;
      const began = performance.now();
      let lastReport = began;
      let received = 0;
      try {
        for await (const chunk of response.body ?? []) {
          touch();
          received += chunk.byteLength;
          await onChunk(chunk);
          const now = performance.now();
          if (reportProgress && now - lastReport >= PROGRESS_INTERVAL_MS) {
            lastReport = now;
            this.log.log(`downloading ${modelId.id} ${what}: ${mib(received)}${total ? ` of ${mib(total)} MiB (${Math.floor((100 * received) / total)}%)` : " MiB"}`);
          }
        }
      } catch (error) {
        throw failure(error);
      }
      if (reportProgress && received >= LARGE_DOWNLOAD_BYTES) {
        this.log.log(`downloaded ${modelId.id} ${what}: ${mib(received)} MiB in ${((performance.now() - began) / 1000).toFixed(1)} s`);
      }
      return received;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `text` without the API key (as sent, or URL-encoded), for logs. */
  private scrub(text: string, apiKey: string | null): string {
    if (!apiKey) return text;
    return text.replaceAll(apiKey, "<api key>").replaceAll(encodeURIComponent(apiKey), "<api key>");
  }
}

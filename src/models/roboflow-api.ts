// Roboflow API client: fetches a model missing from MODEL_CACHE_DIR as the reference does (spec §3.1-3.2): a version
// through the `ort` endpoint, then its signed environment and weights URLs; an instant model (no version) through
// `getWeights`, whose answer carries the environment itself. It writes the package atomically into the cache in the
// reference's layout.
import { existsSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { InferenceError } from "../errors.ts";
import { MODEL_ALIASES } from "./aliases.ts";
import { cacheSubdir, cacheSubdirCandidates } from "./cache-layout.ts";
import type { InstantModelId, ModelId, VersionedModelId } from "./model-id.ts";
import { BrokenPackageError, ModelNotFoundError, WEIGHTS_FILES } from "./package.ts";

/** The Roboflow API section of the configuration. */
export interface RoboflowSettings {
  /** API_BASE_URL, without a trailing slash. */
  apiBaseUrl: string;
  /** ROBOFLOW_API_KEY / API_KEY: used when a request carries no key; empty = none. */
  roboflowApiKey: string;
  /** ROBOFLOW_API_REQUEST_TIMEOUT: a call or download that receives nothing for this long fails with 504. */
  roboflowApiTimeoutMs: number;
}

export interface RoboflowApiSettings extends RoboflowSettings {
  /** Where downloaded packages go (MODEL_CACHE_DIR). */
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
/**
 * A staging directory untouched for this many ROBOFLOW_API_REQUEST_TIMEOUTs belongs to no live download: a download
 * writes into it at least once per timeout (its inactivity limit), so the rest is margin.
 */
const STALE_STAGING_TIMEOUTS = 2;

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

/** The file name the reference saves the weights under for this family (spec §3.2). */
export function weightsFileName(taskType: string, modelType: string): string {
  const type = modelType.toLowerCase();
  if ((taskType === "object-detection" || taskType === "instance-segmentation") && type.startsWith("yolov5")) return "yolov5s_weights.onnx";
  if (taskType === "classification" && (type === "vit" || type.startsWith("resnet"))) return "best.onnx";
  return "weights.onnx";
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

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

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

/** When `path` or an entry directly in it was last modified (ms since the epoch); null when it is gone. */
async function lastWritten(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return info.mtimeMs;
    let newest = info.mtimeMs;
    for (const name of await readdir(path)) {
      const entry = await stat(join(path, name)).catch(() => null);
      if (entry) newest = Math.max(newest, entry.mtimeMs);
    }
    return newest;
  } catch {
    return null;
  }
}

/** Downloads models into the cache; one download per model at a time, shared by everyone asking for it. */
export class RoboflowApi {
  private readonly inFlight = new Map<string, { apiKey: string | null; done: Promise<void> }>();
  /** This process's staging directories in use, which the stale-staging sweep leaves alone. */
  private readonly staging = new Set<string>();
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
    await this.removeStaleStaging();
    const staging = join(modelCacheDir, STAGING_DIR, `${cacheSubdir(modelId).replaceAll("/", "~")}.${process.pid}.${crypto.randomUUID()}`);
    this.staging.add(staging);
    try {
      const described =
        modelId.version === null
          ? describeGetWeights(await this.getJson(getWeightsUrl(apiBaseUrl, modelId, apiKey), modelId, "model description", apiKey))
          : describeOrt(await this.getJson(ortUrl(apiBaseUrl, modelId, apiKey, this.deviceId), modelId, "model description", apiKey));
      const weightsName = weightsFileName(described.taskType, described.modelType);

      await mkdir(staging, { recursive: true });
      if (described.classes) await writeFile(join(staging, "class_names.txt"), described.classes.map(String).join("\n"));
      const environment = typeof described.environment === "string" ? await this.getJson(described.environment, modelId, "environment.json", apiKey) : described.environment;
      if (!isRecord(environment)) throw new BrokenPackageError("environment.json from the Roboflow API is not a JSON object.");
      const weightsBytes = await this.getFile(described.weightsUrl, join(staging, weightsName), modelId, weightsName, apiKey);
      const env = described.colors === undefined ? environment : { ...environment, COLORS: described.colors };
      await writeFile(join(staging, "environment.json"), JSON.stringify(env));
      if (described.keypointsMetadata !== undefined) await writeFile(join(staging, "keypoints_metadata.json"), JSON.stringify(described.keypointsMetadata));
      const modelTypeJson: Record<string, string> = { project_task_type: described.taskType, model_type: described.modelType, model_id: modelId.id };
      if (described.modelVariant !== undefined) modelTypeJson.model_variant = described.modelVariant;
      await writeFile(join(staging, "model_type.json"), JSON.stringify(modelTypeJson));

      const target = join(modelCacheDir, cacheSubdir(modelId));
      await this.install(staging, target);
      this.log.log(`cached ${modelId.id} (${described.taskType}, ${described.modelType}, ${weightsName} ${mib(weightsBytes)} MiB) in ${target} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof InferenceError ? `${error.status} ${error.message}` : String(error);
      this.log.error(`downloading ${modelId.id} failed: ${this.scrub(message, apiKey)}`);
      throw error instanceof InferenceError ? error : new InferenceError(500, "Internal error. Could not write the downloaded model into MODEL_CACHE_DIR.");
    } finally {
      await rm(staging, { recursive: true, force: true }).catch(() => undefined);
      this.staging.delete(staging);
    }
  }

  /**
   * Renames the assembled package into place; a complete package someone else put there first wins. Over an
   * incomplete one (an interrupted copy by hand), or over the directory of an instant id that also holds versions of
   * the same name (`coco/` beside `coco/3/`), the package's files are moved in one by one, environment.json last, so
   * the package counts as cached only once it is whole, and nothing else in the directory is touched.
   */
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
    // An old weights file of another family's name would win over the new one (WEIGHTS_FILES order).
    for (const name of [...WEIGHTS_FILES, "environment.json"]) await rm(join(target, name), { force: true });
    const names = (await readdir(staging)).filter((name) => name !== "environment.json");
    for (const name of [...names, "environment.json"]) await rename(join(staging, name), join(target, name));
  }

  /**
   * Removes what a crashed earlier process left in the staging area: entries nothing has written to for
   * STALE_STAGING_TIMEOUTS request timeouts, other than this process's own downloads (however long they stall).
   */
  private async removeStaleStaging(): Promise<void> {
    const root = join(this.settings.modelCacheDir, STAGING_DIR);
    const names = await readdir(root).catch(() => [] as string[]);
    const cutoff = Date.now() - STALE_STAGING_TIMEOUTS * this.settings.roboflowApiTimeoutMs;
    for (const name of names) {
      const path = join(root, name);
      if (this.staging.has(path)) continue;
      const written = await lastWritten(path);
      // Gone meanwhile (another process finished with it), or still being written.
      if (written === null || written >= cutoff) continue;
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
      this.log.log(`removed ${STAGING_DIR}/${name} from MODEL_CACHE_DIR: an unfinished download of an earlier process`);
    }
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

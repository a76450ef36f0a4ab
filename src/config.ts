// Server configuration: every environment variable, parsed and validated once at start-up.
import { availableParallelism } from "node:os";
import { demoPackages } from "./demo/install.ts";
import { DEFAULT_URL_INPUT_SETTINGS, invalidHostEntry, normaliseHost, type UrlInputSettings } from "./vision/url-policy.ts";

export interface ServerConfig {
  host: string;
  port: number;
  /** Where model packages live, in the reference's cache layout (`<dataset>/<version>/`). */
  modelCacheDir: string;
  /** Id of the demo detector served by `bun run start` out of the box; the demo models are installed on first start. Empty disables them. */
  demoModelId: string;
  /** Models loaded at start-up (comma-separated ids), so their first request is not a cold start. */
  preloadModels: string[];
  /** Largest batch one ONNX Runtime call runs for dynamic-batch models. */
  maxBatchSize: number;
  /** How long the batcher may hold a partial batch to let it fill (0 = run what is ready at once). */
  batchMaxWaitMs: number;
  /** Time batch sizes when a dynamic-batch model loads and cap its batches where larger ones stop paying off per image. */
  batchSizeProbe: boolean;
  /** Vision workers (decode, preprocess, postprocess). */
  numWorkers: number;
  /** A vision task running longer than this means a hung worker: it is replaced and its requests fail with 500 (0 = never). */
  visionTaskTimeoutMs: number;
  /** Bytes of request bodies (HTTP thread) or of images (each vision worker) after which that thread collects its garbage (0 = the engine decides). */
  gcEveryBytes: number;
  /** Arena slots per model; each holds one preprocessed image and its raw outputs. */
  arenaSlots: number;
  /** Requests allowed to wait for a free arena slot, per model, before new ones get 503. */
  maxQueue: number;
  /** An inference request not answered within this many milliseconds gets 504 and gives up its slot (0 = no deadline). */
  requestTimeoutMs: number;
  /** ONNX Runtime intra-op threads per session (0 = planned by src/pipeline/inference-lanes.ts). */
  ortIntraOpThreads: number;
  /** Inference workers per device, each with its own sessions over the same arenas (0 = 1 on a GPU, up to 4 on the CPU). */
  inferenceWorkersPerDevice: number;
  /** Execution providers in order of preference (`tensorrt`, `cuda`, `cpu`). */
  executionProviders: string[];
  /** GPU ordinals, `inferenceWorkersPerDevice` inference workers each (the CPU runs as device 0). */
  cudaDevices: number[];
  /** The first of `cudaDevices`, for single-device tools. */
  cudaDeviceId: number;
  /** Where TensorRT keeps built engines across restarts; empty = rebuild them at every start. */
  tensorrtCachePath: string;
  /** Lets TensorRT use float16 kernels. */
  tensorrtFp16: boolean;
  /** Explicit path to libonnxruntime.so (or its folder); empty = the npm package's copy. */
  ortLibPath: string;
  /** Global kill switches for preprocessing steps, as in the reference. */
  disablePreprocAutoOrient: boolean;
  disablePreprocContrast: boolean;
  disablePreprocGrayscale: boolean;
  disablePreprocStaticCrop: boolean;
  /** `url` images: the policy (ALLOW_URL_INPUT, ALLOW_NON_HTTPS_URL_INPUT, ...) and the download limits. */
  urlInput: UrlInputSettings;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxRequestBytes: number;
  /** Largest image accepted, in pixels (width x height, read from the header before decoding); larger ones get 400. */
  maxImagePixels: number;
  /** When non-empty, inference and model-management requests must carry one of these keys, else 401. */
  serverApiKeys: string[];
  /** Origins allowed to call the API from a browser (`*` for any); empty = no CORS headers at all. */
  corsAllowedOrigins: string[];
  /** Roboflow API that models missing from MODEL_CACHE_DIR are downloaded from (no trailing slash). */
  apiBaseUrl: string;
  /** Roboflow API key used when a request carries none (ROBOFLOW_API_KEY, else API_KEY); empty = none. */
  roboflowApiKey: string;
  /** A Roboflow API call or artifact download that receives nothing for this long fails with 504. */
  roboflowApiTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

class ConfigError extends Error {}

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

const KNOWN_PROVIDERS = new Set(["tensorrt", "cuda", "cpu"]);

/** CUDA_DEVICES (comma-separated GPU ordinals); CUDA_DEVICE_ID is its older single-device form. */
function cudaDevices(env: Env): number[] {
  const single = integer(env, "CUDA_DEVICE_ID", 0, 0, 64);
  const raw = list(env, "CUDA_DEVICES", []);
  if (raw.length === 0) return [single];
  return raw.map((entry) => {
    const ordinal = Number(entry);
    if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal > 64) {
      throw new ConfigError(`CUDA_DEVICES must be comma-separated GPU ordinals in [0, 64], got "${env.CUDA_DEVICES}"`);
    }
    return ordinal;
  });
}

/** SERVER_API_KEYS: comma-separated keys; a key cannot hold whitespace or control characters (it travels in a header). */
function apiKeys(env: Env): string[] {
  const keys = list(env, "SERVER_API_KEYS", []);
  // The message never repeats a key: configuration errors end up in logs.
  if (keys.some((k) => /[\s\x00-\x1f\x7f]/.test(k))) throw new ConfigError("SERVER_API_KEYS: a key contains whitespace or a control character");
  return keys;
}

/** CORS_ALLOWED_ORIGINS: `*`, or comma-separated origins such as `https://app.example.com` (scheme, host, optional port; no path). */
function corsOrigins(env: Env): string[] {
  const origins = list(env, "CORS_ALLOWED_ORIGINS", []);
  for (const origin of origins) {
    if (origin === "*") continue;
    let parsed: URL | null = null;
    try {
      parsed = new URL(origin);
    } catch {}
    if (!parsed || parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) {
      throw new ConfigError(`CORS_ALLOWED_ORIGINS: "${origin}" is not an origin like https://app.example.com (or *)`);
    }
  }
  return origins;
}

export const DEFAULT_API_BASE_URL = "https://api.roboflow.com";

/** API_BASE_URL: an http(s) URL, kept without its trailing slash (paths are appended to it). */
function apiBaseUrl(env: Env): string {
  const raw = env.API_BASE_URL?.trim() || DEFAULT_API_BASE_URL;
  let parsed: URL | null = null;
  try {
    parsed = new URL(raw);
  } catch {}
  if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.search || parsed.hash) {
    throw new ConfigError(`API_BASE_URL must be an http(s) URL without query or fragment, such as ${DEFAULT_API_BASE_URL}; got "${raw}"`);
  }
  return raw.replace(/\/+$/, "");
}

/** A comma-separated host list (`*.domain` entries allowed); `null` when the variable is unset or empty. */
function hostList(env: Env, name: string): string[] | null {
  const entries = list(env, name, []);
  if (entries.length === 0) return null;
  for (const entry of entries) {
    const problem = invalidHostEntry(entry);
    if (problem) throw new ConfigError(`${name}: "${entry}" ${problem}`);
  }
  return entries.map(normaliseHost);
}

/** The URL image settings; the download deadline must end before the vision task watchdog fires. */
function urlInputSettings(env: Env, visionTaskTimeoutMs: number): UrlInputSettings {
  const d = DEFAULT_URL_INPUT_SETTINGS;
  const timeoutMs = integer(env, "URL_INPUT_TIMEOUT_MS", d.timeoutMs, 1, 600_000);
  if (visionTaskTimeoutMs > 0 && timeoutMs >= visionTaskTimeoutMs) {
    throw new ConfigError(`URL_INPUT_TIMEOUT_MS (${timeoutMs}) must be below VISION_TASK_TIMEOUT_MS (${visionTaskTimeoutMs}): a download outliving it would be taken for a hung worker`);
  }
  return {
    allowUrlInput: boolean(env, "ALLOW_URL_INPUT", d.allowUrlInput),
    allowNonHttps: boolean(env, "ALLOW_NON_HTTPS_URL_INPUT", d.allowNonHttps),
    allowWithoutFqdn: boolean(env, "ALLOW_URL_INPUT_WITHOUT_FQDN", d.allowWithoutFqdn),
    allowPrivateAddresses: boolean(env, "ALLOW_URL_INPUT_PRIVATE_ADDRESSES", d.allowPrivateAddresses),
    allowedHosts: hostList(env, "WHITELISTED_DESTINATIONS_FOR_URL_INPUT"),
    deniedHosts: hostList(env, "BLACKLISTED_DESTINATIONS_FOR_URL_INPUT") ?? [],
    maxRedirects: integer(env, "URL_INPUT_MAX_REDIRECTS", d.maxRedirects, 0, 100),
    timeoutMs,
    maxBytes: integer(env, "URL_INPUT_MAX_BYTES", d.maxBytes, 1, 2 ** 31),
    maxConcurrent: integer(env, "URL_INPUT_MAX_CONCURRENT", d.maxConcurrent, 1, 100_000),
  };
}

/** Reads the configuration from an environment (process.env by default); throws on invalid values. */
export function loadConfig(env: Env = process.env): ServerConfig {
  const maxBatchSize = integer(env, "MAX_BATCH_SIZE", 32, 1, 1024);
  const executionProviders = list(env, "EXECUTION_PROVIDERS", ["cuda", "cpu"]).map((p) => p.toLowerCase());
  for (const p of executionProviders) {
    if (!KNOWN_PROVIDERS.has(p)) throw new ConfigError(`EXECUTION_PROVIDERS: unknown provider "${p}" (known: tensorrt, cuda, cpu)`);
  }
  const demoModelId = env.DEMO_MODEL_ID ?? "demo-shapes/1";
  const modelCacheDir = env.MODEL_CACHE_DIR || "/tmp/cache";
  const devices = cudaDevices(env);
  const visionTaskTimeoutMs = integer(env, "VISION_TASK_TIMEOUT_MS", 60_000, 0, 3_600_000);
  return {
    host: env.HOST || "0.0.0.0",
    port: integer(env, "PORT", 9001, 0, 65535),
    modelCacheDir,
    demoModelId,
    preloadModels: list(env, "PRELOAD_MODELS", demoModelId ? demoPackages(demoModelId).map((pkg) => pkg.modelId) : []),
    maxBatchSize,
    batchMaxWaitMs: integer(env, "BATCH_MAX_WAIT_MS", 0, 0, 10_000),
    batchSizeProbe: boolean(env, "BATCH_SIZE_PROBE", true),
    numWorkers: integer(env, "NUM_WORKERS", availableParallelism(), 1, 256),
    visionTaskTimeoutMs,
    gcEveryBytes: integer(env, "GC_EVERY_MB", 64, 0, 1_000_000) * 2 ** 20,
    arenaSlots: integer(env, "ARENA_SLOTS", 2 * maxBatchSize, 1, 8192),
    maxQueue: integer(env, "MAX_QUEUE", 1024, 0, 1_000_000),
    requestTimeoutMs: integer(env, "REQUEST_TIMEOUT_MS", 120_000, 0, 3_600_000),
    ortIntraOpThreads: integer(env, "ORT_INTRA_OP_THREADS", 0, 0, 1024),
    inferenceWorkersPerDevice: integer(env, "INFERENCE_WORKERS_PER_DEVICE", 0, 0, 64),
    executionProviders: executionProviders.length > 0 ? executionProviders : ["cpu"],
    cudaDevices: devices,
    cudaDeviceId: devices[0]!,
    // Inside the model cache so that a cache volume also keeps the engines; the dot keeps it apart from model ids.
    tensorrtCachePath: env.TENSORRT_CACHE_PATH ?? `${modelCacheDir}/.tensorrt`,
    tensorrtFp16: boolean(env, "TENSORRT_FP16", false),
    ortLibPath: env.ORT_LIB_PATH ?? "",
    disablePreprocAutoOrient: boolean(env, "DISABLE_PREPROC_AUTO_ORIENT", false),
    disablePreprocContrast: boolean(env, "DISABLE_PREPROC_CONTRAST", false),
    disablePreprocGrayscale: boolean(env, "DISABLE_PREPROC_GRAYSCALE", false),
    disablePreprocStaticCrop: boolean(env, "DISABLE_PREPROC_STATIC_CROP", false),
    urlInput: urlInputSettings(env, visionTaskTimeoutMs),
    maxRequestBytes: integer(env, "MAX_REQUEST_BYTES", 64 * 2 ** 20, 1024, 2 ** 31),
    maxImagePixels: integer(env, "MAX_IMAGE_PIXELS", 50_000_000, 1, 2 ** 32),
    serverApiKeys: apiKeys(env),
    corsAllowedOrigins: corsOrigins(env),
    apiBaseUrl: apiBaseUrl(env),
    roboflowApiKey: (env.ROBOFLOW_API_KEY || env.API_KEY || "").trim(),
    roboflowApiTimeoutMs: integer(env, "ROBOFLOW_API_REQUEST_TIMEOUT", 120, 1, 3600) * 1000,
  };
}

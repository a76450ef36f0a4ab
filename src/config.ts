// Server configuration: every environment variable, parsed and validated once at start-up.
import { availableParallelism } from "node:os";
import { demoPackages } from "./demo/install.ts";
import type { HttpSettings } from "./http/settings.ts";
import { RFDETR_DEFAULT_MAX_RESOLUTION } from "./models/families/rfdetr.ts";
import type { RoboflowSettings } from "./models/roboflow/download.ts";
import type { AdmissionSettings } from "./pipeline/admission.ts";
import type { ModelHostSettings } from "./pipeline/model-host.ts";
import type { PreprocessSwitches } from "./vision/preprocess.ts";
import { DEFAULT_URL_INPUT_SETTINGS, invalidHostEntry, normaliseHost, type UrlInputSettings } from "./vision/url-policy.ts";
import type { BatchingSettings } from "./workers/batcher.ts";
import type { MemorySettings } from "./workers/collection-pacer.ts";
import type { MallocSettings } from "./workers/memory-release.ts";
import type { OrtSettings, VisionSettings } from "./workers/protocol.ts";

/** What `bun run start` does on its own: the built-in demo, and the models loaded before the first request. */
export interface StartupSettings {
  /** Model id served by `bun run start` out of the box; installed on first start when absent. Empty disables it. */
  demoModelId: string;
  /** Models loaded at start-up (comma-separated ids), so their first request is not a cold start. */
  preloadModels: string[];
}

/**
 * Every setting, parsed once, in one section per component; each section is that component's own settings type,
 * handed to it unchanged (README "Configuration" names the variables).
 */
export interface ServerConfig {
  startup: StartupSettings;
  http: HttpSettings;
  /** DISABLE_PREPROC_*: server-wide kill switches for preprocessing steps, as in the reference. */
  preprocessing: PreprocessSwitches;
  memory: MemorySettings & MallocSettings;
  models: ModelHostSettings;
  admission: AdmissionSettings;
  batching: BatchingSettings;
  ort: OrtSettings;
  vision: VisionSettings;
  urlInput: UrlInputSettings;
  roboflow: RoboflowSettings;
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

/** One of `values`, case-insensitively. */
function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(", ")}, got "${env[name]}"`);
  return raw as T;
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const KNOWN_PROVIDERS = new Set(["tensorrt", "cuda", "cpu"]);
const CONV_ALGO_SEARCHES = ["HEURISTIC", "EXHAUSTIVE", "DEFAULT"] as const;

/** CUDNN_CONV_ALGO_SEARCH, case-insensitive. */
function convAlgoSearch(env: Env): OrtSettings["cudnnConvAlgoSearch"] {
  const raw = (env.CUDNN_CONV_ALGO_SEARCH ?? "").trim().toUpperCase() || "HEURISTIC";
  const found = CONV_ALGO_SEARCHES.find((value) => value === raw);
  if (!found) throw new ConfigError(`CUDNN_CONV_ALGO_SEARCH must be one of ${CONV_ALGO_SEARCHES.join(", ")}, got "${env.CUDNN_CONV_ALGO_SEARCH}"`);
  return found;
}

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
    throw new ConfigError(
      `URL_INPUT_TIMEOUT_MS (${timeoutMs}) must be below VISION_TASK_TIMEOUT_MS (${visionTaskTimeoutMs}): a download outliving it would be taken for a hung worker`,
    );
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
  const visionTaskTimeoutMs = integer(env, "VISION_TASK_TIMEOUT_MS", 60_000, 0, 3_600_000);
  const maxRequestBytes = integer(env, "MAX_REQUEST_BYTES", 64 * 2 ** 20, 1024, 2 ** 31);
  // At least one largest body, or such a body could never be let in.
  const maxRequestBytesInFlight = integer(env, "MAX_REQUEST_BYTES_IN_FLIGHT", Math.max(2 ** 30, maxRequestBytes), maxRequestBytes, 2 ** 40);
  return {
    startup: {
      demoModelId,
      preloadModels: list(env, "PRELOAD_MODELS", demoModelId ? demoPackages(demoModelId).map((pkg) => pkg.modelId) : []),
    },
    http: {
      host: env.HOST || "0.0.0.0",
      port: integer(env, "PORT", 9001, 0, 65535),
      requestTimeoutMs: integer(env, "REQUEST_TIMEOUT_MS", 120_000, 0, 3_600_000),
      maxImagesPerRequest: integer(env, "MAX_IMAGES_PER_REQUEST", 256, 1, 1_000_000),
      maxRequestBytes,
      maxRequestBytesInFlight,
      serverApiKeys: apiKeys(env),
      corsAllowedOrigins: corsOrigins(env),
    },
    preprocessing: {
      disableAutoOrient: boolean(env, "DISABLE_PREPROC_AUTO_ORIENT", false),
      disableContrast: boolean(env, "DISABLE_PREPROC_CONTRAST", false),
      disableGrayscale: boolean(env, "DISABLE_PREPROC_GRAYSCALE", false),
      disableStaticCrop: boolean(env, "DISABLE_PREPROC_STATIC_CROP", false),
    },
    memory: {
      gcEveryBytes: integer(env, "GC_EVERY_MB", 64, 0, 1_000_000) * 2 ** 20,
      keepLargeBuffers: boolean(env, "MALLOC_KEEP_LARGE_BUFFERS", true),
    },
    models: {
      modelCacheDir,
      // 0: planned for the inference workers (src/pipeline/inference-lanes.ts).
      arenaSlots: integer(env, "ARENA_SLOTS", 0, 0, 8192),
      maxArenaBytes: integer(env, "MAX_ARENA_BYTES", 2 ** 32, 2 ** 20, 2 ** 32),
      unloadDrainTimeoutMs: integer(env, "UNLOAD_DRAIN_TIMEOUT_MS", 30_000, 0, 3_600_000),
      classificationSoftmax: oneOf(env, "CLASSIFICATION_SOFTMAX", ["logits", "reference"] as const, "logits"),
      rfdetrOnnxMaxResolution: integer(env, "RFDETR_ONNX_MAX_RESOLUTION", RFDETR_DEFAULT_MAX_RESOLUTION, 1, 1_000_000),
      inputEncoding: oneOf(env, "INPUT_ENCODING", ["compact", "uint8", "float32"] as const, "compact"),
    },
    admission: {
      maxQueue: integer(env, "MAX_QUEUE", 1024, 0, 1_000_000),
      maxQueueWaitMs: integer(env, "MAX_QUEUE_WAIT_MS", 5000, 0, 3_600_000),
    },
    batching: {
      maxBatchSize,
      batchMaxWaitMs: integer(env, "BATCH_MAX_WAIT_MS", 0, 0, 10_000),
      batchSizeProbe: boolean(env, "BATCH_SIZE_PROBE", true),
    },
    ort: {
      ortLibPath: env.ORT_LIB_PATH ?? "",
      executionProviders: executionProviders.length > 0 ? executionProviders : ["cpu"],
      cudaDevices: cudaDevices(env),
      ortIntraOpThreads: integer(env, "ORT_INTRA_OP_THREADS", 0, 0, 1024),
      inferenceWorkersPerDevice: integer(env, "INFERENCE_WORKERS_PER_DEVICE", 0, 0, 64),
      tensorrt: {
        // Inside the model cache so that a cache volume also keeps the engines; the dot keeps it apart from model ids.
        engineCachePath: env.TENSORRT_CACHE_PATH ?? `${modelCacheDir}/.tensorrt`,
        fp16: boolean(env, "TENSORRT_FP16", false),
      },
      cudnnConvAlgoSearch: convAlgoSearch(env),
    },
    vision: {
      numWorkers: integer(env, "NUM_WORKERS", availableParallelism(), 1, 256),
      visionTaskTimeoutMs,
      maxImagePixels: integer(env, "MAX_IMAGE_PIXELS", 50_000_000, 1, 2 ** 32),
      // Off by default: it changes the pixels the model sees (README "Configuration").
      decodeAtReducedSize: boolean(env, "DECODE_AT_REDUCED_SIZE", false),
    },
    urlInput: urlInputSettings(env, visionTaskTimeoutMs),
    roboflow: {
      apiBaseUrl: apiBaseUrl(env),
      roboflowApiKey: (env.ROBOFLOW_API_KEY || env.API_KEY || "").trim(),
      roboflowApiTimeoutMs: integer(env, "ROBOFLOW_API_REQUEST_TIMEOUT", 120, 1, 3600) * 1000,
    },
  };
}

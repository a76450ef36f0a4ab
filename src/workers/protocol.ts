// Thread protocol: every message exchanged between the main thread, vision workers, session loaders and inference workers.
//
// A message about a model names its instance (`instance`), never its id: each load of a model is a new instance with its
// own arena and sessions, so a batch or task of an instance being unloaded can never touch a newer instance of the same
// model (README "Code map": instance).
import type { WireError } from "../errors.ts";
import type { ModelSpec } from "../models/model-spec.ts";
import type { LoadedSignature } from "../models/model-io.ts";
import type { TaskParams } from "../models/task.ts";
import type { ImageInput } from "../vision/image-input.ts";
import type { PreprocessSwitches } from "../vision/preprocess.ts";
import type { PixelEncoding } from "../models/input-encoding.ts";
import type { UrlInputSettings } from "../vision/url-policy.ts";
import type { ArenaLayout } from "./arena.ts";
import type { BatchingSettings } from "./batcher.ts";
import type { MemorySettings } from "./collection-pacer.ts";
import type { ThreadMemory } from "./thread-memory.ts";

/** Control words shared by all threads of one device (an Int32Array over a SharedArrayBuffer). */
export const Control = {
  /** Bumped and notified whenever a slot becomes READY or FREE: wakes the inference loop. */
  DOORBELL: 0,
  /** Set to 1 to stop the inference loop (terminate() cannot interrupt a native call). */
  STOP: 1,
  WORDS: 2,
} as const;

/** A model instance's shared memory, as every thread sees it. */
export interface ArenaHandle {
  layout: ArenaLayout;
  buffer: SharedArrayBuffer;
}

/** Asks postprocessing to also draw the predictions on the original image (it decodes it again). */
export interface VisualizationRequest {
  image: ImageInput;
  autoOrient: boolean;
  strokeWidth: number;
  labels: boolean;
}

export interface PostprocessResult {
  /** The response body as JSON text, without `inference_id` and `time`. */
  body: string;
  /** JPEG bytes of the annotated image, when asked for. */
  visualization: Uint8Array | null;
}

/** What preprocessing learned about the image that postprocessing needs. */
export interface ImageMeta {
  width: number;
  height: number;
  staticCropApplied: boolean;
}

// ---- main -> vision worker ----
export type VisionRequest =
  | { type: "attach"; instance: number; spec: ModelSpec; arena: ArenaHandle }
  | { type: "detach"; instance: number }
  /** Downloads a `url` image (before the request claims an arena slot); answers its encoded bytes. */
  | { type: "fetch"; taskId: number; image: ImageInput }
  | { type: "preprocess"; taskId: number; instance: number; slot: number; image: ImageInput; switches: PreprocessSwitches }
  /** Reads the slot's outputs into a response; the slot stays INFERRED (the main thread releases it). */
  | { type: "postprocess"; taskId: number; instance: number; slot: number; meta: ImageMeta; params: TaskParams; visualize: VisualizationRequest | null }
  /** Reads the worker's own memory (for /metrics). */
  | { type: "memory"; taskId: number };

// ---- vision worker -> main ----
export type VisionReply =
  | { type: "ready" }
  | { type: "done"; taskId: number; result: ImageMeta | PostprocessResult | Uint8Array | ThreadMemory }
  | { type: "failed"; taskId: number; error: WireError };

/** The vision section of the configuration: the vision pool and its workers. */
export interface VisionSettings {
  /** Vision workers (decode, preprocess, postprocess). */
  numWorkers: number;
  /** A vision task running longer than this means a hung worker: it is replaced and its requests fail with 500 (0 = never). */
  visionTaskTimeoutMs: number;
  /** Largest image accepted, in pixels (width x height, read from the header before decoding); larger ones get 400. */
  maxImagePixels: number;
  /** DECODE_AT_REDUCED_SIZE: decode a JPEG at 1/2, 1/4 or 1/8 of its size when the model input still fits (src/vision/decode-reduction.ts). */
  decodeAtReducedSize: boolean;
}

export interface VisionInit {
  control: SharedArrayBuffer;
  vision: VisionSettings;
  /** The URL image policy and download limits (ALLOW_URL_INPUT and friends). */
  urlInput: UrlInputSettings;
  memory: MemorySettings;
}

/** The ONNX Runtime section of the configuration: libraries, providers, devices and threads. */
export interface OrtSettings {
  /** Explicit path to libonnxruntime.so (or its folder); empty = native-bindings/locate.ts's default (the GPU runtime, else the npm package's). */
  ortLibPath: string;
  /** Execution providers in order of preference (`tensorrt`, `cuda`, `cpu`). */
  executionProviders: string[];
  /** GPU ordinals, `inferenceWorkersPerDevice` inference workers each (the CPU runs as device 0). */
  cudaDevices: number[];
  /** ONNX Runtime intra-op threads per session (0 = planned by src/pipeline/inference-lanes.ts). */
  ortIntraOpThreads: number;
  /** Inference workers per device, each with its own sessions over the same arenas (0 = 1 on a GPU, up to 4 on the CPU). */
  inferenceWorkersPerDevice: number;
  tensorrt: {
    /** Where TensorRT keeps built engines across restarts; empty = rebuild them at every start. */
    engineCachePath: string;
    /** Lets TensorRT use float16 kernels. */
    fp16: boolean;
  };
  /** How cuDNN picks convolution algorithms on the CUDA provider (CUDNN_CONV_ALGO_SEARCH). */
  cudnnConvAlgoSearch: "HEURISTIC" | "EXHAUSTIVE" | "DEFAULT";
}

// ---- main -> inference worker and session loader (the same settings to both) ----
export interface InferenceInit {
  control: SharedArrayBuffer;
  ort: OrtSettings;
  batching: BatchingSettings;
  /** The device this worker runs on. */
  deviceId: number;
  /** Its sessions' intra-op threads, as the lane plan gives them (ort.ortIntraOpThreads resolved). */
  intraOpThreads: number;
}

/** A session detached by the session loader (OrtSession.detach), for the inference worker to adopt. */
export interface SessionHandle {
  handle: number;
  activeProvider: string;
}

/** What the inference side needs to batch an instance's arena. */
export interface ArenaHandOver {
  instance: number;
  arena: ArenaHandle;
  batch: { capacity: number; fixed: boolean };
  inputName: string;
  outputNames: string[];
}

// ---- main -> session loader ----
export type SessionLoaderRequest =
  /**
   * Creates a session for the weights at `path`; `label` (the model id) names it in the logs and in errors. With
   * `pixelEncoding`, the model is rewritten to take such pixels and normalise them itself (models/onnx/pixel-input.ts).
   */
  | { type: "load"; requestId: number; instance: number; label: string; path: string; probeInput: { width: number; height: number }; pixelEncoding: PixelEncoding | null }
  /** The instance's arena exists: probe batch sizes over it (BATCH_SIZE_PROBE), then detach the session. */
  | ({ type: "handOver"; requestId: number } & ArenaHandOver)
  /** Releases a loaded session that will not be handed over (its instance failed to set up or was unloaded). */
  | { type: "discard"; instance: number }
  /** Releases a session handed over too late: its instance was unloaded meanwhile. */
  | { type: "release"; session: SessionHandle }
  | { type: "stop" };

// ---- session loader -> main ----
export type SessionLoaderReply =
  /** The worker's script has run: it can now receive InferenceInit. */
  | { type: "started" }
  | { type: "ready"; ortVersion: string; availableProviders: string[] }
  /** `fallbacks`: why each provider preferred to `activeProvider` did not start or did not run (provider-fallback.ts). */
  | { type: "loaded"; requestId: number; session: LoadedSignature; activeProvider: string; fallbacks: string[] }
  | { type: "loadFailed"; requestId: number; error: WireError }
  /**
   * `session` is null when no session was held for the instance (discarded meanwhile); `batchCapacity` is the probed cap.
   * The session's provider may differ from the one loaded when the probe failed on a GPU provider; `fallbacks` says why.
   */
  | { type: "handedOver"; requestId: number; session: SessionHandle | null; batchCapacity: number; fallbacks: string[] }
  | { type: "stopped" };

// ---- main -> inference worker ----
export type InferenceRequest =
  /** Adopts the session and batches the arena's READY slots from now on, `batch.capacity` at most. */
  ({ type: "attach"; session: SessionHandle } & ArenaHandOver) | { type: "unload"; instance: number };

/** One ONNX Runtime call over slots start..start+count-1 of an instance's arena. */
export interface BatchReport {
  instance: number;
  start: number;
  count: number;
  /** The tensor's batch size (more than `count` for a padded fixed-size batch). */
  rows: number;
  inferMs: number;
}

// ---- inference worker -> main ----
export type InferenceReply =
  /** The worker's script has run: it can now receive InferenceInit. */
  | { type: "started" }
  | { type: "ready"; ortVersion: string; availableProviders: string[] }
  | ({ type: "inferred" } & BatchReport)
  | { type: "batchFailed"; instance: number; start: number; count: number; error: WireError }
  | { type: "stopped" };

// Thread protocol: every message exchanged between the main thread, vision workers, session loaders and inference workers.
import type { WireError } from "../errors.ts";
import type { DetectionParams } from "../models/families/object-detection.ts";
import type { PreprocessConfig } from "../vision/preprocess-config.ts";
import type { UrlInputSettings } from "../vision/url-policy.ts";
import type { ArenaLayout } from "./arena.ts";

/** Control words shared by all threads of one device (an Int32Array over a SharedArrayBuffer). */
export const Control = {
  /** Bumped and notified whenever a slot becomes READY or FREE: wakes the inference loop. */
  DOORBELL: 0,
  /** Set to 1 to stop the inference loop (terminate() cannot interrupt a native call). */
  STOP: 1,
  WORDS: 2,
} as const;

export type TaskType = "object-detection" | "instance-segmentation" | "classification";

/** How one image's raw outputs are laid out, decided once at load from the output shapes. */
export type OutputLayout =
  /** YOLOv8/v9/v11/v12 detection: output 0 is (4 + classes) x anchors, channel-major. */
  | { kind: "yolov8-detection"; numClasses: number; numAnchors: number }
  /** YOLOv5/v7 detection: output `output` is anchors x (5 + classes) rows: cx, cy, w, h, objectness, class scores. */
  | { kind: "yolov5-detection"; numClasses: number; numAnchors: number; output: number }
  /** YOLO-NAS: boxes anchors x 4 (x1, y1, x2, y2) and class scores anchors x classes, in two outputs. */
  | { kind: "yolonas-detection"; numClasses: number; numAnchors: number; boxesOutput: number; scoresOutput: number }
  /** YOLOv10 / YOLO26 end-to-end (NMS-free): output 0 is rows x 6 (x1, y1, x2, y2, score, class); v10 caps at max_detections, 26 does not. */
  | { kind: "end-to-end-detection"; family: "yolov10" | "yolo26"; numClasses: number; numRows: number }
  /** YOLOv8-style ((4 + C + 32) x N) or YOLOv5-style (N x (5 + C + 32)) predictions plus 32 x mh x mw prototypes. */
  | { kind: "segmentation"; family: "yolov8" | "yolov5"; numClasses: number; numAnchors: number; predictionsOutput: number; protosOutput: number; protoHeight: number; protoWidth: number }
  /** One score per class; multi-label models report every class's score. */
  | { kind: "classification"; numClasses: number; multiLabel: boolean };

/** What every worker needs to know about a loaded model to work on its slots. */
export interface ModelSpec {
  key: string;
  taskType: TaskType;
  layout: OutputLayout;
  classNames: string[];
  /** Class name -> "#RRGGBB" from environment.json COLORS (null: the default palette), for visualisations. */
  colors: Record<string, string> | null;
  preprocessing: PreprocessConfig;
  input: { name: string; width: number; height: number; mean: [number, number, number]; std: [number, number, number] };
  arena: { layout: ArenaLayout; buffer: SharedArrayBuffer };
  batch: { capacity: number; fixed: boolean };
}

export interface PreprocessFlags {
  disableAutoOrient: boolean;
  disableContrast: boolean;
  disableGrayscale: boolean;
  disableStaticCrop: boolean;
}

export type MaskDecodeMode = "accurate" | "fast" | "tradeoff";

/** Per-request postprocessing parameters, by task. */
export type TaskParams =
  | { task: "object-detection"; detection: DetectionParams }
  | { task: "instance-segmentation"; detection: DetectionParams; maskDecodeMode: MaskDecodeMode; tradeoffFactor: number }
  | { task: "classification"; confidence: number };

export interface ImageInput {
  type: string;
  value?: unknown;
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
  | { type: "attach"; model: ModelSpec }
  | { type: "detach"; key: string }
  /** Downloads a `url` image (before the request claims an arena slot); answers its encoded bytes. */
  | { type: "fetch"; taskId: number; image: ImageInput }
  | { type: "preprocess"; taskId: number; key: string; slot: number; image: ImageInput; flags: PreprocessFlags }
  | { type: "postprocess"; taskId: number; key: string; slot: number; meta: ImageMeta; params: TaskParams; visualize: VisualizationRequest | null };

// ---- vision worker -> main ----
export type VisionReply =
  | { type: "ready" }
  | { type: "done"; taskId: number; result: ImageMeta | PostprocessResult | Uint8Array }
  | { type: "failed"; taskId: number; error: WireError };

export interface VisionInit {
  control: SharedArrayBuffer;
  /** MAX_IMAGE_PIXELS: larger images are refused from their header, before decoding. */
  maxImagePixels?: number;
  /** The URL image policy and download limits (ALLOW_URL_INPUT and friends); absent = the defaults. */
  urlInput?: UrlInputSettings;
  /** GC_EVERY_MB in bytes: collect after this many bytes of images; absent or 0 = the engine decides. */
  gcEveryBytes?: number;
}

// ---- main -> inference worker and session loader (the same settings to both) ----
export interface InferenceInit {
  control: SharedArrayBuffer;
  ortLibPath: string;
  executionProviders: string[];
  intraOpThreads: number;
  deviceId: number;
  batchMaxWaitMs: number;
  /** Largest batch of a dynamic-batch model: the top of the TensorRT engine's shape range. */
  maxBatchSize: number;
  /** Time batch sizes when a dynamic-batch model is handed over and cap its batches where larger ones stop paying (BATCH_SIZE_PROBE). */
  batchProbe: boolean;
  tensorrt: { engineCachePath: string; fp16: boolean };
}

export interface TensorDescription {
  name: string;
  elementType: string;
  shape: (number | string)[];
}

export interface LoadedSession {
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  /** One image's concrete output shapes (batch axis removed), learned from a probe run. */
  outputShapes: number[][];
  metadata: Record<string, string>;
}

/** A session detached by the session loader (OrtSession.detach), for the inference worker to adopt. */
export interface SessionHandle {
  handle: number;
  activeProvider: string;
}

export interface ArenaHandOver {
  key: string;
  arena: { layout: ArenaLayout; buffer: SharedArrayBuffer };
  batch: { capacity: number; fixed: boolean };
  inputName: string;
  outputNames: string[];
}

// ---- main -> session loader ----
export type SessionLoaderRequest =
  | { type: "load"; requestId: number; key: string; path: string; probeInput: { width: number; height: number } }
  /** The model's arena exists: probe batch sizes over it (BATCH_SIZE_PROBE), then detach the session. */
  | ({ type: "handOver"; requestId: number } & ArenaHandOver)
  /** Releases a loaded session that will not be handed over (its model failed to set up or was unloaded). */
  | { type: "discard"; key: string }
  /** Releases a session handed over too late: its model was unloaded meanwhile. */
  | { type: "release"; session: SessionHandle }
  | { type: "stop" };

// ---- session loader -> main ----
export type SessionLoaderReply =
  /** The worker's script has run: it can now receive InferenceInit. */
  | { type: "started" }
  | { type: "ready"; ortVersion: string; availableProviders: string[] }
  | { type: "loaded"; requestId: number; session: LoadedSession; activeProvider: string }
  | { type: "loadFailed"; requestId: number; error: WireError }
  /** `session` is null when no session was held for the key (discarded meanwhile); `batchCapacity` is the probed cap. */
  | { type: "handedOver"; requestId: number; session: SessionHandle | null; batchCapacity: number }
  | { type: "stopped" };

// ---- main -> inference worker ----
export type InferenceRequest =
  /** Adopts the session and batches the arena's READY slots from now on, `batch.capacity` at most. */
  | ({ type: "attach"; session: SessionHandle } & ArenaHandOver)
  | { type: "unload"; key: string };

// ---- inference worker -> main ----
export type InferenceReply =
  /** The worker's script has run: it can now receive InferenceInit. */
  | { type: "started" }
  | { type: "ready"; ortVersion: string; availableProviders: string[] }
  | { type: "inferred"; key: string; start: number; count: number; rows: number; inferMs: number }
  | { type: "batchFailed"; key: string; start: number; count: number; error: WireError }
  | { type: "stopped" };

// Inference request handling shared by the /infer/* routes and the legacy route: task checks, fan-out of image lists, response assembly.
import { requestDeadline, untilAborted } from "../deadline.ts";
import { HttpError } from "../errors.ts";
import { DETECTION_DEFAULTS, ROUTE_OF_TASK, type DetectionParams, type MaskDecodeMode, type MaskFormat, type MaskParams, type TaskParams, type TaskType } from "../models/task.ts";
import type { ModelInstance } from "../pipeline/model-instance.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import type { ImageInput } from "../vision/image-input.ts";
import type { PreprocessSwitches } from "../vision/preprocess.ts";
import type { PostprocessResult } from "../workers/protocol.ts";
import type { HttpSettings } from "./settings.ts";

export interface InferenceCall {
  modelId: string;
  task: TaskType;
  image: ImageInput | ImageInput[];
  /** Becomes `inference_id`; a new UUID per image when absent. */
  id: string | null;
  switches: PreprocessSwitches;
  params: TaskParams;
  visualization: { strokeWidth: number; labels: boolean } | null;
  /** Aborts when the client goes away (the HTTP request's signal): its images then cost no inference. */
  clientSignal?: AbortSignal;
  /** Roboflow API key for downloading the model when it is not in the cache (see requestApiKey). */
  apiKey?: string | null;
}

export interface InferenceAnswer {
  /** One per input image, in order. */
  results: PostprocessResult[];
  seconds: number;
  isList: boolean;
  ids: string[];
}

/** "best" and "default" are accepted for compatibility; like the reference's ordinary models they mean 0.4. */
export function confidenceValue(confidence: number | string | null | undefined): number {
  return typeof confidence === "number" ? confidence : DETECTION_DEFAULTS.confidence;
}

export function detectionParams(body: {
  confidence?: number | string | null;
  iou_threshold?: number | null;
  class_agnostic_nms?: boolean | null;
  max_detections?: number | null;
  class_filter?: string[] | null;
}): DetectionParams {
  return {
    confidence: confidenceValue(body.confidence),
    iouThreshold: body.iou_threshold ?? DETECTION_DEFAULTS.iouThreshold,
    classAgnosticNms: body.class_agnostic_nms ?? false,
    maxDetections: body.max_detections ?? DETECTION_DEFAULTS.maxDetections,
    classFilter: body.class_filter ?? null,
  };
}

const MASK_DECODE_MODES: readonly string[] = ["accurate", "fast", "tradeoff"];
const MASK_FORMATS: readonly string[] = ["polygon", "rle"];

/** Instance segmentation's mask fields: the reference's 400 for decoding arguments it cannot use, 422 for an unknown mask format. */
export function maskParams(mode: string | null | undefined, tradeoffFactor: number | null | undefined, format: string | null | undefined): MaskParams {
  const maskDecodeMode = mode ?? "accurate";
  const factor = tradeoffFactor ?? 0;
  if (!MASK_DECODE_MODES.includes(maskDecodeMode) || !(factor >= 0 && factor <= 1)) {
    throw new HttpError(400, "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']");
  }
  const maskFormat = format ?? "polygon";
  if (!MASK_FORMATS.includes(maskFormat)) throw new HttpError(422, `Invalid request: response_mask_format must be polygon or rle, got ${JSON.stringify(format)}`);
  return { maskDecodeMode: maskDecodeMode as MaskDecodeMode, tradeoffFactor: factor, maskFormat: maskFormat as MaskFormat };
}

/** Keypoint detection refuses `confidence: "best"` as the reference's request validator does (docs/model-families.md §4.2). */
export function keypointDetectionParams(
  body: Parameters<typeof detectionParams>[0] & { keypoint_confidence?: number | null },
): Extract<TaskParams, { task: "keypoint-detection" }> {
  if (body.confidence === "best") {
    throw new HttpError(
      422,
      'Value error, confidence="best" is not supported for keypoint detection — model eval does not yet produce per-class thresholds for this task. Use a float or "default".',
    );
  }
  return { task: "keypoint-detection", detection: detectionParams(body), keypointConfidence: body.keypoint_confidence ?? 0 };
}

/** The request's preprocessing switches, OR-ed with the server-wide kill switches. */
export function preprocessSwitches(
  body: { disable_preproc_auto_orient?: boolean; disable_preproc_contrast?: boolean; disable_preproc_grayscale?: boolean; disable_preproc_static_crop?: boolean },
  serverWide: PreprocessSwitches,
): PreprocessSwitches {
  const c = serverWide;
  return {
    disableAutoOrient: (body.disable_preproc_auto_orient ?? false) || c.disableAutoOrient,
    disableContrast: (body.disable_preproc_contrast ?? false) || c.disableContrast,
    disableGrayscale: (body.disable_preproc_grayscale ?? false) || c.disableGrayscale,
    disableStaticCrop: (body.disable_preproc_static_crop ?? false) || c.disableStaticCrop,
  };
}

/**
 * The model for a request, loading (and downloading) it when needed. A request waiting for a model that is still
 * loading gives up when `signal` aborts (its deadline: 504); the load itself goes on for everyone else.
 */
export function modelFor(pipeline: Pipeline, modelId: string, apiKey: string | null | undefined, signal: AbortSignal | undefined): Promise<ModelInstance> {
  return untilAborted(pipeline.host.get(modelId, apiKey), signal);
}

/** Runs every image of a call through the pipeline (each image its own slot, so they batch with everyone's). */
export async function runInference(pipeline: Pipeline, settings: HttpSettings, call: InferenceCall): Promise<InferenceAnswer> {
  const started = performance.now();
  const images = Array.isArray(call.image) ? call.image : [call.image];
  const cap = settings.maxImagesPerRequest;
  if (images.length > cap) {
    throw new HttpError(413, `Too many images: this server accepts at most ${cap} images per request (MAX_IMAGES_PER_REQUEST); send ${images.length} as several requests.`);
  }
  // The deadline covers waiting for the model to load too.
  const { signal, clear } = requestDeadline(settings.requestTimeoutMs, call.clientSignal);
  try {
    const instance = await modelFor(pipeline, call.modelId, call.apiKey, signal);
    const task = instance.spec.taskType;
    if (task !== call.task) {
      throw new HttpError(400, `Model ${call.modelId} is a ${task} model: send it to ${ROUTE_OF_TASK[task]} (this route serves ${call.task} models).`);
    }
    const results = await pipeline.dispatcher.infer(instance, { images, switches: call.switches, params: call.params, visualization: call.visualization, signal });
    return {
      results,
      seconds: (performance.now() - started) / 1000,
      isList: Array.isArray(call.image),
      ids: images.map(() => call.id ?? crypto.randomUUID()),
    };
  } finally {
    clear();
  }
}

/** The JSON response: a worker-built body per image, prefixed with the fields only the main thread knows. */
export function jsonResponse(answer: InferenceAnswer): Response {
  const bodies = answer.results.map((result, i) => {
    const visualization = result.visualization ? `"visualization":"${Buffer.from(result.visualization).toString("base64")}",` : "";
    return `{${visualization}"inference_id":${JSON.stringify(answer.ids[i])},"time":${answer.seconds},${result.body.slice(1)}`;
  });
  const text = answer.isList ? `[${bodies.join(",")}]` : bodies[0]!;
  return new Response(text, { headers: { "content-type": "application/json" } });
}

// Inference request handling shared by the /infer/* routes and the legacy route: task checks, fan-out of image lists, response assembly.
import { requestSignal, untilAborted } from "../deadline.ts";
import { InferenceError } from "../errors.ts";
import type { DetectionParams } from "../models/families/object-detection.ts";
import type { LoadedModel } from "../models/registry.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import type { ImageInput, MaskDecodeMode, PostprocessResult, PreprocessFlags, TaskParams, TaskType, VisualizationRequest } from "../pipeline/protocol.ts";

export interface InferenceCall {
  modelId: string;
  task: TaskType;
  image: ImageInput | ImageInput[];
  /** Becomes `inference_id`; a new UUID per image when absent. */
  id: string | null;
  flags: PreprocessFlags;
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

const DEFAULT_CONFIDENCE = 0.4;
const ROUTE_OF_TASK: Record<TaskType, string> = {
  "object-detection": "/infer/object_detection",
  "instance-segmentation": "/infer/instance_segmentation",
  classification: "/infer/classification",
};

/** "best" and "default" are accepted for compatibility; like the reference's ordinary models they mean 0.4. */
export function confidenceValue(confidence: number | string | null | undefined): number {
  return typeof confidence === "number" ? confidence : DEFAULT_CONFIDENCE;
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
    iouThreshold: body.iou_threshold ?? 0.3,
    classAgnosticNms: body.class_agnostic_nms ?? false,
    maxDetections: body.max_detections ?? 300,
    classFilter: body.class_filter ?? null,
  };
}

const MASK_DECODE_MODES: readonly string[] = ["accurate", "fast", "tradeoff"];

/** The reference's 400 for mask decoding arguments it cannot use. */
export function maskDecodeParams(mode: string | null | undefined, tradeoffFactor: number | null | undefined): { maskDecodeMode: MaskDecodeMode; tradeoffFactor: number } {
  const maskDecodeMode = mode ?? "accurate";
  const factor = tradeoffFactor ?? 0;
  if (!MASK_DECODE_MODES.includes(maskDecodeMode) || !(factor >= 0 && factor <= 1)) {
    throw new InferenceError(
      400,
      "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']",
    );
  }
  return { maskDecodeMode: maskDecodeMode as MaskDecodeMode, tradeoffFactor: factor };
}

/** The request's preprocessing switches, OR-ed with the server-wide kill switches. */
export function preprocessFlags(
  body: { disable_preproc_auto_orient?: boolean; disable_preproc_contrast?: boolean; disable_preproc_grayscale?: boolean; disable_preproc_static_crop?: boolean },
  pipeline: Pipeline,
): PreprocessFlags {
  const c = pipeline.config;
  return {
    disableAutoOrient: (body.disable_preproc_auto_orient ?? false) || c.disablePreprocAutoOrient,
    disableContrast: (body.disable_preproc_contrast ?? false) || c.disablePreprocContrast,
    disableGrayscale: (body.disable_preproc_grayscale ?? false) || c.disablePreprocGrayscale,
    disableStaticCrop: (body.disable_preproc_static_crop ?? false) || c.disablePreprocStaticCrop,
  };
}

/**
 * The model for a request, loading (and downloading) it when needed. A request waiting for a model that is still
 * loading gives up when `signal` aborts (its deadline: 504); the load itself goes on for everyone else.
 */
export function modelFor(pipeline: Pipeline, modelId: string, apiKey: string | null | undefined, signal: AbortSignal | undefined): Promise<LoadedModel> {
  const loading = pipeline.registry.get(modelId, apiKey);
  return signal ? untilAborted(loading, signal) : loading;
}

/** Runs every image of a call through the pipeline (each image its own slot, so they batch with everyone's). */
export async function runInference(pipeline: Pipeline, call: InferenceCall): Promise<InferenceAnswer> {
  const started = performance.now();
  // The deadline covers waiting for the model to load too.
  const deadline = requestSignal(pipeline.config.requestTimeoutMs, call.clientSignal);
  let model: LoadedModel;
  try {
    model = await modelFor(pipeline, call.modelId, call.apiKey, deadline.signal);
  } catch (error) {
    deadline.clear();
    throw error;
  }
  const { signal, clear } = deadline;
  if (model.spec.taskType !== call.task) {
    clear();
    throw new InferenceError(
      400,
      `Model ${call.modelId} is a ${model.spec.taskType} model: send it to ${ROUTE_OF_TASK[model.spec.taskType]} (this route serves ${call.task} models).`,
    );
  }
  const images = Array.isArray(call.image) ? call.image : [call.image];
  const results = await Promise.all(
    images.map((image) => {
      const visualize: VisualizationRequest | null = call.visualization
        ? { image, autoOrient: model.spec.preprocessing.autoOrient && !call.flags.disableAutoOrient, ...call.visualization }
        : null;
      return pipeline.dispatcher.infer(model, image, call.flags, call.params, visualize, signal);
    }),
  ).finally(clear);
  return {
    results,
    seconds: (performance.now() - started) / 1000,
    isList: Array.isArray(call.image),
    ids: images.map(() => call.id ?? crypto.randomUUID()),
  };
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

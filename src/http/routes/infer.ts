// Inference routes: /infer/object_detection, answered through the parallel pipeline.
import { Elysia } from "elysia";
import { InferenceError } from "../../errors.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import type { DetectionParams } from "../../models/families/object-detection.ts";
import type { PreprocessFlags } from "../../pipeline/protocol.ts";
import { ErrorResponse, ObjectDetectionRequest, ObjectDetectionResponse } from "../schemas.ts";

type DetectionBody = typeof ObjectDetectionRequest.static;

const DEFAULT_CONFIDENCE = 0.4;

function detectionParams(body: DetectionBody): DetectionParams {
  const confidence = typeof body.confidence === "number" ? body.confidence : DEFAULT_CONFIDENCE;
  return {
    confidence,
    iouThreshold: body.iou_threshold ?? 0.3,
    classAgnosticNms: body.class_agnostic_nms ?? false,
    maxDetections: body.max_detections ?? 300,
    classFilter: body.class_filter ?? null,
  };
}

/** The request's preprocessing switches, OR-ed with the server-wide kill switches. */
function preprocessFlags(body: DetectionBody, pipeline: Pipeline): PreprocessFlags {
  const c = pipeline.config;
  return {
    disableAutoOrient: (body.disable_preproc_auto_orient ?? false) || c.disablePreprocAutoOrient,
    disableContrast: (body.disable_preproc_contrast ?? false) || c.disablePreprocContrast,
    disableGrayscale: (body.disable_preproc_grayscale ?? false) || c.disablePreprocGrayscale,
    disableStaticCrop: (body.disable_preproc_static_crop ?? false) || c.disablePreprocStaticCrop,
  };
}

/** Prefixes a worker-built body (`{"image":…,"predictions":…}`) with the fields only the main thread knows. */
function withRequestFields(body: string, inferenceId: string, seconds: number): string {
  return `{"inference_id":${JSON.stringify(inferenceId)},"time":${seconds},${body.slice(1)}`;
}

export function inferRoutes(pipeline: Pipeline) {
  return new Elysia().post(
    "/infer/object_detection",
    async ({ body }) => {
      const started = performance.now();
      if (body.visualize_predictions) throw new InferenceError(501, "visualize_predictions is not supported by this server yet.");
      const model = await pipeline.registry.get(body.model_id);
      if (model.spec.taskType !== "object-detection") {
        throw new InferenceError(400, `Model ${body.model_id} is a ${model.spec.taskType} model, not an object-detection one.`);
      }
      const flags = preprocessFlags(body, pipeline);
      const params = detectionParams(body);
      const images = Array.isArray(body.image) ? body.image : [body.image];
      const results = await Promise.all(images.map((image) => pipeline.dispatcher.detect(model, image, flags, params)));
      const seconds = (performance.now() - started) / 1000;
      const responses = results.map((r) => withRequestFields(r, body.id ?? crypto.randomUUID(), seconds));
      const text = Array.isArray(body.image) ? `[${responses.join(",")}]` : responses[0]!;
      return new Response(text, { headers: { "content-type": "application/json" } });
    },
    {
      body: ObjectDetectionRequest,
      response: { 200: ObjectDetectionResponse, 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse },
      detail: {
        tags: ["Inference"],
        summary: "Object detection",
        description:
          "Detects objects in one image or a list of images. Each image is decoded and preprocessed by a vision worker, batched with other requests for the same model, run through ONNX Runtime, and postprocessed (confidence filter, the reference's NMS, rescaling to the original image).",
      },
    },
  );
}

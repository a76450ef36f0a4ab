// Inference routes: /infer/object_detection, /infer/instance_segmentation, /infer/classification.
import { Elysia } from "elysia";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import { requestApiKey } from "../roboflow-key.ts";
import { confidenceValue, detectionParams, jsonResponse, maskDecodeParams, preprocessFlags, runInference } from "../inference.ts";
import {
  ClassificationRequest,
  ClassificationResponse,
  ErrorResponse,
  errorAnswers,
  InstanceSegmentationRequest,
  InstanceSegmentationResponse,
  ObjectDetectionRequest,
  ObjectDetectionResponse,
} from "../schemas.ts";

// A model not in the cache is downloaded first: the Roboflow API's refusals and failures come back too.
const ERRORS = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, ...errorAnswers({ body: true, download: true, inference: true }) };

const PIPELINE_NOTE =
  "Each image is decoded and preprocessed by a vision worker into shared memory, batched with other requests for the same model, run through ONNX Runtime, and postprocessed by a vision worker.";

function visualization(body: { visualize_predictions?: boolean; visualization_stroke_width?: number | null; visualization_labels?: boolean | null }) {
  return body.visualize_predictions ? { strokeWidth: body.visualization_stroke_width ?? 1, labels: body.visualization_labels ?? false } : null;
}

export function inferRoutes(pipeline: Pipeline) {
  return new Elysia()
    .post(
      "/infer/object_detection",
      async ({ body, request }) =>
        jsonResponse(
          await runInference(pipeline, {
            modelId: body.model_id,
            task: "object-detection",
            image: body.image,
            id: body.id ?? null,
            flags: preprocessFlags(body, pipeline),
            params: { task: "object-detection", detection: detectionParams(body) },
            visualization: visualization(body),
            clientSignal: request.signal,
            apiKey: requestApiKey(pipeline.config, request, body.api_key, "header-first"),
          }),
        ),
      {
        body: ObjectDetectionRequest,
        response: { 200: ObjectDetectionResponse, ...ERRORS },
        detail: {
          tags: ["Inference"],
          summary: "Object detection",
          description: `Boxes for one image or a list of images. ${PIPELINE_NOTE} Postprocessing: confidence filter, the reference's NMS, rescaling to the original image.`,
        },
      },
    )
    .post(
      "/infer/instance_segmentation",
      async ({ body, request }) =>
        jsonResponse(
          await runInference(pipeline, {
            modelId: body.model_id,
            task: "instance-segmentation",
            image: body.image,
            id: body.id ?? null,
            flags: preprocessFlags(body, pipeline),
            params: { task: "instance-segmentation", detection: detectionParams(body), ...maskDecodeParams(body.mask_decode_mode, body.tradeoff_factor) },
            visualization: visualization(body),
            clientSignal: request.signal,
            apiKey: requestApiKey(pipeline.config, request, body.api_key, "header-first"),
          }),
        ),
      {
        body: InstanceSegmentationRequest,
        response: { 200: InstanceSegmentationResponse, ...ERRORS },
        detail: {
          tags: ["Inference"],
          summary: "Instance segmentation",
          description: `Boxes and one polygon per instance (YOLOv8- and YOLOv5-style models with prototype masks). ${PIPELINE_NOTE} Mask decoding runs in the vision workers.`,
        },
      },
    )
    .post(
      "/infer/classification",
      async ({ body, request }) =>
        jsonResponse(
          await runInference(pipeline, {
            modelId: body.model_id,
            task: "classification",
            image: body.image,
            id: body.id ?? null,
            flags: preprocessFlags(body, pipeline),
            params: { task: "classification", confidence: confidenceValue(body.confidence) },
            visualization: visualization(body),
            clientSignal: request.signal,
            apiKey: requestApiKey(pipeline.config, request, body.api_key, "header-first"),
          }),
        ),
      {
        body: ClassificationRequest,
        response: { 200: ClassificationResponse, ...ERRORS },
        detail: {
          tags: ["Inference"],
          summary: "Classification",
          description: `Class probabilities for one image or a list of images; images are batched across the model's batch axis. ${PIPELINE_NOTE} Softmax is applied only to raw logits.`,
        },
      },
    );
}

// Inference routes: /infer/object_detection, /infer/instance_segmentation, /infer/keypoints_detection, /infer/classification, made by one handler factory.
import { Elysia, type TSchema } from "elysia";
import type { TaskParams, TaskType } from "../../models/task.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import type { ImageInput } from "../../vision/image-input.ts";
import { requestApiKey } from "../roboflow-key.ts";
import type { AppSettings } from "../settings.ts";
import { confidenceValue, detectionParams, jsonResponse, keypointDetectionParams, maskParams, preprocessSwitches, runInference } from "../inference.ts";
import {
  ClassificationRequest,
  ClassificationResponse,
  ErrorResponse,
  errorAnswers,
  InstanceSegmentationRequest,
  InstanceSegmentationResponse,
  KeypointsDetectionRequest,
  KeypointsDetectionResponse,
  ObjectDetectionRequest,
  ObjectDetectionResponse,
} from "../schemas.ts";

// A model not in the cache is downloaded first: the Roboflow API's refusals and failures come back too.
const ERRORS = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, ...errorAnswers({ body: true, download: true, inference: true }) };

const PIPELINE_NOTE =
  "Each image is decoded and preprocessed by a vision worker into shared memory, batched with other requests for the same model, run through ONNX Runtime, and postprocessed by a vision worker.";

/** The fields every /infer/* body has (validated by its schema). */
interface InferBody {
  model_id: string;
  image: ImageInput | ImageInput[];
  id?: string | null;
  api_key?: string | null;
  visualize_predictions?: boolean;
  visualization_stroke_width?: number | null;
  visualization_labels?: boolean | null;
  disable_preproc_auto_orient?: boolean;
  disable_preproc_contrast?: boolean;
  disable_preproc_grayscale?: boolean;
  disable_preproc_static_crop?: boolean;
}

/** One /infer/* route: its task, its body schema and how its body becomes the task's parameters. */
interface InferRoute<Body extends InferBody> {
  path: string;
  task: TaskType;
  body: TSchema;
  response: TSchema;
  summary: string;
  description: string;
  params: (body: Body) => TaskParams;
}

function inferRoute<Body extends InferBody>(pipeline: Pipeline, settings: AppSettings, route: InferRoute<Body>) {
  return new Elysia().post(
    route.path,
    async ({ body, request }) => {
      const fields = body as Body;
      return jsonResponse(
        await runInference(pipeline, settings.http, {
          modelId: fields.model_id,
          task: route.task,
          image: fields.image,
          id: fields.id ?? null,
          switches: preprocessSwitches(fields, settings.preprocessing),
          params: route.params(fields),
          visualization: fields.visualize_predictions ? { strokeWidth: fields.visualization_stroke_width ?? 1, labels: fields.visualization_labels ?? false } : null,
          clientSignal: request.signal,
          apiKey: requestApiKey(settings.http, request, fields.api_key, "header-first"),
        }),
      );
    },
    {
      body: route.body,
      response: { 200: route.response, ...ERRORS },
      detail: { tags: ["Inference"], summary: route.summary, description: `${route.description} ${PIPELINE_NOTE}` },
    },
  );
}

export function inferRoutes(pipeline: Pipeline, settings: AppSettings) {
  return new Elysia()
    .use(
      inferRoute<typeof ObjectDetectionRequest.static>(pipeline, settings, {
        path: "/infer/object_detection",
        task: "object-detection",
        body: ObjectDetectionRequest,
        response: ObjectDetectionResponse,
        summary: "Object detection",
        description: "Boxes for one image or a list of images. Postprocessing: confidence filter, the reference's NMS, rescaling to the original image.",
        params: (body) => ({ task: "object-detection", detection: detectionParams(body) }),
      }),
    )
    .use(
      inferRoute<typeof InstanceSegmentationRequest.static>(pipeline, settings, {
        path: "/infer/instance_segmentation",
        task: "instance-segmentation",
        body: InstanceSegmentationRequest,
        response: InstanceSegmentationResponse,
        summary: "Instance segmentation",
        description:
          "Boxes and one polygon (or a COCO RLE mask) per instance: YOLOv8/v11, YOLOv5/v7 and YOLO26 segmenters with prototype masks, RF-DETR segmenters with per-query masks. Mask decoding runs in the vision workers.",
        params: (body) => ({
          task: "instance-segmentation",
          detection: detectionParams(body),
          masks: maskParams(body.mask_decode_mode, body.tradeoff_factor, body.response_mask_format),
        }),
      }),
    )
    .use(
      inferRoute<typeof KeypointsDetectionRequest.static>(pipeline, settings, {
        path: "/infer/keypoints_detection",
        task: "keypoint-detection",
        body: KeypointsDetectionRequest,
        response: KeypointsDetectionResponse,
        summary: "Keypoint detection",
        description:
          "Boxes, each with its keypoints named from the model's keypoints_metadata.json (YOLOv8/v11 and YOLO26 pose models). Postprocessing: confidence filter, the reference's NMS (YOLOv8/v11), rescaling of boxes and keypoints to the original image.",
        params: keypointDetectionParams,
      }),
    )
    .use(
      inferRoute<typeof ClassificationRequest.static>(pipeline, settings, {
        path: "/infer/classification",
        task: "classification",
        body: ClassificationRequest,
        response: ClassificationResponse,
        summary: "Classification",
        description: "Class probabilities for one image or a list of images; images are batched across the model's batch axis. Softmax is applied only to raw logits.",
        params: (body) => ({ task: "classification", confidence: confidenceValue(body.confidence) }),
      }),
    );
}

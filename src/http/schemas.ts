// HTTP schemas: request and response bodies of the drop-in API, with the reference's defaults, for validation and OpenAPI.
import { t } from "elysia";
import { DETECTION_DEFAULTS } from "../models/task.ts";

export const ImageInput = t.Object(
  {
    type: t.String({
      description:
        "How `value` carries the image: `base64` (optionally with a `data:image/...;base64,` prefix) or `url` (downloaded by the server under its URL policy: https only, public hosts only, by default). Case-insensitive.",
      examples: ["base64", "url"],
    }),
    value: t.Optional(t.Any({ description: "The image: base64 text of an encoded JPEG/PNG/WebP/… file, or its http(s) URL." })),
  },
  { description: "One image." },
);

const PreprocessingSwitches = {
  disable_preproc_auto_orient: t.Optional(t.Boolean({ default: false, description: "Ignore EXIF orientation." })),
  disable_preproc_contrast: t.Optional(t.Boolean({ default: false, description: "Skip the model's contrast step." })),
  disable_preproc_grayscale: t.Optional(t.Boolean({ default: false, description: "Skip the model's grayscale step." })),
  disable_preproc_static_crop: t.Optional(t.Boolean({ default: false, description: "Skip the model's static crop." })),
};

const CommonRequestFields = {
  model_id: t.String({
    description:
      '"dataset/version" (or an instant model id without a version), or an alias such as "yolov8n-640"; downloaded into MODEL_CACHE_DIR on first use when an API key allows it.',
    examples: ["demo-shapes/1"],
  }),
  image: t.Union([ImageInput, t.Array(ImageInput)], { description: "One image, or a list: a list is answered with a list of responses in the same order." }),
  api_key: t.Optional(t.Nullable(t.String({ description: "Roboflow API key (accepted for compatibility)." }))),
  id: t.Optional(t.Nullable(t.String({ description: "Request id; becomes `inference_id`. A new UUID when absent." }))),
  visualize_predictions: t.Optional(t.Boolean({ default: false, description: "Also return `visualization`: a base64 JPEG of the image with the predictions drawn." })),
  visualization_labels: t.Optional(t.Nullable(t.Boolean({ default: false, description: "Draw class labels and confidences." }))),
  visualization_stroke_width: t.Optional(t.Nullable(t.Integer({ default: 1, minimum: 1, maximum: 100, description: "Line width of boxes and polygons, pixels." }))),
  disable_active_learning: t.Optional(t.Boolean({ default: false, description: "Accepted for compatibility; there is no active learning here." })),
  ...PreprocessingSwitches,
};

const Confidence = t.Union([t.Number({ minimum: 0, maximum: 1 }), t.Literal("best"), t.Literal("default")], {
  default: DETECTION_DEFAULTS.confidence,
  description: `Keep predictions whose score is >= this. "best" and "default" mean ${DETECTION_DEFAULTS.confidence}.`,
});

/** Far above any model's candidate count (a 2048x2048 YOLOv8 has 86,016 anchors); more is a mistake. */
export const MAX_DETECTIONS_LIMIT = 100_000;

const DetectionFields = {
  confidence: t.Optional(Confidence),
  iou_threshold: t.Optional(
    t.Number({
      default: DETECTION_DEFAULTS.iouThreshold,
      minimum: 0,
      maximum: 1,
      description: "NMS overlap threshold (intersection over the other box's area, as the reference).",
    }),
  ),
  class_agnostic_nms: t.Optional(t.Nullable(t.Boolean({ default: false, description: "Suppress overlapping boxes across classes." }))),
  class_filter: t.Optional(t.Nullable(t.Array(t.String(), { description: "Keep only these class names (applied after NMS and max_detections)." }))),
  max_detections: t.Optional(
    t.Integer({ default: DETECTION_DEFAULTS.maxDetections, minimum: 0, maximum: MAX_DETECTIONS_LIMIT, description: "Most predictions returned per image." }),
  ),
  max_candidates: t.Optional(t.Integer({ default: 3000, description: "Accepted for compatibility; unused, as in the reference." })),
  fix_batch_size: t.Optional(t.Boolean({ default: false, description: "Accepted for compatibility; batching is automatic." })),
};

export const ObjectDetectionRequest = t.Object(
  { ...CommonRequestFields, ...DetectionFields },
  {
    description: "Object detection on one image or a list of images.",
    examples: [{ model_id: "demo-shapes/1", image: { type: "base64", value: "/9j/4AAQSkZJRgABAQ..." }, confidence: 0.4, iou_threshold: 0.3 }],
  },
);

export const InstanceSegmentationRequest = t.Object(
  {
    ...CommonRequestFields,
    ...DetectionFields,
    mask_decode_mode: t.Optional(
      t.String({ default: "accurate", description: "`accurate` (masks at input resolution), `tradeoff` (between, by tradeoff_factor) or `fast` (prototype resolution)." }),
    ),
    tradeoff_factor: t.Optional(t.Number({ default: 0, description: "For `tradeoff`: 0 = prototype resolution, 1 = input resolution." })),
    response_mask_format: t.Optional(
      t.Union([t.Literal("polygon"), t.Literal("rle")], {
        default: "polygon",
        description: "`polygon`: each instance's outline as `points`; `rle`: its whole mask as COCO compressed RLE (`rle`: size and counts), no `points`.",
      }),
    ),
  },
  {
    description: "Instance segmentation on one image or a list of images: boxes plus one polygon (or RLE mask) per instance.",
    examples: [{ model_id: "fixture-yolov8n-seg/1", image: { type: "base64", value: "/9j/4AAQSkZJRgABAQ..." }, mask_decode_mode: "accurate" }],
  },
);

export const KeypointsDetectionRequest = t.Object(
  {
    ...CommonRequestFields,
    ...DetectionFields,
    keypoint_confidence: t.Optional(
      t.Number({ default: 0, minimum: 0, maximum: 1, description: "Keypoints scoring below this are left out. The reference accepts this field and ignores it; we honour it." }),
    ),
  },
  {
    description: 'Keypoint detection (pose) on one image or a list of images: boxes, each with its named keypoints. `confidence: "best"` is refused (422), as in the reference.',
    examples: [{ model_id: "fixture-yolov8n-pose/1", image: { type: "base64", value: "/9j/4AAQSkZJRgABAQ..." }, keypoint_confidence: 0.5 }],
  },
);

export const ClassificationRequest = t.Object(
  { ...CommonRequestFields, confidence: t.Optional(Confidence) },
  {
    description: "Classification of one image or a list of images (single-label or multi-label, as the model was trained).",
    examples: [{ model_id: "cls-probe/1", image: { type: "base64", value: "/9j/4AAQSkZJRgABAQ..." }, confidence: 0.4 }],
  },
);

export const ObjectDetectionPrediction = t.Object({
  x: t.Number({ description: "Box centre x, pixels of the original image." }),
  y: t.Number({ description: "Box centre y." }),
  width: t.Number(),
  height: t.Number(),
  confidence: t.Number(),
  class: t.String(),
  class_id: t.Integer(),
  detection_id: t.String({ description: "A new UUID per detection." }),
});

const ResponseFields = {
  visualization: t.Optional(t.String({ description: "Base64 JPEG of the image with predictions drawn (only when asked for)." })),
  inference_id: t.String(),
  time: t.Number({ description: "Seconds from admission to the answer (queueing, preprocessing, batching, inference, postprocessing)." }),
  image: t.Object({ width: t.Integer(), height: t.Integer() }, { description: "Size of the decoded (and EXIF-oriented) image." }),
};

export const ObjectDetectionResponse = t.Object({ ...ResponseFields, predictions: t.Array(ObjectDetectionPrediction) });

const CocoRle = t.Object(
  {
    size: t.Tuple([t.Integer(), t.Integer()], { description: "[height, width] of the original image." }),
    counts: t.String({ description: "COCO compressed RLE (column-major runs), as pycocotools writes it." }),
  },
  { description: "The instance's mask over the whole original image; pycocotools.mask.decode reads it as is." },
);

export const InstanceSegmentationResponse = t.Object({
  ...ResponseFields,
  predictions: t.Array(
    t.Union([
      t.Object({
        ...ObjectDetectionPrediction.properties,
        points: t.Array(t.Object({ x: t.Number(), y: t.Number() }), {
          description: "One closed polygon (first point not repeated), original image pixels; empty when the mask vanished.",
        }),
        mask_format: t.Literal("polygon"),
      }),
      t.Object({ ...ObjectDetectionPrediction.properties, rle: CocoRle, mask_format: t.Literal("rle") }),
    ]),
  ),
});

export const KeypointsDetectionResponse = t.Object({
  ...ResponseFields,
  predictions: t.Array(
    t.Object({
      ...ObjectDetectionPrediction.properties,
      keypoints: t.Array(
        t.Object({
          x: t.Number({ description: "Original image pixels, rounded to an integer." }),
          y: t.Number(),
          confidence: t.Number(),
          class_id: t.Integer({ description: "The keypoint's index in its class's keypoints_metadata.json entry." }),
          class: t.String({ description: "The keypoint's name." }),
        }),
      ),
    }),
  ),
});

export const ClassificationResponse = t.Union([
  t.Object(
    {
      ...ResponseFields,
      predictions: t.Array(t.Object({ class: t.String(), class_id: t.Integer(), confidence: t.Number({ description: "Softmax probability, 4 decimals." }) })),
      top: t.String({ description: 'The most likely class, or "" when none reaches `confidence`.' }),
      confidence: t.Number(),
    },
    { description: "Single-label model." },
  ),
  t.Object(
    {
      ...ResponseFields,
      predictions: t.Record(t.String(), t.Object({ confidence: t.Number(), class_id: t.Integer() })),
      predicted_classes: t.Array(t.String(), { description: "Classes whose score is > `confidence`." }),
    },
    { description: "Multi-label model (environment MULTICLASS). As in the reference, image.width holds the height and image.height the width." },
  ),
]);

export const ModelIdBody = t.Object({
  model_id: t.String({ description: '"dataset/version", an instant model id or an alias', examples: ["demo-shapes/1"] }),
  api_key: t.Optional(t.Nullable(t.String())),
  model_type: t.Optional(t.Nullable(t.String({ description: "Accepted for compatibility; the package's model_type.json decides." }))),
});

export const ModelsDescriptions = t.Object({
  models: t.Array(
    t.Object({
      model_id: t.String(),
      task_type: t.String(),
      batch_size: t.Nullable(t.Integer({ description: "The ONNX batch dimension; null when it is dynamic." })),
      input_height: t.Integer(),
      input_width: t.Integer(),
      vram_bytes: t.Null(),
      request_aliases: t.Array(t.String()),
      request_paths: t.Array(t.String()),
    }),
  ),
  total_vram_bytes: t.Null(),
  gpu_memory_used: t.Null(),
  gpu_memory_total: t.Null(),
  torch_cuda_allocated: t.Null(),
  torch_cuda_reserved: t.Null(),
  torch_cuda_allocator_cache: t.Null(),
  non_torch_gpu_memory: t.Null(),
});

export const ErrorResponse = t.Object({ message: t.String() }, { description: "Every error answers with a message." });

/** What a route does, for the causes its error answers list: it reads a body, writes a model package (an import), may download a model, runs inference. */
export interface RouteKind {
  body?: boolean;
  writes?: boolean;
  download?: boolean;
  inference?: boolean;
}

/**
 * The error answers the guards (src/http/guards/), a download (src/models/roboflow/) and the pipeline give on a route,
 * each described with every cause it has there, for the OpenAPI document. (A CORS preflight from an origin
 * CORS_ALLOWED_ORIGINS does not list is answered 403 on OPTIONS, which the document does not list as operations.)
 */
export function errorAnswers(kind: RouteKind) {
  const causes: Record<number, string[]> = {
    401: [
      "SERVER_API_KEYS is set and the request carries none of its keys (`api_key` in the JSON body, the `api_key` query parameter, or `Authorization: Bearer`); sent with `WWW-Authenticate: Bearer`.",
    ],
    503: ["The server is shutting down (`Retry-After`, `Connection: close`)."],
  };
  const add = (status: number, cause: string) => (causes[status] ??= []).push(cause);
  if (kind.body) {
    add(413, "The body is over MAX_REQUEST_BYTES.");
    add(503, "The request bodies held at once reached MAX_REQUEST_BYTES_IN_FLIGHT, bodies whose key is inside them a smaller share of it (`Retry-After`).");
  }
  if (kind.download) {
    add(401, "The Roboflow API refused the key a download of the model used.");
    add(403, "The Roboflow API refused the scope of the key a download of the model used.");
    add(502, "The Roboflow API failed.");
    add(503, "The Roboflow API could not be reached.");
    add(504, "The Roboflow API sent nothing for ROBOFLOW_API_REQUEST_TIMEOUT.");
  }
  if (kind.writes || kind.download) add(507, "No space left in MODEL_CACHE_DIR for the model package.");
  if (kind.inference) {
    add(503, "The model's arena slots and its queue (MAX_QUEUE) are full, the model is being unloaded, or URL_INPUT_MAX_CONCURRENT images are downloading (`Retry-After`).");
    add(504, "The request did not finish within REQUEST_TIMEOUT_MS.");
  }
  return Object.fromEntries(Object.entries(causes).map(([status, list]) => [status, t.Object({ message: t.String() }, { description: list.join(" ") })])) as Record<
    number,
    typeof ErrorResponse
  >;
}

export const ServerInfo = t.Object({
  name: t.String(),
  version: t.String(),
  uuid: t.String(),
  execution_provider: t.Nullable(t.String({ description: "Execution provider the loaded models run on (`cuda` or `cpu`)." })),
  execution_provider_fallback: t.Nullable(
    t.String({
      description: "Why the execution providers preferred to `execution_provider` (EXECUTION_PROVIDERS) do not run, with ONNX Runtime's messages; null when the first choice runs.",
    }),
  ),
  onnxruntime_version: t.String(),
});

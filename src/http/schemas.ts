// HTTP schemas: request and response bodies of the drop-in API, with the reference's defaults, for validation and OpenAPI.
import { t } from "elysia";

export const ImageInput = t.Object(
  {
    type: t.String({ description: "How `value` carries the image: `base64` (optionally with a `data:image/...;base64,` prefix). Case-insensitive.", examples: ["base64"] }),
    value: t.Optional(t.Any({ description: "The image: base64 text of an encoded JPEG/PNG/WebP/… file." })),
  },
  { description: "One image." },
);

const PreprocessingSwitches = {
  disable_preproc_auto_orient: t.Optional(t.Boolean({ default: false, description: "Ignore EXIF orientation." })),
  disable_preproc_contrast: t.Optional(t.Boolean({ default: false, description: "Skip the model's contrast step." })),
  disable_preproc_grayscale: t.Optional(t.Boolean({ default: false, description: "Skip the model's grayscale step." })),
  disable_preproc_static_crop: t.Optional(t.Boolean({ default: false, description: "Skip the model's static crop." })),
};

export const ObjectDetectionRequest = t.Object(
  {
    model_id: t.String({ description: '"dataset/version" of a model in MODEL_CACHE_DIR.', examples: ["demo-shapes/1"] }),
    image: t.Union([ImageInput, t.Array(ImageInput)], { description: "One image, or a list: a list is answered with a list of responses in the same order." }),
    api_key: t.Optional(t.Nullable(t.String({ description: "Roboflow API key (accepted for compatibility)." }))),
    id: t.Optional(t.Nullable(t.String({ description: "Request id; becomes `inference_id`. A new UUID when absent." }))),
    confidence: t.Optional(
      t.Union([t.Number(), t.Literal("best"), t.Literal("default")], {
        default: 0.4,
        description: 'Keep boxes whose score is >= this. "best" and "default" mean 0.4.',
      }),
    ),
    iou_threshold: t.Optional(t.Number({ default: 0.3, description: "NMS overlap threshold (intersection over the other box's area, as the reference)." })),
    class_agnostic_nms: t.Optional(t.Nullable(t.Boolean({ default: false, description: "Suppress overlapping boxes across classes." }))),
    class_filter: t.Optional(t.Nullable(t.Array(t.String(), { description: "Keep only these class names (applied after NMS and max_detections)." }))),
    max_detections: t.Optional(t.Integer({ default: 300, description: "Most boxes returned per image." })),
    max_candidates: t.Optional(t.Integer({ default: 3000, description: "Accepted for compatibility; unused, as in the reference." })),
    fix_batch_size: t.Optional(t.Boolean({ default: false, description: "Accepted for compatibility; batching is automatic." })),
    visualize_predictions: t.Optional(t.Boolean({ default: false, description: "Not supported yet: must be false." })),
    ...PreprocessingSwitches,
  },
  {
    description: "Object detection on one image or a list of images.",
    examples: [{ model_id: "demo-shapes/1", image: { type: "base64", value: "/9j/4AAQSkZJRgABAQ..." }, confidence: 0.4, iou_threshold: 0.3 }],
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

export const ObjectDetectionResponse = t.Object({
  inference_id: t.String(),
  time: t.Number({ description: "Seconds from admission to the answer (queueing, preprocessing, batching, inference, postprocessing)." }),
  image: t.Object({ width: t.Integer(), height: t.Integer() }, { description: "Size of the decoded (and EXIF-oriented) image." }),
  predictions: t.Array(ObjectDetectionPrediction),
});

export const ErrorResponse = t.Object({ message: t.String() }, { description: "Every error answers with a message." });

export const ServerInfo = t.Object({
  name: t.String(),
  version: t.String(),
  uuid: t.String(),
  execution_provider: t.Nullable(t.String({ description: "Execution provider the loaded models run on (`cuda` or `cpu`)." })),
  onnxruntime_version: t.String(),
});

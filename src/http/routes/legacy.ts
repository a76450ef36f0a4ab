// Legacy route: POST/GET /{dataset_id}/{version_id} with the hosted API's query parameters and bodies.
import { Elysia, t } from "elysia";
import { requestDeadline } from "../../deadline.ts";
import { HttpError, InputImageError } from "../../errors.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import { DETECTION_DEFAULTS, type TaskParams, type TaskType } from "../../models/task.ts";
import type { ImageInput } from "../../vision/image-input.ts";
import { requestApiKey } from "../roboflow-key.ts";
import type { AppSettings } from "../settings.ts";
import { jsonResponse, keypointDetectionParams, maskParams, modelFor, preprocessSwitches, runInference } from "../inference.ts";
import { ErrorResponse, errorAnswers, MAX_DETECTIONS_LIMIT } from "../schemas.ts";

/** The reference floors legacy confidences here to avoid returning every anchor. */
const CONFIDENCE_LOWER_BOUND = 0.01;

const LegacyQuery = t.Object({
  api_key: t.Optional(t.String()),
  confidence: t.Optional(
    t.String({
      default: String(DETECTION_DEFAULTS.confidence),
      description: `Threshold; values >= 1 are percentages (40 = 0.4); floored at 0.01. best/default mean ${DETECTION_DEFAULTS.confidence}.`,
    }),
  ),
  overlap: t.Optional(t.String({ default: String(DETECTION_DEFAULTS.iouThreshold), description: "NMS overlap threshold; values >= 1 are percentages." })),
  max_detections: t.Optional(t.String({ default: String(DETECTION_DEFAULTS.maxDetections) })),
  format: t.Optional(t.String({ default: "json", description: "`json`, `image` (the annotated JPEG itself) or `image_and_json` (JSON with `visualization`)." })),
  image: t.Optional(t.String({ description: "URL of the image; when present the body is ignored." })),
  image_type: t.Optional(t.String({ default: "base64", description: "How to read a raw body." })),
  labels: t.Optional(t.String({ default: "false", description: "Draw labels on visualisations." })),
  stroke: t.Optional(t.String({ default: "1", description: "Line width of visualisations." })),
  mask_decode_mode: t.Optional(t.String({ default: "accurate" })),
  tradeoff_factor: t.Optional(t.String({ default: "0.0" })),
  response_mask_format: t.Optional(t.String({ default: "polygon", description: "Segmentation models: `polygon` or `rle` (COCO compressed RLE)." })),
  keypoint_confidence: t.Optional(t.String({ default: "0.0", description: "Keypoint models: keypoints scoring below this are left out (the reference ignores it)." })),
  disable_preproc_auto_orient: t.Optional(t.String()),
  disable_preproc_contrast: t.Optional(t.String()),
  disable_preproc_grayscale: t.Optional(t.String()),
  disable_preproc_static_crop: t.Optional(t.String()),
});
type Query = typeof LegacyQuery.static;

function invalidQuery(name: string, raw: string): HttpError {
  return new HttpError(422, `Invalid request: query parameter ${name} must be a number, got "${raw}"`);
}

function number(query: Query, name: keyof Query, fallback: number): number {
  const raw = query[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw invalidQuery(name, raw);
  return value;
}

function outOfRange(name: string, range: string, raw: string): HttpError {
  return new HttpError(422, `Invalid request: query parameter ${name} must be ${range}, got "${raw}"`);
}

/** A threshold given as a fraction in [0, 1] or a percentage in [1, 100]. */
function threshold(query: Query, name: "confidence" | "overlap", fallback: number): number {
  const value = number(query, name, fallback);
  if (value < 0 || value > 100) throw outOfRange(name, "a fraction in [0, 1] or a percentage in [1, 100]", query[name]!);
  return fraction(value);
}

function maxDetections(query: Query): number {
  const value = number(query, "max_detections", DETECTION_DEFAULTS.maxDetections);
  if (!Number.isInteger(value) || value < 0 || value > MAX_DETECTIONS_LIMIT)
    throw outOfRange("max_detections", `an integer in [0, ${MAX_DETECTIONS_LIMIT}]`, query.max_detections!);
  return value;
}

const flag = (raw: string | undefined) => raw !== undefined && ["true", "1", "yes"].includes(raw.toLowerCase());

/** Legacy thresholds come as fractions or percentages. */
const fraction = (value: number) => (value >= 1 ? value / 100 : value);

export function legacyConfidence(raw: string | undefined): number {
  if (raw === undefined || raw === "" || raw === "best" || raw === "default") return DETECTION_DEFAULTS.confidence;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw invalidQuery("confidence", raw);
  if (value < 0 || value > 100) throw outOfRange("confidence", "a fraction in [0, 1] or a percentage in [1, 100]", raw);
  return Math.max(fraction(value), CONFIDENCE_LOWER_BOUND);
}

function paramsFor(task: TaskType, query: Query): TaskParams {
  const confidence = legacyConfidence(query.confidence);
  if (task === "classification") return { task, confidence };
  const detection = {
    confidence,
    iouThreshold: threshold(query, "overlap", DETECTION_DEFAULTS.iouThreshold),
    classAgnosticNms: false,
    maxDetections: maxDetections(query),
    classFilter: null,
  };
  if (task === "object-detection") return { task, detection };
  if (task === "keypoint-detection") {
    if (query.confidence === "best") return keypointDetectionParams({ confidence: "best" });
    const keypointConfidence = number(query, "keypoint_confidence", 0);
    if (keypointConfidence < 0 || keypointConfidence > 1) throw outOfRange("keypoint_confidence", "a fraction in [0, 1]", query.keypoint_confidence!);
    return { task, detection, keypointConfidence };
  }
  return { task, detection, masks: maskParams(query.mask_decode_mode, number(query, "tradeoff_factor", 0), query.response_mask_format) };
}

/** True when bytes look like a binary image rather than base64 text (which is printable ASCII). */
function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 64);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b > 126 || (b < 32 && b !== 9 && b !== 10 && b !== 13)) return true;
  }
  return false;
}

/** The image the request carries: the `image` query URL, a multipart `file` part, or the raw body. */
async function imageOf(request: Request, query: Query): Promise<ImageInput> {
  if (query.image) return { type: "url", value: query.image };
  const contentType = request.headers.get("content-type");
  if (!contentType) throw new HttpError(400, "Content-Type header not provided with request.");
  if (contentType.toLowerCase().startsWith("multipart/form-data")) {
    const file = (await request.formData()).get("file");
    if (!(file instanceof Blob)) throw new InputImageError("Expected image to be send in part named 'file' of multipart/form-data request");
    return { type: "base64", value: Buffer.from(await file.arrayBuffer()).toString("base64") };
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  const imageType = query.image_type ?? "base64";
  if (imageType.toLowerCase() === "base64" && looksBinary(bytes)) {
    throw new HttpError(400, "Invalid base64 input: the image payload contains raw bytes instead of a base64-encoded string. Please base64-encode the image before sending.");
  }
  return { type: imageType, value: new TextDecoder().decode(bytes) };
}

async function legacyInference(pipeline: Pipeline, settings: AppSettings, request: Request, params: { dataset_id: string; version_id: string }, query: Query): Promise<Response> {
  const modelId = `${params.dataset_id}/${params.version_id}`;
  const apiKey = requestApiKey(settings.http, request, query.api_key, "own-first");
  // One deadline for the whole request, waiting for the model to load (or download) included.
  const { signal, clear } = requestDeadline(settings.http.requestTimeoutMs, request.signal);
  try {
    return await legacyAnswer(pipeline, settings, request, query, modelId, apiKey, signal);
  } finally {
    clear();
  }
}

async function legacyAnswer(
  pipeline: Pipeline,
  settings: AppSettings,
  request: Request,
  query: Query,
  modelId: string,
  apiKey: string | null,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const model = await modelFor(pipeline, modelId, apiKey, signal);
  const task = model.spec.taskType;
  const format = (query.format ?? "json").toLowerCase();
  if (!["json", "image", "image_and_json"].includes(format)) {
    throw new HttpError(422, `Invalid request: format must be json, image or image_and_json, got "${query.format}"`);
  }
  const answer = await runInference(pipeline, settings.http, {
    modelId,
    task,
    image: await imageOf(request, query),
    id: null,
    switches: preprocessSwitches(
      {
        disable_preproc_auto_orient: flag(query.disable_preproc_auto_orient),
        disable_preproc_contrast: flag(query.disable_preproc_contrast),
        disable_preproc_grayscale: flag(query.disable_preproc_grayscale),
        disable_preproc_static_crop: flag(query.disable_preproc_static_crop),
      },
      settings.preprocessing,
    ),
    params: paramsFor(task, query),
    visualization: format === "json" ? null : { strokeWidth: Math.max(1, Math.round(number(query, "stroke", 1))), labels: flag(query.labels) },
    clientSignal: signal,
    apiKey,
  });
  if (format === "image") {
    return new Response(Buffer.from(answer.results[0]!.visualization!), { headers: { "content-type": "image/jpeg" } });
  }
  return jsonResponse(answer);
}

const detail = {
  tags: ["Legacy"],
  summary: "Hosted-API inference",
  description:
    "The hosted API's route: the model's task decides the answer's shape. The image comes from the `image` query URL, a multipart part named `file`, or the raw body (base64 text, any Content-Type but a missing one).",
};

export function legacyRoutes(pipeline: Pipeline, settings: AppSettings) {
  const responses = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, ...errorAnswers({ body: true, download: true, inference: true }) };
  return new Elysia()
    .post("/:dataset_id/:version_id", ({ request, params, query }) => legacyInference(pipeline, settings, request, params, query), {
      query: LegacyQuery,
      parse: "none",
      response: responses,
      detail,
    })
    .get("/:dataset_id/:version_id", ({ request, params, query }) => legacyInference(pipeline, settings, request, params, query), {
      query: LegacyQuery,
      response: responses,
      detail: { ...detail, summary: "Hosted-API inference on an image URL" },
    });
}

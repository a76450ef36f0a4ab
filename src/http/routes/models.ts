// Model management routes: /model/registry, /model/add, /model/remove, /model/clear, /start/{dataset}/{version}, /clear_cache.
import { Elysia, t } from "elysia";
import type { ModelInstance } from "../../pipeline/model-instance.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import type { HttpSettings } from "../settings.ts";
import { requestApiKey } from "../roboflow-key.ts";
import { json } from "../errors.ts";
import { handleModelImport, ModelImportForm, ModelImportResponse } from "../model-import.ts";
import { ErrorResponse, errorAnswers, ModelIdBody, ModelsDescriptions } from "../schemas.ts";

function describe(model: ModelInstance) {
  return {
    model_id: model.spec.key,
    task_type: model.spec.taskType,
    batch_size: model.spec.batch.fixed ? model.spec.batch.capacity : null,
    input_height: model.spec.input.height,
    input_width: model.spec.input.width,
    vram_bytes: null,
    request_aliases: [],
    request_paths: ["/model/add"],
  };
}

/** The reference's ModelsDescriptions: the GPU-memory fields exist for compatibility and are null here. */
function descriptions(pipeline: Pipeline) {
  return {
    models: pipeline.host.list().map(describe),
    total_vram_bytes: null,
    gpu_memory_used: null,
    gpu_memory_total: null,
    torch_cuda_allocated: null,
    torch_cuda_reserved: null,
    torch_cuda_allocator_cache: null,
    non_torch_gpu_memory: null,
  };
}

const tags = ["Model management"];
/** Loading may download the model: the Roboflow API's refusals (401, 403, 404) and failures (502, 503, 504, 507) come back as they are. */
const LOAD_ERRORS = { 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, ...errorAnswers({ body: true, download: true }) };

export function modelRoutes(pipeline: Pipeline, settings: HttpSettings) {
  return new Elysia()
    .get("/model/registry", () => descriptions(pipeline), {
      query: t.Object({ api_key: t.Optional(t.String()) }),
      response: { 200: ModelsDescriptions, ...errorAnswers({}) },
      detail: { tags, summary: "Loaded models", description: "The models this server has loaded, with their task, batch size and input size." },
    })
    .post(
      "/model/add",
      async ({ body, request }) => {
        await pipeline.host.get(body.model_id, requestApiKey(settings, request, body.api_key, "header-first"));
        return descriptions(pipeline);
      },
      {
        body: ModelIdBody,
        response: { 200: ModelsDescriptions, ...LOAD_ERRORS },
        detail: {
          tags,
          summary: "Load a model",
          description:
            "Loads a model (no-op when it is loaded) and lists the loaded models. A model missing from MODEL_CACHE_DIR is downloaded from the Roboflow API (API_BASE_URL) with the request's API key (`Authorization: Bearer`, else `api_key`), else ROBOFLOW_API_KEY / API_KEY.",
        },
      },
    )
    .post(
      "/model/remove",
      async ({ body }) => {
        await pipeline.host.unload(body.model_id);
        return descriptions(pipeline);
      },
      {
        body: ModelIdBody,
        response: { 200: ModelsDescriptions, 400: ErrorResponse, ...errorAnswers({ body: true }) },
        detail: {
          tags,
          summary: "Unload a model",
          description:
            "Stops admitting requests for the model, lets admitted ones finish, then frees its arena and releases its ONNX Runtime session. Its files stay in MODEL_CACHE_DIR.",
        },
      },
    )
    .post(
      "/model/clear",
      async () => {
        await pipeline.host.unloadAll();
        return descriptions(pipeline);
      },
      { response: { 200: ModelsDescriptions, ...errorAnswers({ body: true }) }, detail: { tags, summary: "Unload every model" } },
    )
    .post("/model/import", ({ body }) => handleModelImport(pipeline, body), {
      // The form is checked by the handler (a 400 naming the field); ModelImportForm documents it.
      response: { 201: ModelImportResponse, 400: ErrorResponse, 409: ErrorResponse, 500: ErrorResponse, ...errorAnswers({ body: true, writes: true }) },
      detail: {
        requestBody: { required: true, content: { "multipart/form-data": { schema: ModelImportForm as object } } },
        tags,
        summary: "Import an ONNX model",
        description:
          "Files an uploaded ONNX model as a package in MODEL_CACHE_DIR under `id` (weights, environment.json, class_names.txt, model_type.json), ready to serve. An Ultralytics export needs only `file` and `id` (its metadata carries task, class names and input size); other models in a supported output layout (YOLOv8/v9/v11/v12, YOLOv5/v7, YOLO-NAS, YOLOv10, YOLO26 detection; YOLOv8/YOLOv5 segmentation; classification) need what their metadata lacks. 400 names what is missing; 409 when the id exists (send overwrite=true). Uploads are limited by MAX_REQUEST_BYTES.",
      },
    })
    .get(
      "/start/:dataset_id/:version_id",
      async ({ params, query, request }) => {
        await pipeline.host.get(`${params.dataset_id}/${params.version_id}`, requestApiKey(settings, request, query.api_key, "own-first"));
        return { status: 200, message: "inference session started from local memory." };
      },
      {
        query: t.Object({ api_key: t.Optional(t.String()) }),
        response: { 200: t.Object({ status: t.Number(), message: t.String() }), 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse, ...errorAnswers({ download: true }) },
        detail: { tags, summary: "Load a model (legacy)", description: "Loads a model, as the reference's /start route." },
      },
    )
    .get(
      "/clear_cache",
      async () => {
        await pipeline.host.unloadAll();
        // The reference answers a JSON string, quotes included.
        return json(200, "Cache Cleared");
      },
      { response: { 200: t.String(), ...errorAnswers({}) }, detail: { tags, summary: "Unload every model (legacy)" } },
    );
}

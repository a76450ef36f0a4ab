// Model management routes: /model/registry, /model/add, /model/remove, /model/clear, /start/{dataset}/{version}, /clear_cache.
import { Elysia, t } from "elysia";
import type { LoadedModel } from "../../models/registry.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import { json } from "../errors.ts";
import { ErrorResponse, ModelIdBody, ModelsDescriptions } from "../schemas.ts";

function describe(model: LoadedModel) {
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
    models: pipeline.registry.list().map(describe),
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

export function modelRoutes(pipeline: Pipeline) {
  return new Elysia()
    .get("/model/registry", () => descriptions(pipeline), {
      query: t.Object({ api_key: t.Optional(t.String()) }),
      response: { 200: ModelsDescriptions },
      detail: { tags, summary: "Loaded models", description: "The models this server has loaded, with their task, batch size and input size." },
    })
    .post(
      "/model/add",
      async ({ body }) => {
        await pipeline.registry.get(body.model_id);
        return descriptions(pipeline);
      },
      {
        body: ModelIdBody,
        response: { 200: ModelsDescriptions, 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse },
        detail: { tags, summary: "Load a model", description: "Loads a model from MODEL_CACHE_DIR (no-op when it is loaded) and lists the loaded models." },
      },
    )
    .post(
      "/model/remove",
      async ({ body }) => {
        await pipeline.registry.unload(body.model_id);
        return descriptions(pipeline);
      },
      {
        body: ModelIdBody,
        response: { 200: ModelsDescriptions, 400: ErrorResponse },
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
        await pipeline.registry.unloadAll();
        return descriptions(pipeline);
      },
      { response: { 200: ModelsDescriptions }, detail: { tags, summary: "Unload every model" } },
    )
    .get(
      "/start/:dataset_id/:version_id",
      async ({ params }) => {
        await pipeline.registry.get(`${params.dataset_id}/${params.version_id}`);
        return { status: 200, message: "inference session started from local memory." };
      },
      {
        query: t.Object({ api_key: t.Optional(t.String()) }),
        response: { 200: t.Object({ status: t.Number(), message: t.String() }), 400: ErrorResponse, 404: ErrorResponse, 500: ErrorResponse },
        detail: { tags, summary: "Load a model (legacy)", description: "Loads a model, as the reference's /start route." },
      },
    )
    .get(
      "/clear_cache",
      async () => {
        await pipeline.registry.unloadAll();
        // The reference answers a JSON string, quotes included.
        return json(200, "Cache Cleared");
      },
      { response: { 200: t.String() }, detail: { tags, summary: "Unload every model (legacy)" } },
    );
}

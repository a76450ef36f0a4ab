// POST /model/import: schemas and handler for uploading a bring-your-own ONNX model into the model cache (multipart).
import { t } from "elysia";
import { ImportError, parseClassList, parseImageSizeOption, type ImportResult } from "../models/import-model.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import { json } from "./errors.ts";

/**
 * The multipart form, for the OpenAPI document only: the handler checks the form itself, so that a
 * missing or malformed field is a 400 naming it, like every other import mistake (not the 422 of
 * schema validation). Elysia turns form values that look like JSON into arrays or numbers, so
 * `classes` and `imgsz` may arrive as such.
 */
export const ModelImportForm = t.Object(
  {
    file: t.File({ description: "The ONNX model." }),
    id: t.String({ description: '"dataset/version" to serve it as.', examples: ["my-model/1"] }),
    task: t.Optional(
      t.String({
        description: "detect, segment or classify (or object-detection, instance-segmentation, classification); default: the export's `task` metadata, else told from the outputs.",
      }),
    ),
    classes: t.Optional(t.String({ description: "Class names in class-id order, comma-separated or a JSON array; default: the export's `names` metadata." })),
    imgsz: t.Optional(t.String({ description: 'Input size for a dynamic input: "640" or "height,width"; default: the export\'s `imgsz`, else 640.' })),
    model_type: t.Optional(
      t.String({
        description: "The reference's model type (yolov8n, yolov5v2s, yolo_nas_s, yolov10n, yolo26n, vit, resnet50, …); default: from the export's description and outputs.",
      }),
    ),
    overwrite: t.Optional(t.String({ description: '"true" replaces an existing package with this id (and unloads the old model).', examples: ["false"] })),
  },
  { description: "The ONNX file and how to file it." },
);

export const ModelImportResponse = t.Object({
  model_id: t.String(),
  task_type: t.String(),
  model_type: t.String(),
  weights_file: t.String({ description: "The reference's weights file name for the family (weights.onnx, yolov5s_weights.onnx, best.onnx)." }),
  class_names: t.Array(t.String()),
  input_width: t.Integer(),
  input_height: t.Integer(),
  batch_size: t.Nullable(t.Integer({ description: "The fixed ONNX batch size; null when the batch is dynamic (the server batches it)." })),
  family: t.String({ description: 'The model family its outputs are decoded as (README "Supported models"), e.g. yolov8, yolov5-seg, vit.' }),
  replaced: t.Boolean({ description: "An existing package with this id was replaced." }),
});

function responseOf(result: ImportResult) {
  return {
    model_id: result.modelId.id,
    task_type: result.taskType,
    model_type: result.modelType,
    weights_file: result.weightsFile,
    class_names: result.classNames,
    input_width: result.imageSize.width,
    input_height: result.imageSize.height,
    batch_size: result.batch.size,
    family: result.layout.family,
    replaced: result.replaced,
  };
}

const FORM_HINT = "send multipart/form-data with the ONNX file in `file` and the model id in `id`.";

/** The form's fields as the import needs them; a missing or malformed one is an ImportError naming it. */
function readForm(body: unknown) {
  const form = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const text = (name: string): string | undefined => {
    const value = form[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw new ImportError(`field \`${name}\` must be text.`);
  };
  const file = form.file;
  if (!(file instanceof Blob)) throw new ImportError(`the ONNX file is missing: ${FORM_HINT}`);
  if (file.size === 0) throw new ImportError("the uploaded file is empty.");
  const id = text("id");
  if (!id) throw new ImportError(`the model id is missing: ${FORM_HINT}`);
  const classes = Array.isArray(form.classes) ? JSON.stringify(form.classes) : text("classes");
  const imgsz = Array.isArray(form.imgsz) ? form.imgsz.join(",") : text("imgsz");
  const overwrite = text("overwrite")?.trim().toLowerCase();
  if (overwrite !== undefined && !["true", "false", "1", "0", "yes", "no"].includes(overwrite)) {
    throw new ImportError(`field \`overwrite\` must be true or false, got ${JSON.stringify(form.overwrite)}.`);
  }
  return {
    file,
    overwrite: overwrite === "true" || overwrite === "1" || overwrite === "yes",
    options: {
      id,
      task: text("task"),
      classNames: classes !== undefined ? parseClassList(classes) : undefined,
      imageSize: imgsz !== undefined ? parseImageSizeOption(imgsz) : undefined,
      modelType: text("model_type"),
    },
  };
}

/** Imports the uploaded ONNX file (see Pipeline.importModel) and answers 201. */
export async function handleModelImport(pipeline: Pipeline, body: unknown): Promise<Response> {
  const { file, overwrite, options } = readForm(body);
  const result = await pipeline.importModel(file, options, overwrite);
  console.log(`imported ${result.modelId.id} (${result.taskType}, ${result.modelType}, family ${result.layout.family}) into ${result.dir}`);
  return json(201, responseOf(result));
}

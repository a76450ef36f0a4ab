// POST /model/import: schemas and handler for uploading a bring-your-own ONNX model into the model cache (multipart).
import { t } from "elysia";
import { ImportError, importModel, parseClassList, parseImageSizeOption, type ImportResult } from "../models/import-model.ts";
import { inspectOnnxInWorker } from "../models/onnx-inspect.ts";
import { PackageWriter } from "../models/package-writer.ts";
import { importArenaProblem } from "../pipeline/arena-size.ts";
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
    task: t.Optional(t.String({ description: "detect, segment or classify (or object-detection, instance-segmentation, classification); default: the export's `task` metadata, else told from the outputs." })),
    classes: t.Optional(t.String({ description: "Class names in class-id order, comma-separated or a JSON array; default: the export's `names` metadata." })),
    imgsz: t.Optional(t.String({ description: 'Input size for a dynamic input: "640" or "height,width"; default: the export\'s `imgsz`, else 640.' })),
    model_type: t.Optional(t.String({ description: "The reference's model type (yolov8n, yolov5v2s, yolo_nas_s, yolov10n, yolo26n, vit, resnet50, …); default: from the export's description and outputs." })),
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
  output_layout: t.String({ description: "How the outputs are decoded: yolov8-detection, yolov5-detection, yolonas-detection, end-to-end-detection, segmentation, classification." }),
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
    output_layout: result.layout.kind,
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

/**
 * Saves the upload into a staging directory of MODEL_CACHE_DIR (where a killed import's leftovers are swept, see
 * package-writer.ts), imports it (ONNX Runtime runs in a worker), answers 201. The upload becomes the weights file.
 */
export async function handleModelImport(pipeline: Pipeline, body: unknown): Promise<Response> {
  const { file, overwrite, options } = readForm(body);
  const { config } = pipeline;
  const writer = new PackageWriter(config);
  const staged = await writer.stage("import");
  try {
    const upload = staged.path("upload.onnx");
    await staged.writeFile("upload.onnx", file);
    const result = await importModel(upload, options, {
      cacheDir: config.modelCacheDir,
      writer,
      staged,
      overwrite,
      inspect: (path, imageSize) => inspectOnnxInWorker(path, imageSize, config.ortLibPath || undefined),
      arenaProblem: importArenaProblem(config),
    });
    // A replaced model still loaded would keep serving the old weights: unload it, the next request loads the new package.
    if (result.replaced) await pipeline.registry.unload(result.modelId.id);
    console.log(`imported ${result.modelId.id} (${result.taskType}, ${result.modelType}, ${result.layout.kind}) into ${result.dir}`);
    return json(201, responseOf(result));
  } finally {
    await staged.discard();
  }
}

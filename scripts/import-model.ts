// bun run import-model: files a bring-your-own ONNX model (e.g. an Ultralytics export) as a model package in MODEL_CACHE_DIR.
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { HttpError } from "../src/errors.ts";
import { importModel, parseClassList, parseImageSizeOption, type ImportOptions } from "../src/models/import-model.ts";
import { inspectOnnx } from "../src/models/onnx/inspect.ts";
import { PackageWriter } from "../src/models/package-writer.ts";
import { importArenaProblem } from "../src/pipeline/arena-size.ts";
import { Pipeline } from "../src/pipeline/pipeline.ts";

const USAGE = `Usage: bun run import-model <model.onnx> --id <dataset>/<version> [options]

Turns an ONNX model into a model package in MODEL_CACHE_DIR (default /tmp/cache) that the server
serves under that id. An Ultralytics export needs only --id: its metadata carries the task, the class
names and the input size. Other models need whatever their metadata lacks.

Options:
  --id ID            dataset/version to serve the model as (required), e.g. my-model/1
  --task TASK        detect | segment | classify (or object-detection, instance-segmentation, classification)
  --classes NAMES    class names in class-id order: a,b,c  or a JSON array '["a, b", "c"]'
  --imgsz SIZE       input size for models with a dynamic input: 640, or height,width (480,640)
  --model-type TYPE  the reference's model type: yolov8n, yolov5v2s, yolo_nas_s, yolov10n, yolo26n, vit, resnet50, ...
  --cache-dir DIR    where to write (default: $MODEL_CACHE_DIR, else /tmp/cache)
  --force            replace an existing package with this id
  -h, --help         this text`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

let args;
try {
  args = parseArgs({
    args: Bun.argv.slice(2),
    allowPositionals: true,
    options: {
      id: { type: "string" },
      task: { type: "string" },
      classes: { type: "string" },
      imgsz: { type: "string" },
      "model-type": { type: "string" },
      "cache-dir": { type: "string" },
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (error) {
  fail(`${(error as Error).message}\n\n${USAGE}`);
}
const { values, positionals } = args;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (positionals.length !== 1) fail(`Give exactly one ONNX file.\n\n${USAGE}`);
if (!values.id) fail(`--id is required.\n\n${USAGE}`);
const file = positionals[0]!;
if (!(await Bun.file(file).exists())) fail(`No such file: ${file}`);

let config;
try {
  config = loadConfig();
} catch (error) {
  fail((error as Error).message);
}
const cacheDir = values["cache-dir"] || config.models.modelCacheDir;
try {
  const options: ImportOptions = {
    id: values.id,
    task: values.task,
    classNames: values.classes !== undefined ? parseClassList(values.classes) : undefined,
    imageSize: values.imgsz !== undefined ? parseImageSizeOption(values.imgsz) : undefined,
    modelType: values["model-type"],
  };
  const result = await importModel(file, options, {
    cacheDir,
    writer: new PackageWriter({ modelCacheDir: cacheDir, roboflowApiTimeoutMs: config.roboflow.roboflowApiTimeoutMs }),
    overwrite: values.force,
    inspect: async (path, imageSize) => inspectOnnx(path, imageSize, config.ort.ortLibPath || undefined),
    // The arena the server would give the model, under this environment's MAX_ARENA_BYTES, ARENA_SLOTS and MAX_BATCH_SIZE.
    arenaProblem: importArenaProblem({ maxBatchSize: config.batching.maxBatchSize, arenaSlots: Pipeline.mostArenaSlots(config), maxArenaBytes: config.models.maxArenaBytes }),
  });
  const batch = result.batch.fixed ? `fixed batch ${result.batch.size}` : "dynamic batch";
  console.log(`${result.replaced ? "replaced" : "imported"} ${result.modelId.id} -> ${result.dir}`);
  console.log(`  task ${result.taskType}, model type ${result.modelType}, family ${result.layout.family}`);
  console.log(`  weights ${result.weightsFile}, input ${result.imageSize.width}x${result.imageSize.height}, ${batch}`);
  console.log(`  ${result.classNames.length} classes: ${result.classNames.slice(0, 10).join(", ")}${result.classNames.length > 10 ? ", ..." : ""}`);
} catch (error) {
  if (error instanceof HttpError) fail(error.message);
  if (error instanceof Error && "code" in error) fail(`Cannot import the model: ${error.message}`);
  throw error;
}

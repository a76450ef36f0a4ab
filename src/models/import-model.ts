// Model import: turns a bring-your-own ONNX file (an Ultralytics export, or any model in a supported output layout) into a model package in the cache.
//
// importModel = inspect (ONNX Runtime: signature, metadata, one probe run for the concrete output
// shapes) → planImport (pure: task, class names, input size, output layout, model type, weights
// file name, or a 400 naming what is missing) → writeImportedPackage (the reference's layout:
// weights, environment.json, class_names.txt, model_type.json, assembled in MODEL_CACHE_DIR's
// staging area by the package writer and swapped into place whole).
import { existsSync } from "node:fs";
import { basename, dirname, relative, resolve, sep } from "node:path";
import { HttpError } from "../errors.ts";
import { modelTypeFromDescription, parsePythonLiteral, parseClassNames, parseImageSize, parseTask, validateClassName, type ImageSize } from "./export-metadata.ts";
import type { FamilyLayout } from "./families/family.ts";
import { familySelectedBy, resolveFamily, type ResolvedFamily } from "./families/table.ts";
import { InvalidModelIdError, parseModelId, type ModelId, type VersionedModelId } from "./model-id.ts";
import { resolveBatch, type TensorSignature } from "./model-io.ts";
import { BrokenPackageError, KEYPOINTS_METADATA_FILE, packageDir } from "./package.ts";
import type { TaskType } from "./task.ts";
import { weightsFileName, type PackageWriter, type StagedPackage } from "./package-writer.ts";

/** A model that cannot be imported as given: the message names what is missing or wrong. */
export class ImportError extends HttpError {
  constructor(message: string) {
    super(400, `Cannot import the model: ${message}`);
    this.name = "ImportError";
  }
}

export class ModelExistsError extends HttpError {
  constructor(id: string) {
    super(409, `Model ${id} already exists in the model cache; import it with overwrite (CLI: --force) to replace it.`);
    this.name = "ModelExistsError";
  }
}

/** What the caller says about the model; everything but the id is optional when the export's metadata says it. */
export interface ImportOptions {
  /** "dataset/version" to file the model under. */
  id: string;
  /** detect / segment / classify, or the Roboflow task names. */
  task?: string;
  classNames?: string[];
  imageSize?: ImageSize;
  /** The reference's model_type (e.g. yolov8n, yolov5v2s, yolo_nas_s, yolov10n, yolo26n, vit, resnet50). */
  modelType?: string;
}

/** What ONNX Runtime tells about an ONNX file (see onnx-inspect.ts). */
export interface OnnxInspection {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  metadata: Record<string, string>;
  /** One image's concrete output shapes (batch axis removed), from a probe run at `imageSize`. */
  outputShapes: number[][];
  /** The input size the probe ran at (and the package's resize size). */
  imageSize: ImageSize;
}

export interface ImportPlan {
  modelId: ModelId;
  taskType: TaskType;
  /** Keypoints per object of a pose export (Ultralytics' `kpt_shape`), null for other tasks. */
  keypointCount: number | null;
  modelType: string;
  weightsFile: string;
  classNames: string[];
  imageSize: ImageSize;
  layout: FamilyLayout;
  /** The ONNX batch dimension: fixed models run at that size, dynamic ones batch. */
  batch: { fixed: boolean; size: number | null };
}

export interface ImportResult extends ImportPlan {
  dir: string;
  /** True when an existing package was replaced. */
  replaced: boolean;
}

/**
 * parseModelId with the import's message: the same rules keep ids from naming paths outside the cache. Imports are
 * versioned: an instant id's directory may hold versions of the same name (`coco/` beside `coco/3/`), which the
 * import's swap of the whole directory would take with it.
 */
export function importModelId(raw: string): VersionedModelId {
  const invalid = () =>
    new ImportError(
      `invalid model id ${JSON.stringify(raw)}: expected "dataset/version", the dataset starting with a letter or digit (then letters, digits, ".", "_", "-", "~", space; no "..") and the version an integer.`,
    );
  let modelId: ModelId;
  try {
    modelId = parseModelId(raw);
  } catch (error) {
    if (!(error instanceof InvalidModelIdError)) throw error;
    throw invalid();
  }
  if (modelId.version === null) throw invalid();
  return modelId;
}

const explain = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const describeShape = (shape: readonly (number | string)[]) => `[${shape.join(", ")}]`;

/**
 * The input size of an imported model: the ONNX input's fixed height and width when it has them
 * (a requested or metadata size must then agree), else the requested size, else the export's
 * `imgsz`, else 640 × 640 (the reference's fallback).
 */
export function importImageSize(inputShape: readonly (number | string)[], requested: ImageSize | undefined, metadata: Record<string, string>): ImageSize {
  let declared: ImageSize | undefined;
  if (metadata.imgsz !== undefined) {
    try {
      declared = parseImageSize(metadata.imgsz);
    } catch (error) {
      if (!requested) throw new ImportError(`${explain(error)}; pass the input size (--imgsz).`);
    }
  }
  const wanted = requested ?? declared;
  const fixed = (dim: number | string | undefined): dim is number => typeof dim === "number" && dim > 0;
  const [height, width] = [inputShape[2], inputShape[3]];
  if (fixed(height) && fixed(width)) {
    if (requested && (requested.width !== width || requested.height !== height)) {
      throw new ImportError(`the model's input is fixed at ${width}x${height} (width x height), but ${requested.width}x${requested.height} was asked for.`);
    }
    return { width, height };
  }
  return wanted ?? { width: 640, height: 640 };
}

/** The input must be a float32 image batch [batch, 3, height, width]. */
export function checkImageInput(inputs: readonly TensorSignature[]): TensorSignature {
  const input = inputs[0];
  const channels = input?.shape[1];
  if (!input || input.elementType !== "float32" || input.shape.length !== 4 || (typeof channels === "number" && channels !== 3)) {
    const got = input ? `${input.name}: ${input.elementType} ${describeShape(input.shape)}` : "no input";
    throw new ImportError(`the model's first input must be float32 images [batch, 3, height, width]; it has ${got}.`);
  }
  return input;
}

/** The task a model's output shapes imply, or null when they fit none or several. */
export function taskFromOutputShapes(shapes: number[][]): TaskType | null {
  if (shapes.length === 1 && shapes[0]!.length === 1) return "classification";
  // RF-DETR segmentation: query boxes, logits and one mask per query.
  const [boxes, logits, masks] = shapes;
  if (shapes.length === 3 && boxes?.length === 2 && boxes[1] === 4 && logits?.length === 2 && masks?.length === 3 && masks[0] === boxes[0]) return "instance-segmentation";
  const hasPrototypes = shapes.some((s) => s.length === 3 && s[0] === 32);
  const matrices = shapes.filter((s) => s.length === 2).length;
  if (hasPrototypes && matrices >= 1) return "instance-segmentation";
  if (!hasPrototypes && matrices >= 1 && shapes.every((s) => s.length === 2 || s.length === 4)) return "object-detection";
  return null;
}

/** A pose export's keypoints per object, from Ultralytics' `kpt_shape` metadata ("[17, 3]"); an ImportError when it has none. */
export function keypointCountOf(metadata: Record<string, string>): number {
  let shape: unknown;
  try {
    shape = metadata.kpt_shape === undefined ? undefined : parsePythonLiteral(metadata.kpt_shape);
  } catch {}
  if (!Array.isArray(shape) || !Number.isInteger(shape[0]) || shape[0] < 1 || (shape[1] !== 2 && shape[1] !== 3)) {
    throw new ImportError(
      `a keypoint model needs its keypoint count: the export has no usable \`kpt_shape\` metadata (got ${JSON.stringify(metadata.kpt_shape ?? null)}); export it with Ultralytics, or write keypoints_metadata.json into a package by hand.`,
    );
  }
  return shape[0] as number;
}

/** Class names from `--classes`: a comma-separated list, or a JSON array (for names holding commas). */
export function parseClassList(text: string): string[] {
  const trimmed = text.trim();
  let names: unknown;
  if (trimmed.startsWith("[")) {
    try {
      names = JSON.parse(trimmed);
    } catch {
      throw new ImportError(`classes ${JSON.stringify(text)} is neither a comma-separated list nor a JSON array of names.`);
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) throw new ImportError("classes must be a JSON array of strings.");
  } else {
    names = trimmed.split(",").map((n) => n.trim());
  }
  const list = names as string[];
  try {
    list.forEach(validateClassName);
  } catch (error) {
    throw new ImportError(`${explain(error)} in the classes given.`);
  }
  if (list.length === 0) throw new ImportError("classes is empty.");
  return list;
}

/** `--imgsz`: one side ("640") or height and width ("480,640" or "[480, 640]", Ultralytics' order). */
export function parseImageSizeOption(text: string): ImageSize {
  const trimmed = text.trim();
  try {
    return parseImageSize(/^\d+\s*,\s*\d+$/.test(trimmed) ? `[${trimmed}]` : trimmed);
  } catch {
    throw new ImportError(`imgsz ${JSON.stringify(text)} is not a size: give one side (640) or height,width (480,640).`);
  }
}

function stripBrokenPrefix(error: unknown): string {
  const message = explain(error);
  return error instanceof BrokenPackageError ? message.replace(/^Model package is broken\.\s*/, "") : message;
}

/**
 * Decides what the package holds from the inspection and the caller's options (pure). Throws an
 * ImportError naming what is missing: the task (no `task` metadata and outputs that do not tell),
 * the class names (no `names` metadata), or a layout (outputs that fit no supported family).
 */
export function planImport(options: ImportOptions, inspection: OnnxInspection): ImportPlan {
  const modelId = importModelId(options.id);
  const input = checkImageInput(inspection.inputs);
  const { metadata, outputShapes } = inspection;
  const shapes = `outputs ${outputShapes.map((s) => `[batch, ${s.join(", ")}]`).join(", ")}`;

  let taskType: TaskType | null;
  try {
    taskType = options.task !== undefined ? parseTask(options.task) : metadata.task !== undefined ? parseTask(metadata.task) : taskFromOutputShapes(outputShapes);
  } catch (error) {
    throw new ImportError(`${explain(error)}.`);
  }
  if (!taskType) throw new ImportError(`the model does not say its task (no \`task\` metadata) and its ${shapes} do not tell; pass the task (--task detect, segment or classify).`);

  let classNames = options.classNames;
  if (!classNames) {
    if (metadata.names === undefined) throw new ImportError(`the model has no class names (no \`names\` metadata); pass them (--classes a,b,c).`);
    try {
      classNames = parseClassNames(metadata.names);
    } catch (error) {
      throw new ImportError(`${explain(error)}; pass the class names (--classes a,b,c).`);
    }
  }

  const keypointCount = taskType === "keypoint-detection" ? keypointCountOf(metadata) : null;
  const requestedType = options.modelType?.trim() || undefined;
  const describedType = modelTypeFromDescription(metadata.description) ?? undefined;
  const hint = requestedType ?? describedType ?? "";
  let resolved: ResolvedFamily;
  try {
    resolved = resolveFamily(taskType, hint, outputShapes, {
      classNames,
      multiLabel: false,
      outputNames: inspection.outputs.map((o) => o.name),
      maxKeypoints: keypointCount,
      input: inspection.imageSize,
      resize: { method: "stretch", padRgb: [0, 0, 0], width: inspection.imageSize.width, height: inspection.imageSize.height },
    });
  } catch (error) {
    throw new ImportError(`its ${shapes} fit no supported ${taskType} layout for ${classNames.length} classes. ${stripBrokenPrefix(error)}`);
  }
  const { family, layout } = resolved;
  const named = familySelectedBy(taskType, hint);
  if (named && named !== family) {
    throw new ImportError(`model type "${hint}" is a ${named.name} model, but the ${shapes} fit the ${family.name} layout; pass a matching model type.`);
  }
  const modelType = requestedType ?? (describedType && familySelectedBy(taskType, describedType) === family ? describedType : family.defaultModelType);
  const batch = resolveBatch(input.shape, 1);
  return {
    modelId,
    taskType,
    keypointCount,
    modelType,
    weightsFile: weightsFileName(taskType, modelType),
    classNames,
    imageSize: inspection.imageSize,
    layout,
    batch: { fixed: batch.fixed, size: batch.fixed ? batch.capacity : null },
  };
}

/** The reference's environment.json, class_names.txt and model_type.json for a plan (pure). */
export function packageFiles(plan: ImportPlan): Record<string, string> {
  const environment = {
    PREPROCESSING: {
      "auto-orient": { enabled: true },
      resize: { enabled: true, format: "Stretch to", width: plan.imageSize.width, height: plan.imageSize.height },
    },
    CLASS_MAP: Object.fromEntries(plan.classNames.map((name, i) => [String(i), name])),
  };
  const modelType = { project_task_type: plan.taskType, model_type: plan.modelType, model_id: plan.modelId.id };
  const files: Record<string, string> = {
    "environment.json": JSON.stringify(environment, null, 2) + "\n",
    "class_names.txt": plan.classNames.join("\n") + "\n",
    "model_type.json": JSON.stringify(modelType, null, 4) + "\n",
  };
  if (plan.keypointCount !== null) files[KEYPOINTS_METADATA_FILE] = JSON.stringify(keypointsMetadataFor(plan.classNames.length, plan.keypointCount), null, 2) + "\n";
  return files;
}

/**
 * keypoints_metadata.json for an export that carries only its keypoint count: every class has that many keypoints,
 * named by their index (an Ultralytics export names none; rename them in the file to name them in answers).
 */
export function keypointsMetadataFor(classCount: number, keypointCount: number): { object_class_id: number; keypoints: Record<string, string> }[] {
  const keypoints = Object.fromEntries(Array.from({ length: keypointCount }, (_, j) => [String(j), String(j)]));
  return Array.from({ length: classCount }, (_, classId) => ({ object_class_id: classId, keypoints }));
}

/** The package directory of `modelId`, refusing any path that would leave the cache. */
export function importTargetDir(cacheDir: string, modelId: ModelId): string {
  const root = resolve(cacheDir);
  const dir = resolve(packageDir(root, modelId));
  const inside = relative(root, dir);
  if (inside === "" || inside.startsWith("..") || inside.startsWith(sep) || resolve(root, inside) !== dir) {
    throw new ImportError(`model id ${modelId.id} does not name a directory inside the model cache.`);
  }
  return dir;
}

/**
 * Writes the package into `staged` and swaps it into place whole: readers see the old package or the new one, never a
 * mix. An existing package is replaced only with `overwrite` (its old weights file, whatever its name, goes with it).
 * The weights are moved when they are already staged (an upload), else copied.
 */
export async function writeImportedPackage(staged: StagedPackage, cacheDir: string, plan: ImportPlan, weightsPath: string, overwrite: boolean): Promise<ImportResult> {
  const dir = importTargetDir(cacheDir, plan.modelId);
  if (existsSync(dir) && !overwrite) throw new ModelExistsError(plan.modelId.id);
  for (const [name, contents] of Object.entries(packageFiles(plan))) await staged.writeFile(name, contents);
  if (dirname(resolve(weightsPath)) === resolve(staged.dir)) await staged.renameFile(basename(weightsPath), plan.weightsFile);
  else await staged.copyIn(plan.weightsFile, weightsPath);
  const outcome = await staged.installReplacing(dir, overwrite);
  // Another import of the same id finished first.
  if (outcome === "kept") throw new ModelExistsError(plan.modelId.id);
  return { ...plan, dir, replaced: outcome === "replaced" };
}

export interface ImportEnvironment {
  cacheDir: string;
  /** Stages the package inside the cache (see package-writer.ts). */
  writer: PackageWriter;
  /** Reads the ONNX file with ONNX Runtime (in this thread for the CLI, in a worker for the server). */
  inspect: (path: string, imageSize: ImageSize | undefined) => Promise<OnnxInspection>;
  overwrite?: boolean;
  /** The staging directory the ONNX file was uploaded into, if it was (its weights are then moved, not copied). */
  staged?: StagedPackage;
  /** Why the server could not give a model of this batch, input size and outputs its arena (MAX_ARENA_BYTES), or null. */
  arenaProblem?: (batch: ImportPlan["batch"], input: ImageSize, outputShapes: number[][]) => string | null;
}

/** Inspects `onnxPath`, plans the package and writes it into the cache. */
export async function importModel(onnxPath: string, options: ImportOptions, env: ImportEnvironment): Promise<ImportResult> {
  const modelId = importModelId(options.id);
  // Refuse an existing package before the (possibly slow) inspection.
  if (!env.overwrite && existsSync(importTargetDir(env.cacheDir, modelId))) throw new ModelExistsError(modelId.id);
  const inspection = await env.inspect(onnxPath, options.imageSize);
  const plan = planImport(options, inspection);
  const arenaProblem = env.arenaProblem?.(plan.batch, plan.imageSize, inspection.outputShapes);
  if (arenaProblem) throw new ImportError(arenaProblem);
  const staged = env.staged ?? (await env.writer.stage(`import~${modelId.id}`));
  try {
    return await writeImportedPackage(staged, env.cacheDir, plan, onnxPath, env.overwrite ?? false);
  } finally {
    if (!env.staged) await staged.discard();
  }
}

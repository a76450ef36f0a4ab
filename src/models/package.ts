// Model package: the reference's on-disk layout of one model (`<cache>/<dataset>/<version>/` or `<cache>/<instant id>/`), read and validated.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { HttpError } from "../errors.ts";
import { parseKeypointsMetadata, type KeypointsMetadata } from "../vision/keypoints.ts";
import { parsePreprocessing, type PreprocessConfig } from "../vision/preprocess-config.ts";
import { cacheSubdir, cacheSubdirCandidates } from "./cache-layout.ts";
import type { ModelId } from "./model-id.ts";

/** Weights file names the reference writes, by family; the first one present is used. */
export const WEIGHTS_FILES = ["weights.onnx", "yolov5s_weights.onnx", "best.onnx"];

export interface ModelPackage {
  modelId: ModelId;
  dir: string;
  weightsPath: string;
  taskType: string;
  modelType: string;
  classNames: string[];
  preprocessing: PreprocessConfig;
  /** environment.json COLORS (class name -> "#RRGGBB"), or null when it has none (the default palette applies). */
  colors: Record<string, string> | null;
  /** environment.json MULTICLASS: a multi-label classifier. */
  multiLabel: boolean;
  /** environment.json as written (families read their own keys from it, e.g. RF-DETR's RESOLUTION). */
  environment: Record<string, unknown>;
  /** keypoints_metadata.json of a keypoint model (docs/model-families.md §4.1); null for other tasks. */
  keypoints: KeypointsMetadata | null;
}

/** The file a keypoint model's package must hold: the names (and skeleton edges) of every class's keypoints. */
export const KEYPOINTS_METADATA_FILE = "keypoints_metadata.json";

export class ModelNotFoundError extends HttpError {
  constructor() {
    super(404, "Requested Roboflow resource not found. Make sure that workspace, project or model you referred in request exists.");
  }
}

export class UnsupportedTaskError extends HttpError {
  constructor(key: string, taskType: string) {
    super(501, `Task type "${taskType}" of model ${key} is not supported by this server.`);
  }
}

export class BrokenPackageError extends HttpError {
  constructor(detail: string) {
    super(500, `Model package is broken. ${detail}`);
  }
}

/** Where the package of `modelId` is written: `<cache>/<id>` (`<dataset>/<version>` for a version), or a slug directory for ids that are not portable paths. */
export function packageDir(cacheDir: string, modelId: ModelId): string {
  return join(cacheDir, cacheSubdir(modelId));
}

/** The files that make a directory a package: an instant id's directory may hold nothing but versions (`coco/` of `coco/3/`). */
const PACKAGE_FILES = ["environment.json", "model_type.json", "class_names.txt", KEYPOINTS_METADATA_FILE, ...WEIGHTS_FILES];

/** Where the package of `modelId` is, if anywhere: its directory, else the raw `<dataset>/<version>` older releases used. */
export function findPackageDir(cacheDir: string, modelId: ModelId): string | null {
  for (const sub of cacheSubdirCandidates(modelId)) {
    const dir = join(cacheDir, sub);
    if (PACKAGE_FILES.some((name) => existsSync(join(dir, name)))) return dir;
  }
  return null;
}

/** True when `dir` holds a usable package: environment.json and a weights file. */
export function isCompletePackage(dir: string): boolean {
  return existsSync(join(dir, "environment.json")) && WEIGHTS_FILES.some((name) => existsSync(join(dir, name)));
}

/** The directory of a usable package for `modelId` in the cache, or null when there is none. */
export function cachedPackageDir(cacheDir: string, modelId: ModelId): string | null {
  return (
    cacheSubdirCandidates(modelId)
      .map((sub) => join(cacheDir, sub))
      .find(isCompletePackage) ?? null
  );
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    // The path and the system's message go to the log only: responses never name server paths.
    console.error(`model package: cannot read ${path}: ${(error as Error).message}`);
    throw new BrokenPackageError(`Cannot read ${basename(path)}.`);
  }
}

function classNamesFromClassMap(classMap: unknown): string[] {
  if (!classMap || typeof classMap !== "object") return [];
  const map = classMap as Record<string, unknown>;
  const names: string[] = [];
  for (let i = 0; String(i) in map; i++) names.push(String(map[String(i)]));
  return names;
}

/** Reads a package from the cache, or throws 404 when it is not there and 500 when it is incomplete. */
export async function readModelPackage(cacheDir: string, modelId: ModelId): Promise<ModelPackage> {
  const dir = findPackageDir(cacheDir, modelId);
  if (!dir) throw new ModelNotFoundError();
  const weightsName = WEIGHTS_FILES.find((name) => existsSync(join(dir, name)));
  if (!weightsName) throw new BrokenPackageError(`No weights file (${WEIGHTS_FILES.join(", ")}) in the package of ${modelId.id}.`);

  const environment = (await readJson(join(dir, "environment.json"))) as Record<string, unknown>;
  let preprocessing: PreprocessConfig;
  try {
    preprocessing = parsePreprocessing(environment.PREPROCESSING);
  } catch (error) {
    throw new HttpError(500, `Model configuration related to pre- or post-processing is invalid. ${(error as Error).message}`);
  }

  const modelTypePath = join(dir, "model_type.json");
  const modelType = existsSync(modelTypePath) ? ((await readJson(modelTypePath)) as Record<string, unknown>) : {};

  const taskType = typeof modelType.project_task_type === "string" ? modelType.project_task_type : "object-detection";
  // The reference reads class_names.txt for detection and segmentation, CLASS_MAP for classification.
  const classNamesPath = join(dir, "class_names.txt");
  const fromMap = classNamesFromClassMap(environment.CLASS_MAP);
  const classNames =
    existsSync(classNamesPath) && !(taskType === "classification" && fromMap.length > 0)
      ? (await readFile(classNamesPath, "utf8"))
          .split("\n")
          .map((l) => l.replace(/\r$/, ""))
          .filter((l) => l.length > 0)
      : fromMap;
  if (classNames.length === 0) throw new BrokenPackageError(`No class names (class_names.txt or CLASS_MAP) in the package of ${modelId.id}.`);

  const colors = environment.COLORS && typeof environment.COLORS === "object" ? (environment.COLORS as Record<string, string>) : null;
  const keypoints = taskType === "keypoint-detection" ? await readKeypointsMetadata(dir, modelId) : null;
  return {
    modelId,
    dir,
    weightsPath: join(dir, weightsName),
    taskType,
    modelType: typeof modelType.model_type === "string" ? modelType.model_type : "yolov8",
    classNames,
    preprocessing,
    colors,
    multiLabel: environment.MULTICLASS === true,
    environment,
    keypoints,
  };
}

/** A keypoint package's keypoints_metadata.json, or "Model package is broken." naming the file and what is wrong with it. */
async function readKeypointsMetadata(dir: string, modelId: ModelId): Promise<KeypointsMetadata> {
  const path = join(dir, KEYPOINTS_METADATA_FILE);
  if (!existsSync(path)) {
    throw new BrokenPackageError(
      `${KEYPOINTS_METADATA_FILE} is missing from the package of ${modelId.id}: a keypoint model needs the names of its keypoints (the Roboflow API's keypoints_metadata).`,
    );
  }
  try {
    return parseKeypointsMetadata(await readJson(path), KEYPOINTS_METADATA_FILE);
  } catch (error) {
    if (error instanceof BrokenPackageError) throw error;
    throw new BrokenPackageError((error as Error).message);
  }
}

// Built-in demo: the three shape models trained by scripts/demo/train.py (weights committed in src/demo/models, how they
// were made in src/demo/models/MANIFEST), installed into the model cache on first start with no network and no Python.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseModelId } from "../models/model-id.ts";
import { packageDir } from "../models/package.ts";
import { type PackageWriter, weightsFileName } from "../models/package-writer.ts";

export const DEMO_CLASSES = ["circle", "square", "triangle", "hex-nut", "blob"];
const DEMO_COLORS: Record<string, string> = { circle: "#4892EA", square: "#00EEC3", triangle: "#FE4EF0", "hex-nut": "#FA7200", blob: "#90FF00" };

export const DEMO_DETECTION_ID = "demo-shapes/1";
export const DEMO_SEGMENTATION_ID = "demo-shapes-seg/1";
export const DEMO_CLASSIFICATION_ID = "demo-shapes-cls/1";

/** One demo package: the committed weights and the metadata a Roboflow package carries with them (spec §3.2). */
export interface DemoPackage {
  modelId: string;
  taskType: "object-detection" | "instance-segmentation" | "classification";
  /** The reference's model type: names the family whose decoding the outputs get. */
  modelType: string;
  /** File in src/demo/models. */
  weights: string;
  inputSize: number;
}

export const MODELS_DIR = join(import.meta.dir, "models");

/** The demo packages, the detector under `detectionId` (DEMO_MODEL_ID). */
export function demoPackages(detectionId: string = DEMO_DETECTION_ID): DemoPackage[] {
  return [
    { modelId: detectionId, taskType: "object-detection", modelType: "yolov8n", weights: "detect.onnx", inputSize: 320 },
    { modelId: DEMO_SEGMENTATION_ID, taskType: "instance-segmentation", modelType: "yolov8n-seg", weights: "segment.onnx", inputSize: 320 },
    { modelId: DEMO_CLASSIFICATION_ID, taskType: "classification", modelType: "yolov8n-cls", weights: "classify.onnx", inputSize: 128 },
  ];
}

/** The package's files other than the weights: what a Roboflow export of these models would carry. */
function metadataFiles(pkg: DemoPackage): Record<string, string> {
  const environment = {
    PREPROCESSING: {
      "auto-orient": { enabled: true },
      resize: { enabled: true, width: pkg.inputSize, height: pkg.inputSize, format: "Stretch to" },
    },
    CLASS_MAP: Object.fromEntries(DEMO_CLASSES.map((name, i) => [String(i), name])),
    COLORS: DEMO_COLORS,
  };
  const files: Record<string, string> = {
    "environment.json": JSON.stringify(environment, null, 2),
    "model_type.json": JSON.stringify({ project_task_type: pkg.taskType, model_type: pkg.modelType, model_id: pkg.modelId }, null, 4),
  };
  // The reference reads class names from class_names.txt for detection and segmentation, from CLASS_MAP for classification.
  if (pkg.taskType !== "classification") files["class_names.txt"] = DEMO_CLASSES.join("\n") + "\n";
  return files;
}

/** Written last into a package: what it was installed from, so a changed demo (or an older demo in the cache) is replaced. */
const STAMP_FILE = ".demo-stamp";

/**
 * Writes each demo package into `cacheDir` unless the one there was installed from the same files, staged and
 * installed whole by `writer` (readers see the old package or the new one, never a mix). Returns the ids it wrote
 * (empty when all were current, or another server starting on the same cache installed them first).
 */
export async function installDemoModels(cacheDir: string, writer: PackageWriter, detectionId: string = DEMO_DETECTION_ID): Promise<string[]> {
  const installed: string[] = [];
  for (const pkg of demoPackages(detectionId)) {
    const weights = new Uint8Array(await readFile(join(MODELS_DIR, pkg.weights)));
    const files = metadataFiles(pkg);
    const stamp = `${Bun.hash(weights).toString(16)} ${Bun.hash(JSON.stringify(files)).toString(16)}`;
    const dir = packageDir(cacheDir, parseModelId(pkg.modelId));
    const stampPath = join(dir, STAMP_FILE);
    if (existsSync(stampPath) && (await readFile(stampPath, "utf8")) === stamp) continue;
    const staged = await writer.stage(`demo~${pkg.modelId}`);
    try {
      for (const [name, contents] of Object.entries(files)) await staged.writeFile(name, contents);
      await staged.writeFile(weightsFileName(pkg.taskType, pkg.modelType), weights);
      await staged.writeFile(STAMP_FILE, stamp);
      if ((await staged.installReplacing(dir, true)) !== "kept") installed.push(pkg.modelId);
    } finally {
      await staged.discard();
    }
  }
  return installed;
}

// Model spec: what every thread needs to know about a model to work on its images, resolved from its package and its session.
import type { KeypointsMetadata } from "../vision/keypoints.ts";
import type { PreprocessConfig } from "../vision/preprocess-config.ts";
import type { ModelInput } from "../vision/preprocess.ts";
import type { FamilyLayout, PackageLimits } from "./families/family.ts";
import { checkPackageBeforeLoad, resolveFamily } from "./families/table.ts";
import { resolveBatch, resolveInputSize, type SessionSignature } from "./model-io.ts";
import { BrokenPackageError, UnsupportedTaskError, type ModelPackage } from "./package.ts";
import { TASK_TYPES, type TaskType } from "./task.ts";
import type { SoftmaxRule } from "./tasks/classification.ts";

export interface ModelSpec {
  /** The id requests name it by (an alias when one was asked for). */
  key: string;
  taskType: TaskType;
  /** How to decode its outputs; names its family (families/table.ts). */
  layout: FamilyLayout;
  /** The class names its answers use (RF-DETR's background line removed). */
  classNames: string[];
  /** Class name -> "#RRGGBB" from environment.json COLORS (null: the default palette), for visualisations. */
  colors: Record<string, string> | null;
  preprocessing: PreprocessConfig;
  input: ModelInput & {
    name: string;
    /** Normalise, then resize in float with padding in normalised units (RF-DETR), instead of resizing the decoded pixels. */
    normalisesBeforeResizing: boolean;
  };
  /** A fixed ONNX batch dimension runs at that size; a dynamic one batches up to `capacity` (MAX_BATCH_SIZE). */
  batch: { capacity: number; fixed: boolean };
  /** Keypoint names and skeleton edges per class (keypoint models). */
  keypoints: KeypointsMetadata | null;
  /** How single-label class scores become probabilities (CLASSIFICATION_SOFTMAX). */
  softmaxRule: SoftmaxRule;
}

/** The models section's settings that shape a spec. */
export interface SpecSettings extends PackageLimits {
  maxBatchSize: number;
  classificationSoftmax: SoftmaxRule;
}

/** Refuses a package no session should be created for (501 for a task this server does not serve, RF-DETR's 507 resolution guard). */
export function checkPackage(key: string, pkg: ModelPackage, limits: PackageLimits): void {
  checkPackageBeforeLoad(supportedTask(key, pkg.taskType), pkg.modelType, pkg.environment, limits);
}

/** The spec of the package `pkg` loaded under `key`, from its session's signature; "Model package is broken." when they disagree. */
export function resolveModelSpec(key: string, pkg: ModelPackage, session: SessionSignature, settings: SpecSettings): ModelSpec {
  const taskType = supportedTask(key, pkg.taskType);
  const input = session.inputs[0];
  if (!input) throw new BrokenPackageError("The model has no input.");
  if (session.outputs.some((o) => o.elementType !== "float32")) {
    throw new BrokenPackageError(`Only float32 outputs are supported (outputs: ${session.outputs.map((o) => `${o.name}: ${o.elementType}`).join(", ")}).`);
  }
  const { resize } = pkg.preprocessing;
  const size = resolveInputSize(input.shape, { width: resize.width, height: resize.height });
  const { family, layout } = resolveFamily(taskType, pkg.modelType, session.outputShapes, {
    classNames: pkg.classNames,
    multiLabel: pkg.multiLabel,
    outputNames: session.outputs.map((o) => o.name),
    maxKeypoints: pkg.keypoints?.maxKeypoints ?? null,
    input: size,
    resize,
  });
  const normalisation = family.normalisation(pkg.modelType);
  return {
    key,
    taskType,
    layout,
    classNames: family.responseClassNames?.(pkg.classNames) ?? pkg.classNames,
    colors: pkg.colors,
    preprocessing: pkg.preprocessing,
    input: {
      name: input.name,
      width: size.width,
      height: size.height,
      mean: [...normalisation.mean],
      std: [...normalisation.std],
      normalisesBeforeResizing: family.normalisesBeforeResizing ?? false,
    },
    batch: resolveBatch(input.shape, settings.maxBatchSize),
    keypoints: pkg.keypoints,
    softmaxRule: settings.classificationSoftmax,
  };
}

/** A package's task, or 501 for one this server does not serve. */
export function supportedTask(key: string, taskType: string): TaskType {
  if (!TASK_TYPES.includes(taskType as TaskType)) throw new UnsupportedTaskError(key, taskType);
  return taskType as TaskType;
}

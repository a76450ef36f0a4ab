// Model spec: what every thread needs to know about a model to work on its images, resolved from its package and its session.
import type { PreprocessConfig } from "../vision/preprocess-config.ts";
import type { ModelInput } from "../vision/preprocess.ts";
import type { FamilyLayout } from "./families/family.ts";
import { resolveFamily } from "./families/table.ts";
import { resolveBatch, resolveInputSize, type SessionSignature } from "./model-io.ts";
import { BrokenPackageError, UnsupportedTaskError, type ModelPackage } from "./package.ts";
import { TASK_TYPES, type TaskType } from "./task.ts";

export interface ModelSpec {
  /** The id requests name it by (an alias when one was asked for). */
  key: string;
  taskType: TaskType;
  /** How to decode its outputs; names its family (families/table.ts). */
  layout: FamilyLayout;
  classNames: string[];
  /** Class name -> "#RRGGBB" from environment.json COLORS (null: the default palette), for visualisations. */
  colors: Record<string, string> | null;
  preprocessing: PreprocessConfig;
  input: ModelInput & { name: string };
  /** A fixed ONNX batch dimension runs at that size; a dynamic one batches up to `capacity` (MAX_BATCH_SIZE). */
  batch: { capacity: number; fixed: boolean };
}

/** The spec of the package `pkg` loaded under `key`, from its session's signature; "Model package is broken." when they disagree. */
export function resolveModelSpec(key: string, pkg: ModelPackage, session: SessionSignature, maxBatchSize: number): ModelSpec {
  const taskType = supportedTask(key, pkg.taskType);
  const input = session.inputs[0];
  if (!input) throw new BrokenPackageError("The model has no input.");
  if (session.outputs.some((o) => o.elementType !== "float32")) {
    throw new BrokenPackageError(`Only float32 outputs are supported (outputs: ${session.outputs.map((o) => `${o.name}: ${o.elementType}`).join(", ")}).`);
  }
  const { family, layout } = resolveFamily(taskType, pkg.modelType, session.outputShapes, { classCount: pkg.classNames.length, multiLabel: pkg.multiLabel });
  const size = resolveInputSize(input.shape, { width: pkg.preprocessing.resize.width, height: pkg.preprocessing.resize.height });
  const normalisation = family.normalisation(pkg.modelType);
  return {
    key,
    taskType,
    layout,
    classNames: pkg.classNames,
    colors: pkg.colors,
    preprocessing: pkg.preprocessing,
    input: { name: input.name, width: size.width, height: size.height, mean: [...normalisation.mean], std: [...normalisation.std] },
    batch: resolveBatch(input.shape, maxBatchSize),
  };
}

/** A package's task, or 501 for one this server does not serve. */
export function supportedTask(key: string, taskType: string): TaskType {
  if (!TASK_TYPES.includes(taskType as TaskType)) throw new UnsupportedTaskError(key, taskType);
  return taskType as TaskType;
}

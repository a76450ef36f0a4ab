// Family table: every model family the server serves, one row each; resolution picks a package's family and layout from it.
//
// Adding a family = one file in this folder and one row here (README "Code map"). Order matters only among families
// that recognise the same outputs without a model type naming them: the first one listed wins.
import { BrokenPackageError } from "../package.ts";
import type { TaskType } from "../task.ts";
import { DINOV3 } from "./dinov3.ts";
import { describeShapes, type FamilyLayout, type ModelFamily, type RecognitionContext } from "./family.ts";
import { RESNET } from "./resnet.ts";
import { VIT } from "./vit.ts";
import { YOLO26 } from "./yolo26.ts";
import { YOLONAS } from "./yolonas.ts";
import { YOLOV10 } from "./yolov10.ts";
import { YOLOV5 } from "./yolov5.ts";
import { YOLOV5_SEG } from "./yolov5-seg.ts";
import { YOLOV8 } from "./yolov8.ts";
import { YOLOV8_CLS } from "./yolov8-cls.ts";
import { YOLOV8_SEG } from "./yolov8-seg.ts";

export const FAMILIES: readonly ModelFamily[] = [YOLOV8, YOLOV5, YOLONAS, YOLOV10, YOLO26, YOLOV8_SEG, YOLOV5_SEG, YOLOV8_CLS, VIT, RESNET, DINOV3];

const BY_NAME = new Map(FAMILIES.map((family) => [family.name, family]));

/** The family a layout names (layouts cross threads as plain data). */
export function familyOf(layout: FamilyLayout): ModelFamily {
  const family = BY_NAME.get(layout.family);
  if (!family) throw new Error(`no model family named ${layout.family}`);
  return family;
}

/** The family of `task` that `modelType` names, if any. */
export function familySelectedBy(task: TaskType, modelType: string): ModelFamily | null {
  return FAMILIES.find((family) => family.task === task && modelType.trim() !== "" && family.selects(modelType)) ?? null;
}

export interface ResolvedFamily {
  family: ModelFamily;
  layout: FamilyLayout;
}

const TASK_NOUN: Record<TaskType, string> = {
  "object-detection": "detection",
  "instance-segmentation": "segmentation",
  classification: "classification",
};

/**
 * The family and layout of a model of `task` whose one-image outputs have `shapes`. The family `modelType` names is
 * tried first, then every family recognised without a model type, so a package whose model type is missing or generic
 * still decodes by its shapes. Throws "Model package is broken." naming what was expected and what was found.
 */
export function resolveFamily(task: TaskType, modelType: string, shapes: number[][], context: RecognitionContext): ResolvedFamily {
  const ofTask = FAMILIES.filter((family) => family.task === task);
  const named = familySelectedBy(task, modelType);
  const order = named ? [named, ...ofTask.filter((f) => f !== named && f.recognisedWithoutModelType)] : ofTask.filter((f) => f.recognisedWithoutModelType);
  for (const family of order) {
    const layout = family.recognise(shapes, context);
    if (layout) return { family, layout };
  }
  const expected = [...new Set(ofTask.map((family) => family.expects(context)))];
  const list = expected.length > 1 ? `${expected.slice(0, -1).join(", ")} or ${expected.at(-1)}` : expected[0];
  throw new BrokenPackageError(`Expected ${TASK_NOUN[task]} outputs for ${context.classCount} classes: ${list}; got ${describeShapes(shapes)}.`);
}

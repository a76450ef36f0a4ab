// Family table: every model family the server serves, one row each; resolution picks a package's family and layout from it.
//
// Adding a family = one file in this folder and one row here (README "Code map"). Order matters only among families
// that recognise the same outputs without a model type naming them: the first one listed wins.
import { BrokenPackageError } from "../package.ts";
import type { TaskType } from "../task.ts";
import { DINOV3 } from "./dinov3.ts";
import { describeShapes, type FamilyLayout, type ModelFamily, type PackageLimits, type RecognitionContext } from "./family.ts";
import { RESNET } from "./resnet.ts";
import { VIT } from "./vit.ts";
import { RFDETR, RFDETR_SEG } from "./rfdetr.ts";
import { YOLO26 } from "./yolo26.ts";
import { YOLO26_POSE } from "./yolo26-pose.ts";
import { YOLO26_SEG } from "./yolo26-seg.ts";
import { YOLONAS } from "./yolonas.ts";
import { YOLOV10 } from "./yolov10.ts";
import { YOLOV5 } from "./yolov5.ts";
import { YOLOV5_SEG } from "./yolov5-seg.ts";
import { YOLOV8 } from "./yolov8.ts";
import { YOLOV8_CLS } from "./yolov8-cls.ts";
import { YOLOV8_POSE } from "./yolov8-pose.ts";
import { YOLOV8_SEG } from "./yolov8-seg.ts";

export const FAMILIES: readonly ModelFamily[] = [
  // object detection
  YOLOV8,
  YOLOV5,
  YOLONAS,
  YOLOV10,
  YOLO26,
  RFDETR,
  // instance segmentation
  YOLOV8_SEG,
  YOLOV5_SEG,
  YOLO26_SEG,
  RFDETR_SEG,
  // keypoint detection
  YOLOV8_POSE,
  YOLO26_POSE,
  // classification
  YOLOV8_CLS,
  VIT,
  RESNET,
  DINOV3,
];

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
  "keypoint-detection": "keypoint",
  classification: "classification",
};

/**
 * The family and layout of a model of `task` whose one-image outputs have `shapes`. The family `modelType` names is
 * tried first, then the families its output names identify, then every family recognised by its shapes alone, so a
 * package whose model type is missing or generic still decodes. Throws "Model package is broken." naming what was
 * expected and what was found.
 */
export function resolveFamily(task: TaskType, modelType: string, shapes: number[][], context: RecognitionContext): ResolvedFamily {
  const ofTask = FAMILIES.filter((family) => family.task === task);
  const named = familySelectedBy(task, modelType);
  const byNames = ofTask.filter((f) => f !== named && f.recognisedByOutputNames?.(context.outputNames));
  const byShapes = ofTask.filter((f) => f !== named && !byNames.includes(f) && f.recognisedWithoutModelType);
  const order = [...(named ? [named] : []), ...byNames, ...byShapes];
  for (const family of order) {
    const layout = family.recognise(shapes, context);
    if (layout) return { family, layout };
  }
  const expected = [...new Set(ofTask.map((family) => family.expects(context)))];
  const list = expected.length > 1 ? `${expected.slice(0, -1).join(", ")} or ${expected.at(-1)}` : expected[0];
  throw new BrokenPackageError(`Expected ${TASK_NOUN[task]} outputs for ${context.classNames.length} classes: ${list}; got ${describeShapes(shapes)}.`);
}

/** The family a package's model type selects, if it is one whose packages are checked before loading (checkPackage). */
export function checkPackageBeforeLoad(task: TaskType, modelType: string, environment: Record<string, unknown>, limits: PackageLimits): void {
  familySelectedBy(task, modelType)?.checkPackage?.(environment, limits);
}

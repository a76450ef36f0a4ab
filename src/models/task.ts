// Tasks: the kinds of answer the server gives (detections, masks, keypoints, classes) and each task's per-request parameters.

export type TaskType = "object-detection" | "instance-segmentation" | "keypoint-detection" | "classification";

export const TASK_TYPES: readonly TaskType[] = ["object-detection", "instance-segmentation", "keypoint-detection", "classification"];

/** The route that serves each task's models. */
export const ROUTE_OF_TASK: Record<TaskType, string> = {
  "object-detection": "/infer/object_detection",
  "instance-segmentation": "/infer/instance_segmentation",
  "keypoint-detection": "/infer/keypoints_detection",
  classification: "/infer/classification",
};

/** Per-request postprocessing parameters of every detecting task (request fields `confidence`, `iou_threshold`, …). */
export interface DetectionParams {
  confidence: number;
  iouThreshold: number;
  classAgnosticNms: boolean;
  maxDetections: number;
  /** Class names to keep; null or empty keeps all (the reference tests `not class_filter`). */
  classFilter: string[] | null;
}

/** The request defaults of every detecting task (docs/compatibility.md §2.3). */
export const DETECTION_DEFAULTS = { confidence: 0.4, iouThreshold: 0.3, maxDetections: 300 } as const;

export type MaskDecodeMode = "accurate" | "fast" | "tradeoff";

/** How an instance's mask is answered: a polygon (the default) or COCO compressed RLE (docs/model-families.md §5). */
export type MaskFormat = "polygon" | "rle";

/** Request fields of instance segmentation beyond detection's. */
export interface MaskParams {
  maskDecodeMode: MaskDecodeMode;
  tradeoffFactor: number;
  maskFormat: MaskFormat;
}

/** Per-request postprocessing parameters, by task. */
export type TaskParams =
  | { task: "object-detection"; detection: DetectionParams }
  | { task: "instance-segmentation"; detection: DetectionParams; masks: MaskParams }
  /** `keypointConfidence`: keypoints below it are left out (the reference ignores its own field; docs/model-families.md §4.2). */
  | { task: "keypoint-detection"; detection: DetectionParams; keypointConfidence: number }
  | { task: "classification"; confidence: number };

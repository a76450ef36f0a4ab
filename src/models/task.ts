// Tasks: the kinds of answer the server gives (detections, masks, classes) and each task's per-request parameters.

export type TaskType = "object-detection" | "instance-segmentation" | "classification";

export const TASK_TYPES: readonly TaskType[] = ["object-detection", "instance-segmentation", "classification"];

/** The route that serves each task's models. */
export const ROUTE_OF_TASK: Record<TaskType, string> = {
  "object-detection": "/infer/object_detection",
  "instance-segmentation": "/infer/instance_segmentation",
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

/** Per-request postprocessing parameters, by task. */
export type TaskParams =
  | { task: "object-detection"; detection: DetectionParams }
  | { task: "instance-segmentation"; detection: DetectionParams; maskDecodeMode: MaskDecodeMode; tradeoffFactor: number }
  | { task: "classification"; confidence: number };

// Object-detection predictions: one image's raw outputs, of any detection family, to the reference's response predictions (decode, NMS, rescale, filter).
import { rescaleBoxes, responseBox, type RescaleGeometry } from "../../vision/boxes.ts";
import { gatherBoxes, nonMaxSuppression, type DetectionCandidates } from "../../vision/nms.ts";
import type { OutputLayout } from "../../workers/protocol.ts";
import { decodeEndToEndDetections } from "./end-to-end.ts";
import { decodeYoloNasDetections } from "./yolonas.ts";
import { decodeYolov5Detections } from "./yolov5.ts";
import { decodeYolov8Detections } from "./yolov8.ts";

/** Per-request postprocessing parameters (request fields `confidence`, `iou_threshold`, …). */
export interface DetectionParams {
  confidence: number;
  iouThreshold: number;
  classAgnosticNms: boolean;
  maxDetections: number;
  /** Class names to keep; null or empty keeps all (the reference tests `not class_filter`). */
  classFilter: string[] | null;
}

/** Shape of one image's YOLOv8-family output: (4 + numClasses) rows × numAnchors. */
export interface DetectionOutputLayout {
  numClasses: number;
  numAnchors: number;
}

/** One prediction as the reference serialises it (`class` is the aliased `class_name`). */
export interface ObjectDetectionPrediction {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
  detection_id: string;
}

/** Decode → NMS → max_detections → rescale → build → class_filter, for a YOLOv8-family output. */
export function postprocessObjectDetection(
  output: Float32Array,
  layout: DetectionOutputLayout,
  params: DetectionParams,
  geometry: RescaleGeometry,
  classNames: string[],
): ObjectDetectionPrediction[] {
  const candidates = decodeYolov8Detections(output, layout.numClasses, layout.numAnchors, params.confidence);
  return predictionsFromCandidates(candidates, params, geometry, classNames);
}

/** The output layouts of the detection families (what postprocessDetectionOutputs decodes). */
export type DetectionLayout = Extract<OutputLayout, { kind: "yolov8-detection" | "yolov5-detection" | "yolonas-detection" | "end-to-end-detection" }>;

export function isDetectionLayout(layout: OutputLayout): layout is DetectionLayout {
  return layout.kind === "yolov8-detection" || layout.kind === "yolov5-detection" || layout.kind === "yolonas-detection" || layout.kind === "end-to-end-detection";
}

/**
 * One image's predictions for any detection family: `outputOf(i)` is that image's view of model
 * output i. YOLOv8, YOLOv5 and YOLO-NAS decode to candidates that go through NMS; the end-to-end
 * families (YOLOv10, YOLO26) are already suppressed and only filtered (see end-to-end.ts).
 */
export function postprocessDetectionOutputs(
  layout: DetectionLayout,
  outputOf: (index: number) => Float32Array,
  params: DetectionParams,
  geometry: RescaleGeometry,
  classNames: string[],
): ObjectDetectionPrediction[] {
  switch (layout.kind) {
    case "yolov8-detection":
      return postprocessObjectDetection(outputOf(0), layout, params, geometry, classNames);
    case "yolov5-detection": {
      const candidates = decodeYolov5Detections(outputOf(layout.output), layout.numClasses, layout.numAnchors, params.confidence);
      return predictionsFromCandidates(candidates, params, geometry, classNames);
    }
    case "yolonas-detection": {
      const candidates = decodeYoloNasDetections(outputOf(layout.boxesOutput), outputOf(layout.scoresOutput), layout.numClasses, layout.numAnchors, params.confidence);
      return predictionsFromCandidates(candidates, params, geometry, classNames);
    }
    case "end-to-end-detection": {
      const cap = layout.family === "yolov10" ? params.maxDetections : null;
      const detections = decodeEndToEndDetections(outputOf(0), layout.numRows, layout.numClasses, params.confidence, cap);
      return predictionsFromKept(detections, Int32Array.from({ length: detections.count }, (_, i) => i), params, geometry, classNames);
    }
  }
}

/**
 * Everything after decoding, for any family that yields confidence-filtered candidates:
 * NMS (with max_detections), box rescaling, prediction objects, then class_filter last.
 */
export function predictionsFromCandidates(
  candidates: DetectionCandidates,
  params: DetectionParams,
  geometry: RescaleGeometry,
  classNames: string[],
): ObjectDetectionPrediction[] {
  const kept = nonMaxSuppression(candidates, {
    iouThreshold: params.iouThreshold,
    classAgnostic: params.classAgnosticNms,
    maxDetections: params.maxDetections,
  });
  return predictionsFromKept(candidates, kept, params, geometry, classNames);
}

/** Box rescaling, prediction objects and class_filter for the candidates `kept` (indices, in response order). */
function predictionsFromKept(
  candidates: DetectionCandidates,
  kept: Int32Array,
  params: DetectionParams,
  geometry: RescaleGeometry,
  classNames: string[],
): ObjectDetectionPrediction[] {
  const boxes = gatherBoxes(candidates, kept);
  rescaleBoxes(boxes, geometry);

  const classFilter = params.classFilter !== null && params.classFilter.length > 0 ? new Set(params.classFilter) : null;
  const predictions: ObjectDetectionPrediction[] = [];
  for (let k = 0; k < kept.length; k++) {
    const i = kept[k]!;
    const classId = candidates.classId[i]!;
    const className = classNames[classId] ?? String(classId);
    if (classFilter !== null && !classFilter.has(className)) continue;
    const box = responseBox(boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!);
    predictions.push({
      x: box.x,
      y: box.y,
      width: box.width,
      height: box.height,
      confidence: candidates.score[i]!,
      class: className,
      class_id: classId,
      detection_id: crypto.randomUUID(),
    });
  }
  return predictions;
}

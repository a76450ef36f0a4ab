// Detections task: one image's detections (in model-input pixels, any detecting family) to the reference's response predictions (rescale, build, class_filter).
import { rescaleBoxes, responseBox, type RescaleGeometry } from "../../vision/boxes.ts";
import { gatherBoxes } from "../../vision/nms.ts";
import type { Detections } from "../families/family.ts";
import type { DetectionParams } from "../task.ts";

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

/** A class name by id; an id past the names (a malformed export) is reported by its number. */
export function classNameOf(classNames: string[], classId: number): string {
  return classNames[classId] ?? String(classId);
}

/** The kept candidates whose class passes `class_filter` (null or empty keeps all), as candidate indices in response order. */
export function reportedDetections(detections: Detections, classFilter: string[] | null, classNames: string[]): Int32Array {
  if (classFilter === null || classFilter.length === 0) return detections.kept;
  const keep = new Set(classFilter);
  return detections.kept.filter((i) => keep.has(classNameOf(classNames, detections.candidates.classId[i]!)));
}

/** Box rescaling (docs/compatibility.md §5.3), prediction objects and class_filter for a family's detections. */
export function detectionPredictions(detections: Detections, params: DetectionParams, geometry: RescaleGeometry, classNames: string[]): ObjectDetectionPrediction[] {
  const { candidates } = detections;
  const reported = reportedDetections(detections, params.classFilter, classNames);
  const boxes = gatherBoxes(candidates, reported);
  rescaleBoxes(boxes, geometry);
  const predictions: ObjectDetectionPrediction[] = [];
  for (let k = 0; k < reported.length; k++) {
    const i = reported[k]!;
    const classId = candidates.classId[i]!;
    const box = responseBox(boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!);
    predictions.push({
      x: box.x,
      y: box.y,
      width: box.width,
      height: box.height,
      confidence: candidates.score[i]!,
      class: classNameOf(classNames, classId),
      class_id: classId,
      detection_id: crypto.randomUUID(),
    });
  }
  return predictions;
}

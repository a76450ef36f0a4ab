// Detections task: one image's detections (in model-input coordinates, any detecting family) to the reference's response predictions (rescale, build, class_filter).
import { rescaleBoxes, responseBox, type RescaleGeometry } from "../../vision/boxes.ts";
import { gatherBoxes, type DetectionCandidates } from "../../vision/nms.ts";
import type { Detections, FamilyLayout, ObjectDetectionFamily, KeypointFamily, SegmentationFamily } from "../families/family.ts";
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

/** Any family whose outputs are boxes. */
export type DetectingFamily = ObjectDetectionFamily | SegmentationFamily | KeypointFamily;

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

/** Maps gathered boxes to original-image pixels in place: the family's own mapping, else the contract's (docs/compatibility.md §5.3). */
export function placeBoxes(family: DetectingFamily, layout: FamilyLayout, boxes: Float64Array, geometry: RescaleGeometry): void {
  if (family.rescaleBoxes) family.rescaleBoxes(boxes, layout, geometry);
  else rescaleBoxes(boxes, geometry);
}

/** The predictions of candidates `reported` whose boxes (four per candidate, in order) are already in original-image pixels. */
export function predictionsOf(candidates: DetectionCandidates, reported: Int32Array, boxes: Float64Array, classNames: string[]): ObjectDetectionPrediction[] {
  return Array.from(reported, (i, k) => {
    const classId = candidates.classId[i]!;
    const box = responseBox(boxes[4 * k]!, boxes[4 * k + 1]!, boxes[4 * k + 2]!, boxes[4 * k + 3]!);
    return {
      x: box.x,
      y: box.y,
      width: box.width,
      height: box.height,
      confidence: candidates.score[i]!,
      class: classNameOf(classNames, classId),
      class_id: classId,
      detection_id: crypto.randomUUID(),
    };
  });
}

/** Object detection's answer: a family's detections, class_filter, boxes in original-image pixels. */
export function detectionPredictions(
  family: DetectingFamily,
  layout: FamilyLayout,
  detections: Detections,
  params: DetectionParams,
  geometry: RescaleGeometry,
  classNames: string[],
): ObjectDetectionPrediction[] {
  const reported = reportedDetections(detections, params.classFilter, classNames);
  const boxes = gatherBoxes(detections.candidates, reported);
  placeBoxes(family, layout, boxes, geometry);
  return predictionsOf(detections.candidates, reported, boxes, classNames);
}

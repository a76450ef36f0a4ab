// Keypoint-detection task: one image's outputs of a keypoint family to the reference's predictions, each with its named keypoints (docs/model-families.md §4.5, §4.6).
import type { RescaleGeometry } from "../../vision/boxes.ts";
import { keypointNamesOf, keypointPredictions, rescaleKeypoints, type KeypointPrediction, type KeypointsMetadata } from "../../vision/keypoints.ts";
import { gatherBoxes } from "../../vision/nms.ts";
import type { FamilyLayout, KeypointFamily, OutputViews } from "../families/family.ts";
import type { DetectionParams } from "../task.ts";
import { placeBoxes, predictionsOf, reportedDetections, type ObjectDetectionPrediction } from "./detections.ts";

export interface KeypointsPrediction extends ObjectDetectionPrediction {
  keypoints: KeypointPrediction[];
}

/**
 * Detections as for object detection (class_filter included), each with its keypoints mapped to the original image:
 * named from keypoints_metadata.json by the prediction's class, stopping at the first keypoint without a name (the
 * zero padding of multi-class exports), leaving out those below `keypointConfidence`.
 */
export function keypointsPredictions(
  family: KeypointFamily,
  layout: FamilyLayout,
  outputs: OutputViews,
  detection: DetectionParams,
  keypointConfidence: number,
  geometry: RescaleGeometry,
  classNames: string[],
  metadata: KeypointsMetadata,
): KeypointsPrediction[] {
  const detections = family.detect(layout, outputs, detection);
  const reported = reportedDetections(detections, detection.classFilter, classNames);
  const keypoints = family.keypoints(layout, outputs, detections, reported);
  rescaleKeypoints(keypoints, geometry);
  const boxes = gatherBoxes(detections.candidates, reported);
  placeBoxes(family, layout, boxes, geometry);
  const perDetection = reported.length === 0 ? 0 : keypoints.length / reported.length;
  return predictionsOf(detections.candidates, reported, boxes, classNames).map((prediction, k) => {
    const triplets = keypoints.subarray(k * perDetection, (k + 1) * perDetection);
    return { ...prediction, keypoints: keypointPredictions(triplets, keypointNamesOf(metadata, prediction.class_id), keypointConfidence) };
  });
}

// Task response: one image's raw model outputs to its response body (without inference_id and time), for every task and family.
//
// The vision workers call this on arena views; the benchmark's sequential baseline calls it on
// its own buffers, so both answer with exactly the same code.
import type { RescaleGeometry } from "../../vision/boxes.ts";
import type { ClassificationLayout, OutputViews } from "../families/family.ts";
import { familyOf } from "../families/table.ts";
import type { ModelSpec } from "../model-spec.ts";
import type { TaskParams } from "../task.ts";
import { postprocessClassification, type ClassificationBody } from "./classification.ts";
import { detectionPredictions, type ObjectDetectionPrediction } from "./detections.ts";
import { instanceSegmentationPredictions, type InstanceSegmentationPrediction } from "./instance-segmentation.ts";
import { keypointsPredictions, type KeypointsPrediction } from "./keypoints.ts";

/** The detecting tasks answer boxes (with polygons or RLE, or keypoints); classification its own bodies. */
export type TaskResponseBody =
  | { image: { width: number; height: number }; predictions: ObjectDetectionPrediction[] | InstanceSegmentationPrediction[] | KeypointsPrediction[] }
  | ClassificationBody;

/** What of a model spec the answer depends on. */
export type ResponseSpec = Pick<ModelSpec, "layout" | "classNames" | "keypoints" | "softmaxRule">;

/** `outputs(i)` is this image's view of model output i; `geometry` says how its input was made from the image. */
export function taskResponse(spec: ResponseSpec, outputs: OutputViews, params: TaskParams, geometry: RescaleGeometry): TaskResponseBody {
  const { layout, classNames } = spec;
  const family = familyOf(layout);
  const image = { width: geometry.imageWidth, height: geometry.imageHeight };
  if (family.task === "object-detection" && params.task === "object-detection") {
    return { image, predictions: detectionPredictions(family, layout, family.detect(layout, outputs, params.detection), params.detection, geometry, classNames) };
  }
  if (family.task === "instance-segmentation" && params.task === "instance-segmentation") {
    return { image, predictions: instanceSegmentationPredictions(family, layout, outputs, params.detection, params.masks, geometry, classNames) };
  }
  if (family.task === "keypoint-detection" && params.task === "keypoint-detection") {
    if (!spec.keypoints) throw new Error(`a keypoint model without keypoints metadata cannot answer`);
    return { image, predictions: keypointsPredictions(family, layout, outputs, params.detection, params.keypointConfidence, geometry, classNames, spec.keypoints) };
  }
  if (family.task === "classification" && params.task === "classification") {
    const classifier = layout as ClassificationLayout;
    return postprocessClassification(family.scores(classifier, outputs), { confidence: params.confidence }, image, classNames, {
      multiLabel: classifier.multiLabel,
      softmaxRule: spec.softmaxRule,
    });
  }
  throw new Error(`a ${family.task} model cannot answer a ${params.task} request`);
}

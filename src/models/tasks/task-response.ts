// Task response: one image's raw model outputs to its response body (without inference_id and time), for every task and family.
//
// The vision workers call this on arena views; the benchmark's sequential baseline calls it on
// its own buffers, so both answer with exactly the same code.
import type { RescaleGeometry } from "../../vision/boxes.ts";
import type { FamilyLayout, OutputViews } from "../families/family.ts";
import { familyOf } from "../families/table.ts";
import type { TaskParams } from "../task.ts";
import { postprocessClassification, type ClassificationBody } from "./classification.ts";
import { detectionPredictions, type ObjectDetectionPrediction } from "./detections.ts";
import { instanceSegmentationPredictions } from "./instance-segmentation.ts";

/** Detections and instance segmentation answer boxes (with polygons for the latter); classification its own bodies. */
export type TaskResponseBody = { image: { width: number; height: number }; predictions: ObjectDetectionPrediction[] } | ClassificationBody;

/** `outputs(i)` is this image's view of model output i; `geometry` says how its input was made from the image. */
export function taskResponse(layout: FamilyLayout, outputs: OutputViews, params: TaskParams, geometry: RescaleGeometry, classNames: string[]): TaskResponseBody {
  const family = familyOf(layout);
  const image = { width: geometry.imageWidth, height: geometry.imageHeight };
  if (family.task === "object-detection" && params.task === "object-detection") {
    return { image, predictions: detectionPredictions(family.detect(layout, outputs, params.detection), params.detection, geometry, classNames) };
  }
  if (family.task === "instance-segmentation" && params.task === "instance-segmentation") {
    const segmentation = { ...params.detection, maskDecodeMode: params.maskDecodeMode, tradeoffFactor: params.tradeoffFactor };
    return { image, predictions: instanceSegmentationPredictions(family, layout, outputs, segmentation, geometry, classNames) };
  }
  if (family.task === "classification" && params.task === "classification") {
    const multiLabel = (layout as FamilyLayout & { multiLabel: boolean }).multiLabel;
    return postprocessClassification(family.scores(layout as never, outputs), { confidence: params.confidence }, image, classNames, { multiLabel });
  }
  throw new Error(`a ${family.task} model cannot answer a ${params.task} request`);
}

// Task response: one image's raw model outputs to its response body (without inference_id and time), for every task and output layout.
//
// The vision workers call this on arena views; the benchmark's sequential baseline calls it on
// its own buffers, so both answer with exactly the same code.
import type { OutputLayout, TaskParams } from "../workers/protocol.ts";
import type { RescaleGeometry } from "../vision/boxes.ts";
import type { DrawablePrediction } from "../vision/draw.ts";
import { postprocessClassification, type ClassificationBody } from "./families/classification.ts";
import { postprocessInstanceSegmentation } from "./families/instance-segmentation.ts";
import { isDetectionLayout, postprocessDetectionOutputs } from "./families/object-detection.ts";

export type TaskResponseBody = { image: { width: number; height: number }; predictions: DrawablePrediction[] } | ClassificationBody;

/** `outputOf(i)` is this image's view of model output i; `geometry` says how its input was made from the image. */
export function taskResponse(
  layout: OutputLayout,
  outputOf: (index: number) => Float32Array,
  params: TaskParams,
  geometry: RescaleGeometry,
  classNames: string[],
): TaskResponseBody {
  const image = { width: geometry.imageWidth, height: geometry.imageHeight };
  if (isDetectionLayout(layout) && params.task === "object-detection") {
    return { image, predictions: postprocessDetectionOutputs(layout, outputOf, params.detection, geometry, classNames) };
  }
  if (layout.kind === "segmentation" && params.task === "instance-segmentation") {
    const predictions = postprocessInstanceSegmentation(
      { predictions: outputOf(layout.predictionsOutput), protos: outputOf(layout.protosOutput) },
      layout,
      { ...params.detection, maskDecodeMode: params.maskDecodeMode, tradeoffFactor: params.tradeoffFactor },
      geometry,
      classNames,
    );
    return { image, predictions };
  }
  if (layout.kind === "classification" && params.task === "classification") {
    return postprocessClassification(outputOf(0), { confidence: params.confidence }, image, classNames, { multiLabel: layout.multiLabel });
  }
  throw new Error(`a ${layout.kind} model cannot answer a ${params.task} request`);
}

// Instance-segmentation predictions: one image's raw outputs to the reference's response predictions (decode, NMS, masks, polygons, rescale, filter).
import { rescaleBoxes, responseBox, type RescaleGeometry } from "../../vision/boxes.ts";
import { maskToPolygon } from "../../vision/contours.ts";
import {
  decodeMasks,
  gatherMaskCoefficients,
  validateMaskDecodeArguments,
  type MaskDecodeMode,
  type MaskWindow,
  type SegmentationCandidates,
} from "../../vision/masks.ts";
import { gatherBoxes, nonMaxSuppression } from "../../vision/nms.ts";
import { rescalePolygon, type PolygonPoint } from "../../vision/polygons.ts";
import type { DetectionParams, ObjectDetectionPrediction } from "./object-detection.ts";
import { decodeYolov5Segmentation } from "./yolov5-seg.ts";
import { decodeYolov8Segmentation } from "./yolov8-seg.ts";

/** One image's outputs: the predictions tensor and the prototypes (32 × protoHeight × protoWidth). */
export interface SegmentationOutputs {
  predictions: Float32Array;
  protos: Float32Array;
}

/**
 * How to read them. yolov8: channel-major (4 + C + 32) × N (v8, v11 seg); yolov5: row-major
 * N × (5 + C + 32) with objectness in column 4 (v5 seg, and v7 seg whose protos are its fifth output).
 */
export interface SegmentationOutputLayout {
  family: "yolov8" | "yolov5";
  numClasses: number;
  numAnchors: number;
  protoHeight: number;
  protoWidth: number;
}

/** Request fields of /infer/instance_segmentation on top of detection's (`mask_decode_mode`, `tradeoff_factor`). */
export interface InstanceSegmentationParams extends DetectionParams {
  maskDecodeMode: MaskDecodeMode;
  tradeoffFactor: number;
}

/** One prediction as the reference (HEAD) serialises it: a detection plus its polygon. */
export interface InstanceSegmentationPrediction extends ObjectDetectionPrediction {
  /** One closed polygon (first vertex not repeated) in original-image pixels; empty when the mask vanished. */
  points: PolygonPoint[];
  mask_format: "polygon";
}

/**
 * The reference's order: NMS over candidates carrying their mask coefficients (max_detections
 * included) → masks from boxes still in model-input pixels → polygons → box rescaling → polygon
 * rescaling → predictions, class_filter last. Masks of predictions class_filter drops are not decoded.
 *
 * Mask decode arguments are checked only once there is a detection, as the reference does (it
 * validates inside the per-image mask step): an image with no detection answers even for a bad mode.
 */
export function postprocessInstanceSegmentation(
  outputs: SegmentationOutputs,
  layout: SegmentationOutputLayout,
  params: InstanceSegmentationParams,
  geometry: RescaleGeometry,
  classNames: string[],
): InstanceSegmentationPrediction[] {
  const decode = layout.family === "yolov8" ? decodeYolov8Segmentation : decodeYolov5Segmentation;
  const segmentation: SegmentationCandidates = decode(outputs.predictions, layout.numClasses, layout.numAnchors, params.confidence);
  const { candidates } = segmentation;
  const kept = nonMaxSuppression(candidates, {
    iouThreshold: params.iouThreshold,
    classAgnostic: params.classAgnosticNms,
    maxDetections: params.maxDetections,
  });
  if (kept.length === 0) return [];
  validateMaskDecodeArguments(params.maskDecodeMode, params.tradeoffFactor);

  const classFilter = params.classFilter !== null && params.classFilter.length > 0 ? new Set(params.classFilter) : null;
  const classNameOf = (classId: number) => classNames[classId] ?? String(classId);
  const reported = classFilter === null ? kept : kept.filter((i) => classFilter.has(classNameOf(candidates.classId[i]!)));

  const boxes = gatherBoxes(candidates, reported);
  const masks = decodeMasks(
    { data: outputs.protos, height: layout.protoHeight, width: layout.protoWidth },
    gatherMaskCoefficients(outputs.predictions, segmentation.coefficients, candidates, reported),
    boxes,
    geometry.inputWidth,
    geometry.inputHeight,
    params.maskDecodeMode,
    params.tradeoffFactor,
  );
  rescaleBoxes(boxes, geometry);

  const predictions: InstanceSegmentationPrediction[] = [];
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
      class: classNameOf(classId),
      class_id: classId,
      detection_id: crypto.randomUUID(),
      points: rescalePolygon(windowPolygon(masks.windows[k]!), masks.width, masks.height, geometry),
      mask_format: "polygon",
    });
  }
  return predictions;
}

/** The reference's polygon of a mask window, in the full mask's pixels. */
function windowPolygon(window: MaskWindow): Int32Array {
  const polygon = maskToPolygon(window.data, window.width, window.height);
  for (let k = 0; k < polygon.length; k += 2) {
    polygon[k]! += window.left;
    polygon[k + 1]! += window.top;
  }
  return polygon;
}

// Instance-segmentation task: one image's outputs of a segmentation family to the reference's response predictions (detections, masks, polygons, rescale, filter).
import { rescaleBoxes, responseBox, type RescaleGeometry } from "../../vision/boxes.ts";
import { maskToPolygon } from "../../vision/contours.ts";
import { validateMaskDecodeArguments, type MaskWindow } from "../../vision/masks.ts";
import { gatherBoxes } from "../../vision/nms.ts";
import { rescalePolygon, type PolygonPoint } from "../../vision/polygons.ts";
import type { FamilyLayout, OutputViews, SegmentationFamily } from "../families/family.ts";
import type { DetectionParams, MaskDecodeMode } from "../task.ts";
import { classNameOf, reportedDetections, type ObjectDetectionPrediction } from "./detections.ts";

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
 * The reference's order (docs/compatibility.md §5.4): detections (NMS included, for the families that need it) →
 * masks from boxes still in model-input pixels → polygons → box rescaling → polygon rescaling → predictions.
 * Masks of predictions class_filter drops are not decoded.
 *
 * Mask decode arguments are checked only once there is a detection, as the reference does (it validates inside
 * the per-image mask step): an image with no detection answers even for a bad mode.
 */
export function instanceSegmentationPredictions(
  family: SegmentationFamily,
  layout: FamilyLayout,
  outputs: OutputViews,
  params: InstanceSegmentationParams,
  geometry: RescaleGeometry,
  classNames: string[],
): InstanceSegmentationPrediction[] {
  const detections = family.detect(layout, outputs, params);
  if (detections.kept.length === 0) return [];
  validateMaskDecodeArguments(params.maskDecodeMode, params.tradeoffFactor);

  const { candidates } = detections;
  const reported = reportedDetections(detections, params.classFilter, classNames);
  const boxes = gatherBoxes(candidates, reported);
  const masks = family.masks(layout, outputs, detections, reported, boxes, geometry, params);
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
      class: classNameOf(classNames, classId),
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

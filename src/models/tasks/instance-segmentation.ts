// Instance-segmentation task: one image's outputs of a segmentation family to the reference's response predictions (detections, masks, polygons or RLE, rescale, filter).
import type { RescaleGeometry } from "../../vision/boxes.ts";
import { validateMaskDecodeArguments } from "../../vision/masks.ts";
import { gatherBoxes } from "../../vision/nms.ts";
import type { PolygonPoint } from "../../vision/polygons.ts";
import { encodeRle, type CocoRle } from "../../vision/rle.ts";
import type { FamilyLayout, OutputViews, SegmentationFamily } from "../families/family.ts";
import type { DetectionParams, MaskParams } from "../task.ts";
import { placeBoxes, predictionsOf, reportedDetections, type ObjectDetectionPrediction } from "./detections.ts";

/** One prediction with its polygon, as the reference serialises it (docs/compatibility.md §2.4). */
export interface PolygonPrediction extends ObjectDetectionPrediction {
  /** One closed polygon (first vertex not repeated) in original-image pixels; empty when the mask vanished. */
  points: PolygonPoint[];
  mask_format: "polygon";
}

/** One prediction with its mask as COCO compressed RLE over the whole image, no polygon (docs/model-families.md §5). */
export interface RlePrediction extends ObjectDetectionPrediction {
  rle: CocoRle;
  mask_format: "rle";
}

export type InstanceSegmentationPrediction = PolygonPrediction | RlePrediction;

/**
 * The reference's order (docs/compatibility.md §5.4): detections (NMS included, for the families that need it) → masks
 * from boxes still in model-input coordinates → polygons (or RLE) → box rescaling → predictions. Masks of predictions
 * class_filter drops are not decoded.
 *
 * Mask decode arguments are checked only once there is a detection, as the reference does (it validates inside
 * the per-image mask step): an image with no detection answers even for a bad mode.
 */
export function instanceSegmentationPredictions(
  family: SegmentationFamily,
  layout: FamilyLayout,
  outputs: OutputViews,
  detection: DetectionParams,
  maskParams: MaskParams,
  geometry: RescaleGeometry,
  classNames: string[],
): InstanceSegmentationPrediction[] {
  const detections = family.detect(layout, outputs, detection);
  if (detections.kept.length === 0) return [];
  validateMaskDecodeArguments(maskParams.maskDecodeMode, maskParams.tradeoffFactor);

  const reported = reportedDetections(detections, detection.classFilter, classNames);
  const boxes = gatherBoxes(detections.candidates, reported);
  const masks = family.masks(layout, outputs, detections, reported, boxes, geometry, maskParams);
  placeBoxes(family, layout, boxes, geometry);
  return predictionsOf(detections.candidates, reported, boxes, classNames).map((prediction, k) => {
    const mask = masks[k]!;
    if (maskParams.maskFormat === "rle") return { ...prediction, rle: encodeRle(mask.imageMask(), geometry.imageWidth, geometry.imageHeight), mask_format: "rle" };
    return { ...prediction, points: mask.points, mask_format: "polygon" };
  });
}

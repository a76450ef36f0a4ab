// Prototype masks: the mask head the YOLO segmentation families share (32 coefficients per detection times a 32 × mh × mw prototype grid).
import type { RescaleGeometry } from "../../vision/boxes.ts";
import { maskToPolygon } from "../../vision/contours.ts";
import { maskAtImageResolution } from "../../vision/image-mask.ts";
import { MASK_COEFFICIENTS, decodeMasks, gatherMaskCoefficients, type MaskCoefficientLayout, type MaskWindow } from "../../vision/masks.ts";
import { rescalePolygon } from "../../vision/polygons.ts";
import type { MaskParams } from "../task.ts";
import type { Detections, InstanceMask, OutputViews } from "./family.ts";

/** Where a segmentation export keeps its predictions and its prototypes (one image's view, batch axis removed). */
export interface PrototypeOutputs {
  numClasses: number;
  numAnchors: number;
  predictionsOutput: number;
  protosOutput: number;
  protoHeight: number;
  protoWidth: number;
}

/** The first matrix output and the first 32 × mh × mw output, when both exist. */
export function findPrototypeOutputs(shapes: number[][]): { predictionsOutput: number; protosOutput: number; protoHeight: number; protoWidth: number } | null {
  const predictionsOutput = shapes.findIndex((s) => s.length === 2);
  const protosOutput = shapes.findIndex((s) => s.length === 3 && s[0] === MASK_COEFFICIENTS);
  if (predictionsOutput < 0 || protosOutput < 0) return null;
  const protos = shapes[protosOutput]!;
  return { predictionsOutput, protosOutput, protoHeight: protos[1]!, protoWidth: protos[2]! };
}

/**
 * The reported detections' masks (docs/compatibility.md §5.5), their coefficients found through `coefficients`: each
 * polygon traced on the decoded mask and rescaled as the reference does (docs/compatibility.md §5.7); the image-size mask maps every image
 * pixel to the decoded mask pixel under its centre, so that an RLE answer covers what the polygon outlines.
 */
export function prototypeMasks(
  layout: PrototypeOutputs,
  coefficients: MaskCoefficientLayout,
  outputs: OutputViews,
  detections: Detections,
  reported: Int32Array,
  boxes: Float64Array,
  geometry: RescaleGeometry,
  params: MaskParams,
): InstanceMask[] {
  const decoded = decodeMasks(
    { data: outputs(layout.protosOutput), height: layout.protoHeight, width: layout.protoWidth },
    gatherMaskCoefficients(outputs(layout.predictionsOutput), coefficients, detections.candidates, reported),
    boxes,
    geometry.inputWidth,
    geometry.inputHeight,
    params.maskDecodeMode,
    params.tradeoffFactor,
  );
  return decoded.windows.map((window) => ({
    points: rescalePolygon(windowPolygon(window), decoded.width, decoded.height, geometry),
    imageMask: () => maskAtImageResolution(window, decoded.width, decoded.height, geometry),
  }));
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

// Prototype masks: the mask head the YOLO segmentation families share (32 coefficients per detection times a 32 × mh × mw prototype grid).
import { MASK_COEFFICIENTS, decodeMasks, gatherMaskCoefficients, type DecodedMasks, type MaskCoefficientLayout } from "../../vision/masks.ts";
import type { RescaleGeometry } from "../../vision/boxes.ts";
import type { MaskDecodeMode } from "../task.ts";
import type { Detections, OutputViews } from "./family.ts";

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

/** The reported detections' masks (docs/compatibility.md §5.5), their coefficients found through `coefficients`. */
export function prototypeMasks(
  layout: PrototypeOutputs,
  coefficients: MaskCoefficientLayout,
  outputs: OutputViews,
  detections: Detections,
  reported: Int32Array,
  boxes: Float64Array,
  geometry: RescaleGeometry,
  mode: { maskDecodeMode: MaskDecodeMode; tradeoffFactor: number },
): DecodedMasks {
  return decodeMasks(
    { data: outputs(layout.protosOutput), height: layout.protoHeight, width: layout.protoWidth },
    gatherMaskCoefficients(outputs(layout.predictionsOutput), coefficients, detections.candidates, reported),
    boxes,
    geometry.inputWidth,
    geometry.inputHeight,
    mode.maskDecodeMode,
    mode.tradeoffFactor,
  );
}

// Model family: what one family of exports (YOLOv8, YOLO-NAS, ViT, …) declares so that the server can select, recognise, preprocess and decode it.
//
// Every family is one object in one file of this folder and one row of the table (table.ts). Per-task assembly
// (detections, masks, classes: ../tasks/) turns what a family decodes into the response; a family never builds
// response JSON itself.
import { nonMaxSuppression, type DetectionCandidates } from "../../vision/nms.ts";
import type { DecodedMasks } from "../../vision/masks.ts";
import type { RescaleGeometry } from "../../vision/boxes.ts";
import type { DetectionParams, MaskDecodeMode, TaskType } from "../task.ts";

/** Per-channel (R, G, B) normalisation applied after dividing pixels by 255: `(x - mean) / std`. */
export interface Normalisation {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Pixels divided by 255 and nothing else (the YOLO families). */
export const UNIT_NORMALISATION: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] };

/** What a package says that helps tell families apart by their outputs. */
export interface RecognitionContext {
  classCount: number;
  /** environment.json MULTICLASS: a multi-label classifier. */
  multiLabel: boolean;
}

/** Every family's layout names its family, so that a worker finds the decoder from the layout alone (it crosses threads as plain data). */
export interface FamilyLayout {
  family: string;
}

/** One image's view of model output `index` (the batch axis removed). */
export type OutputViews = (index: number) => Float32Array;

/** One image's detections in model-input pixels, suppressed where the family needs it: `kept` indexes `candidates`, in response order. */
export interface Detections {
  candidates: DetectionCandidates;
  kept: Int32Array;
}

interface FamilyBase<Task extends TaskType, Layout extends FamilyLayout> {
  readonly name: Layout["family"];
  readonly task: Task;
  /** Whether a package's `model_type` names this family (the family is then tried first). */
  selects(modelType: string): boolean;
  /** Recognised from its outputs alone, without a model type naming it (a generic or missing `model_type`). */
  readonly recognisedWithoutModelType: boolean;
  /** The model type a package of this family gets when nobody names one (`bun run import-model`). */
  readonly defaultModelType: string;
  /** Its layout when one image's output shapes fit, else null. */
  recognise(shapes: number[][], context: RecognitionContext): Layout | null;
  /** The outputs it expects, for the message when none fits. */
  expects(context: RecognitionContext): string;
  /** The input normalisation of a package of this family. */
  normalisation(modelType: string): Normalisation;
}

/** A family whose outputs are boxes with classes (object detection and the detecting part of the other tasks). */
interface DetectingFamily<Task extends TaskType, Layout extends FamilyLayout> extends FamilyBase<Task, Layout> {
  /** One image's detections: decoded, confidence-filtered and suppressed (or not, for end-to-end exports). */
  detect(layout: Layout, outputs: OutputViews, params: DetectionParams): Detections;
}

export type ObjectDetectionFamily<Layout extends FamilyLayout = FamilyLayout> = DetectingFamily<"object-detection", Layout>;

export interface SegmentationFamily<Layout extends FamilyLayout = FamilyLayout> extends DetectingFamily<"instance-segmentation", Layout> {
  /**
   * The masks of the candidates `reported` (indices into `detections.candidates`, in response order), from their
   * boxes still in model-input pixels (`boxes`: four corners per reported candidate); each mask at the resolution
   * its polygon is measured in.
   */
  masks(
    layout: Layout,
    outputs: OutputViews,
    detections: Detections,
    reported: Int32Array,
    boxes: Float64Array,
    geometry: RescaleGeometry,
    mode: { maskDecodeMode: MaskDecodeMode; tradeoffFactor: number },
  ): DecodedMasks;
}

export interface ClassificationFamily<Layout extends FamilyLayout & { multiLabel: boolean } = FamilyLayout & { multiLabel: boolean }> extends FamilyBase<"classification", Layout> {
  /** One image's raw class scores. */
  scores(layout: Layout, outputs: OutputViews): Float32Array;
}

export type ModelFamily = ObjectDetectionFamily | SegmentationFamily | ClassificationFamily;

/** The candidates NMS keeps (docs/compatibility.md §5.2): what the YOLO families with anchors report. */
export function suppressed(candidates: DetectionCandidates, params: DetectionParams): Detections {
  return { candidates, kept: nonMaxSuppression(candidates, { iouThreshold: params.iouThreshold, classAgnostic: params.classAgnosticNms, maxDetections: params.maxDetections }) };
}

/** Output shapes as the messages write them. */
export function describeShapes(shapes: number[][]): string {
  return shapes.map((s) => `[batch, ${s.join(", ")}]`).join(", ");
}

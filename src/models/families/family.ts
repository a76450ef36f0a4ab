// Model family: what one family of exports (YOLOv8, RF-DETR, ViT, …) declares so that the server can select, recognise, preprocess and decode it.
//
// Every family is one object in one file of this folder and one row of the table (table.ts). Per-task assembly
// (detections, masks, keypoints, classes: ../tasks/) turns what a family decodes into the response; a family never
// builds response JSON itself.
import type { RescaleGeometry } from "../../vision/boxes.ts";
import type { PolygonPoint } from "../../vision/polygons.ts";
import { nonMaxSuppression, type DetectionCandidates } from "../../vision/nms.ts";
import type { ResizeConfig } from "../../vision/preprocess-config.ts";
import type { DetectionParams, MaskParams, TaskType } from "../task.ts";

/** Per-channel (R, G, B) normalisation applied after dividing pixels by 255: `(x - mean) / std`. */
export interface Normalisation {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Pixels divided by 255 and nothing else (the YOLO families). */
export const UNIT_NORMALISATION: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] };

/** What a package and its session say that tells families apart and sizes their layouts. */
export interface RecognitionContext {
  /** The class names as the package writes them (class_names.txt, or CLASS_MAP). */
  classNames: string[];
  /** environment.json MULTICLASS: a multi-label classifier. */
  multiLabel: boolean;
  /** The ONNX outputs' names, in order (RF-DETR's exports call theirs dets, labels and masks). */
  outputNames: string[];
  /** The largest class's keypoint count in keypoints_metadata.json (keypoint models), else null. */
  maxKeypoints: number | null;
  /** The model input's size, and the package's resize settings. */
  input: { width: number; height: number };
  resize: ResizeConfig;
}

/** What the server allows of a package before it creates a session for it. */
export interface PackageLimits {
  /** RFDETR_ONNX_MAX_RESOLUTION: RF-DETR packages of this resolution or more are refused (507). */
  rfdetrOnnxMaxResolution: number;
}

/** Every family's layout names its family, so that a worker finds the decoder from the layout alone (it crosses threads as plain data). */
export interface FamilyLayout {
  family: string;
}

/** One image's view of model output `index` (the batch axis removed). */
export type OutputViews = (index: number) => Float32Array;

/** One image's detections in model-input coordinates, suppressed where the family needs it: `kept` indexes `candidates`, in response order. */
export interface Detections {
  candidates: DetectionCandidates;
  kept: Int32Array;
}

/** One instance's mask as the response needs it: its polygon, and (for RLE answers) its binary mask over the whole image. */
export interface InstanceMask {
  /** One closed polygon (first vertex not repeated) in original-image pixels; empty when the mask vanished. */
  points: PolygonPoint[];
  /** The binary mask at the original image's size, row-major (computed only when asked for). */
  imageMask(): Uint8Array;
}

interface FamilyBase<Task extends TaskType, Layout extends FamilyLayout> {
  readonly name: Layout["family"];
  readonly task: Task;
  /** Whether a package's `model_type` names this family (the family is then tried first). */
  selects(modelType: string): boolean;
  /** Recognised from its output shapes alone, without a model type naming it (a generic or missing `model_type`). */
  readonly recognisedWithoutModelType: boolean;
  /** Recognised without a model type when its outputs bear these names (tried before the shape-only families). */
  recognisedByOutputNames?(outputNames: string[]): boolean;
  /** The model type a package of this family gets when nobody names one (`bun run import-model`). */
  readonly defaultModelType: string;
  /** Its layout when one image's output shapes fit, else null. */
  recognise(shapes: number[][], context: RecognitionContext): Layout | null;
  /** The outputs it expects, for the message when none fits. */
  expects(context: RecognitionContext): string;
  /** The input normalisation of a package of this family. */
  normalisation(modelType: string): Normalisation;
  /** Normalises pixels before resizing (float resize, padding in normalised units; RF-DETR) instead of after. */
  readonly normalisesBeforeResizing?: boolean;
  /** The class names its answers use, from the package's (RF-DETR drops its background line); the package's by default. */
  responseClassNames?(classNames: string[]): string[];
  /** Refuses a package it cannot serve before any session exists for it (RF-DETR's resolution guard). */
  checkPackage?(environment: Record<string, unknown>, limits: PackageLimits): void;
}

/** A family whose outputs are boxes with classes (object detection and the detecting part of the other tasks). */
interface DetectingFamily<Task extends TaskType, Layout extends FamilyLayout> extends FamilyBase<Task, Layout> {
  /** One image's detections: decoded, confidence-filtered and suppressed (or not, for end-to-end exports). */
  detect(layout: Layout, outputs: OutputViews, params: DetectionParams): Detections;
  /**
   * Maps boxes (x1, y1, x2, y2 per detection) from model-input coordinates to original-image pixels, in place; the
   * contract's rounding rescale (docs/compatibility.md §5.3) when absent.
   */
  rescaleBoxes?(boxes: Float64Array, layout: Layout, geometry: RescaleGeometry): void;
}

export type ObjectDetectionFamily<Layout extends FamilyLayout = FamilyLayout> = DetectingFamily<"object-detection", Layout>;

export interface SegmentationFamily<Layout extends FamilyLayout = FamilyLayout> extends DetectingFamily<"instance-segmentation", Layout> {
  /**
   * The masks of the candidates `reported` (indices into `detections.candidates`, in response order), from their boxes
   * still in model-input coordinates (`boxes`: four corners per reported candidate).
   */
  masks(layout: Layout, outputs: OutputViews, detections: Detections, reported: Int32Array, boxes: Float64Array, geometry: RescaleGeometry, params: MaskParams): InstanceMask[];
}

export interface KeypointFamily<Layout extends FamilyLayout = FamilyLayout> extends DetectingFamily<"keypoint-detection", Layout> {
  /** The keypoint triplets (x, y, confidence in model-input pixels) of the candidates `reported`, 3 · Kp values each, in order. */
  keypoints(layout: Layout, outputs: OutputViews, detections: Detections, reported: Int32Array): Float64Array;
}

/** A classifier's layout: every classification family's says whether it is multi-label. */
export interface ClassificationLayout extends FamilyLayout {
  multiLabel: boolean;
}

export interface ClassificationFamily<Layout extends ClassificationLayout = ClassificationLayout> extends FamilyBase<"classification", Layout> {
  /** One image's raw class scores. */
  scores(layout: Layout, outputs: OutputViews): Float32Array;
}

export type ModelFamily = ObjectDetectionFamily | SegmentationFamily | KeypointFamily | ClassificationFamily;

/** The candidates NMS keeps (docs/compatibility.md §5.2): what the YOLO families with anchors report. */
export function suppressed(candidates: DetectionCandidates, params: DetectionParams): Detections {
  return { candidates, kept: nonMaxSuppression(candidates, { iouThreshold: params.iouThreshold, classAgnostic: params.classAgnosticNms, maxDetections: params.maxDetections }) };
}

/** Every candidate, in output order (end-to-end exports have suppressed them already). */
export function unsuppressed(candidates: DetectionCandidates): Detections {
  return { candidates, kept: Int32Array.from({ length: candidates.count }, (_, i) => i) };
}

/** Output shapes as the messages write them. */
export function describeShapes(shapes: number[][]): string {
  return shapes.map((s) => `[batch, ${s.join(", ")}]`).join(", ");
}

// Parity of the RF-DETR and pose building blocks with the reference: its recorded answers in ../shared/parity, reproduced by our pure preprocessing and decoders over ONNX Runtime, within that folder's README tolerances.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { OrtRuntime } from "../../../native-bindings/ort.ts";
import { decodeYolov8Pose, yolov8PoseKeypointCount } from "../../../src/models/families/pose.ts";
import { rfdetrBoxesToImage, rfdetrClasses, selectRfdetrDetections } from "../../../src/models/families/rfdetr.ts";
import { rescaleBoxes, type RescaleGeometry } from "../../../src/vision/boxes.ts";
import { rfdetrLetterboxTarget, rfdetrPreprocessInto } from "../../../src/vision/float-resize.ts";
import { gatherKeypoints, keypointNamesOf, keypointPredictions, parseKeypointsMetadata, rescaleKeypoints, type KeypointPrediction } from "../../../src/vision/keypoints.ts";
import { gatherBoxes, nonMaxSuppression } from "../../../src/vision/nms.ts";
import { prepareImage, preprocessInto } from "../../../src/vision/preprocess.ts";
import { parsePreprocessing } from "../../../src/vision/preprocess-config.ts";

const PARITY_DIR = resolve(import.meta.dir, "../../..", "../shared/parity");
const available = existsSync(join(PARITY_DIR, "expected"));
if (!available) console.warn(`parity: ${PARITY_DIR} is absent; skipping the RF-DETR and pose decoder parity checks`);

interface Prediction {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
  keypoints?: KeypointPrediction[];
}

interface ParityCase {
  model_id: string;
  image: string;
  params: { confidence: number; iou_threshold: number; class_agnostic_nms: boolean; max_detections: number; keypoint_confidence?: number };
  response: { predictions: Prediction[]; image: { width: number; height: number } };
  resize_applied: boolean;
  stability: { possible_extra_predictions: Prediction[] };
}

const cases = (prefix: string): [string, ParityCase][] =>
  available
    ? readdirSync(join(PARITY_DIR, "expected"))
        .filter((f) => f.startsWith(prefix) && f.endsWith(".json"))
        .sort()
        .map((f) => [f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(PARITY_DIR, "expected", f), "utf8"))])
    : [];

let runtime: OrtRuntime;
beforeAll(() => {
  if (available) runtime = OrtRuntime.load();
});
afterAll(() => runtime?.release());

const modelDir = (modelId: string) => join(PARITY_DIR, "models", modelId, "1");
const readJson = (modelId: string, file: string) => JSON.parse(readFileSync(join(modelDir(modelId), file), "utf8"));
const classNamesOf = (modelId: string) => readFileSync(join(modelDir(modelId), "class_names.txt"), "utf8").split("\n").filter((line) => line.length > 0);
const imageBytes = (image: string) => new Uint8Array(readFileSync(join(PARITY_DIR, "images", image)));
const NO_SWITCHES = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };

/** The RF-DETR package's predictions for one image: §1.3 preprocessing, §1.4 decoding, the OD response's centre form. */
async function rfdetrPredictions(c: ParityCase): Promise<Prediction[]> {
  const modelId = c.model_id.replace(/\/1$/, "");
  const config = parsePreprocessing(readJson(modelId, "environment.json").PREPROCESSING);
  const session = runtime.createSession(join(modelDir(modelId), "weights.onnx"), { executionProviders: ["cpu"], intraOpThreads: 1 });
  const [, , height, width] = session.inputs[0]!.shape as number[];
  const { image, decoded } = await prepareImage(imageBytes(c.image), config, NO_SWITCHES);
  const input = new Float32Array(3 * width! * height!);
  rfdetrPreprocessInto(image, config.resize, width!, height!, input);
  const [boxes, logits] = session.runAllocating([{ name: session.inputs[0]!.name, data: input, shape: [1, 3, height!, width!] }]);
  const [, queries, columns] = logits!.shape;
  const classes = rfdetrClasses(classNamesOf(modelId));
  const candidates = selectRfdetrDetections(boxes!.data as Float32Array, logits!.data as Float32Array, queries!, columns!, {
    confidence: c.params.confidence,
    maxDetections: c.params.max_detections,
    backgroundIndex: classes.backgroundIndex,
    numClasses: classes.classNames.length,
  });
  const letterbox = rfdetrLetterboxTarget(config.resize, width!, height!);
  rfdetrBoxesToImage(candidates, {
    inputWidth: width!, inputHeight: height!, imageWidth: decoded.width, imageHeight: decoded.height,
    resize: config.resize.method, staticCrop: config.staticCrop, letterboxWidth: letterbox.width, letterboxHeight: letterbox.height,
  });
  return Array.from({ length: candidates.count }, (_, i) => {
    const [x1, y1, x2, y2] = [candidates.x1[i]!, candidates.y1[i]!, candidates.x2[i]!, candidates.y2[i]!];
    const classId = candidates.classId[i]!;
    return { x: (x1 + x2) / 2, y: (y1 + y2) / 2, width: x2 - x1, height: y2 - y1, confidence: candidates.score[i]!, class: classes.classNames[classId]!, class_id: classId };
  });
}

/** The YOLOv8-pose package's predictions for one image: contract §4 preprocessing, §4.3 decoding and NMS, §5.3 boxes, §4.5-4.6 keypoints. */
async function posePredictions(c: ParityCase): Promise<Prediction[]> {
  const modelId = c.model_id.replace(/\/1$/, "");
  const config = parsePreprocessing(readJson(modelId, "environment.json").PREPROCESSING);
  const metadata = parseKeypointsMetadata(readJson(modelId, "keypoints_metadata.json"), "keypoints_metadata.json");
  const classNames = classNamesOf(modelId);
  const session = runtime.createSession(join(modelDir(modelId), "weights.onnx"), { executionProviders: ["cpu"], intraOpThreads: 1 });
  const size = 640;
  const input = new Float32Array(3 * size * size);
  const image = await preprocessInto(imageBytes(c.image), config, NO_SWITCHES, { width: size, height: size, mean: [0, 0, 0], std: [1, 1, 1] }, input);
  const [output] = session.runAllocating([{ name: session.inputs[0]!.name, data: input, shape: [1, 3, size, size] }]);
  const data = output!.data as Float32Array;
  // The export's output axes are symbolic: the run tells their sizes.
  const [, channels, anchors] = output!.shape;
  const keypointCount = yolov8PoseKeypointCount(channels!, classNames.length, metadata.maxKeypoints);
  const { candidates, keypoints: layout } = decodeYolov8Pose(data, classNames.length, anchors!, keypointCount, c.params.confidence);
  const kept = nonMaxSuppression(candidates, { iouThreshold: c.params.iou_threshold, classAgnostic: c.params.class_agnostic_nms, maxDetections: c.params.max_detections });
  const geometry: RescaleGeometry = { inputWidth: size, inputHeight: size, imageWidth: image.width, imageHeight: image.height, resize: config.resize.method, staticCrop: config.staticCrop };
  const boxes = gatherBoxes(candidates, kept);
  rescaleBoxes(boxes, geometry);
  const keypoints = gatherKeypoints(data, layout, candidates, kept);
  rescaleKeypoints(keypoints, geometry);
  const width = 3 * keypointCount;
  return Array.from(kept, (i, k) => {
    const [x1, y1, x2, y2] = boxes.subarray(4 * k, 4 * k + 4);
    const classId = candidates.classId[i]!;
    return {
      x: (x1! + x2!) / 2, y: (y1! + y2!) / 2, width: x2! - x1!, height: y2! - y1!, confidence: candidates.score[i]!, class: classNames[classId]!, class_id: classId,
      keypoints: keypointPredictions(keypoints.subarray(k * width, (k + 1) * width), keypointNamesOf(metadata, classId), c.params.keypoint_confidence ?? 0),
    };
  });
}

const corners = (p: Prediction) => [p.x - p.width / 2, p.y - p.height / 2, p.x + p.width / 2, p.y + p.height / 2];

function iou(a: Prediction, b: Prediction): number {
  const [ax1, ay1, ax2, ay2] = corners(a);
  const [bx1, by1, bx2, by2] = corners(b);
  const inter = Math.max(0, Math.min(ax2!, bx2!) - Math.max(ax1!, bx1!)) * Math.max(0, Math.min(ay2!, by2!) - Math.max(ay1!, by1!));
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Pairs each expected prediction with an unused actual one of its class: the best IoU, and among
 * boxes within 0.01 of that IoU (RF-DETR's near-duplicates) the closest confidence.
 */
function pairPredictions(expected: Prediction[], actual: Prediction[]): { expected: Prediction; actual: Prediction | undefined }[] {
  const used = new Set<number>();
  return expected.map((e) => {
    const options = actual.map((a, i) => ({ a, i, overlap: iou(e, a) })).filter((o) => !used.has(o.i) && o.a.class_id === e.class_id && o.overlap > 0);
    const best = Math.max(...options.map((o) => o.overlap));
    const pick = options.filter((o) => o.overlap >= best - 0.01).sort((p, q) => Math.abs(p.a.confidence - e.confidence) - Math.abs(q.a.confidence - e.confidence))[0];
    if (pick) used.add(pick.i);
    return { expected: e, actual: pick?.a };
  });
}

/** Checks one case against the README's tolerances; returns the largest corner, confidence and keypoint differences seen. */
function compare(c: ParityCase, actual: Prediction[]) {
  const [cornerTolerance, confidenceTolerance] = c.resize_applied ? [2, 1e-2] : [1, 2e-3];
  const nearThreshold = (p: Prediction) => Math.abs(p.confidence - c.params.confidence) <= 0.01;
  const deltas = { corner: 0, confidence: 0, keypoint: 0, keypointConfidence: 0 };
  const pairs = pairPredictions(c.response.predictions, actual);
  for (const { expected, actual: a } of pairs) {
    if (!a) {
      expect(nearThreshold(expected)).toBe(true);
      continue;
    }
    expect(a.class).toBe(expected.class);
    corners(a).forEach((v, i) => (deltas.corner = Math.max(deltas.corner, Math.abs(v - corners(expected)[i]!))));
    deltas.confidence = Math.max(deltas.confidence, Math.abs(a.confidence - expected.confidence));
    for (const k of expected.keypoints ?? []) {
      const mine = a.keypoints?.find((m) => m.class_id === k.class_id);
      expect(mine?.class).toBe(k.class);
      deltas.keypoint = Math.max(deltas.keypoint, Math.abs(mine!.x - k.x), Math.abs(mine!.y - k.y));
      deltas.keypointConfidence = Math.max(deltas.keypointConfidence, Math.abs(mine!.confidence - k.confidence));
    }
    if (expected.keypoints) expect(a.keypoints!.map((k) => k.class_id)).toEqual(expected.keypoints.map((k) => k.class_id));
  }
  const matched = new Set(pairs.map((p) => p.actual));
  const allowedExtras = c.stability.possible_extra_predictions;
  for (const extra of actual.filter((p) => !matched.has(p))) {
    const allowed = nearThreshold(extra) || allowedExtras.some((e) => e.class_id === extra.class_id && iou(e, extra) > 0.9);
    expect(allowed).toBe(true);
  }
  expect(deltas.corner).toBeLessThanOrEqual(cornerTolerance);
  expect(deltas.confidence).toBeLessThanOrEqual(confidenceTolerance);
  expect(deltas.keypoint).toBeLessThanOrEqual(cornerTolerance);
  expect(deltas.keypointConfidence).toBeLessThanOrEqual(confidenceTolerance);
  return deltas;
}

describe.skipIf(!available)("RF-DETR decoding against the reference", () => {
  test.each(cases("fixture-rfdetr-det__"))("%s", async (_, c) => {
    const actual = await rfdetrPredictions(c);
    compare(c, actual);
    // Every reference prediction is found, in the reference's (score) order.
    expect(actual.map((p) => p.class)).toEqual(c.response.predictions.map((p) => p.class));
  });
});

describe.skipIf(!available)("YOLOv8-pose decoding against the reference", () => {
  test.each(cases("fixture-pose__"))("%s", async (_, c) => {
    compare(c, await posePredictions(c));
  });
});

// The demo models' quality, measured through the server: held-out generated scenes (seeds from HELD_OUT_SEED_BASE,
// never used for training) sent over HTTP with the request defaults a user gets, answers compared with the scenes' labels.
//   bun run demo-eval [--scenes 200] [--url http://localhost:9001]
// Without --url it starts `bun src/main.ts` on a free port with the demo models installed into a temporary cache.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBenchServer } from "../../bench/server-process.ts";
import { DEMO_CLASSIFICATION_ID, DEMO_DETECTION_ID, DEMO_SEGMENTATION_ID } from "../../src/demo/install.ts";
import type { PolygonPrediction } from "../../src/models/tasks/instance-segmentation.ts";
import { matchDetections, maskIous, type Prediction } from "./quality.ts";
import { HELD_OUT_SEED_BASE, renderClassificationScene, renderDetectionScene, SHAPE_CLASSES, type Scene } from "./scenes.ts";

export interface DetectionQuality {
  shapes: number;
  predictions: number;
  truePositives: number;
  recall: number;
  precision: number;
}

export interface DemoQuality {
  scenes: number;
  detection: DetectionQuality;
  segmentation: DetectionQuality & {
    /** Mean over matched shapes of the polygon's IoU with the shape's outline (holes filled: one polygon has none). */
    maskIou: number;
    /** The same against the exact mask, a hex nut's hole excluded. */
    exactMaskIou: number;
  };
  classification: { images: number; correct: number; accuracy: number };
  /** Recall per class of the detector, in SHAPE_CLASSES order. */
  detectionRecallByClass: Record<string, number>;
}

async function post(url: string, route: string, body: object): Promise<any> {
  const response = await fetch(`${url}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Runs `work` over 0..count-1, `concurrency` at a time. */
async function forEachConcurrently(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

function summarise(shapes: number, predictions: number, truePositives: number): DetectionQuality {
  return { shapes, predictions, truePositives, recall: shapes === 0 ? 1 : truePositives / shapes, precision: predictions === 0 ? 1 : truePositives / predictions };
}

/** Sends `count` held-out scenes to each demo model of the server at `url` and scores the answers. */
export async function evaluateDemo(
  url: string,
  count: number,
  ids = { detection: DEMO_DETECTION_ID, segmentation: DEMO_SEGMENTATION_ID, classification: DEMO_CLASSIFICATION_ID },
): Promise<DemoQuality> {
  const det = { shapes: 0, predictions: 0, tp: 0 };
  const seg = { shapes: 0, predictions: 0, tp: 0, iou: 0, exact: 0 };
  const byClass = SHAPE_CLASSES.map(() => ({ shapes: 0, found: 0 }));
  let correct = 0;
  await forEachConcurrently(count, 4, async (i) => {
    const seed = HELD_OUT_SEED_BASE + i;
    const scene: Scene = await renderDetectionScene(seed);
    const image = { type: "base64", value: Buffer.from(scene.jpeg).toString("base64") };
    const detection = await post(url, "/infer/object_detection", { model_id: ids.detection, image });
    const found = matchDetections(scene.instances, detection.predictions as Prediction[]);
    det.shapes += scene.instances.length;
    det.predictions += detection.predictions.length;
    det.tp += found.matches.length;
    for (const instance of scene.instances) byClass[instance.classId]!.shapes++;
    for (const m of found.matches) byClass[scene.instances[m.instance]!.classId]!.found++;

    const segmentation = await post(url, "/infer/instance_segmentation", { model_id: ids.segmentation, image });
    const predictions = segmentation.predictions as PolygonPrediction[];
    const segFound = matchDetections(scene.instances, predictions);
    seg.shapes += scene.instances.length;
    seg.predictions += predictions.length;
    seg.tp += segFound.matches.length;
    for (const m of segFound.matches) {
      const ious = maskIous(scene, m.instance, predictions[m.prediction]!.points);
      seg.iou += ious.outline;
      seg.exact += ious.exact;
    }

    const single = await renderClassificationScene(seed);
    const classification = await post(url, "/infer/classification", {
      model_id: ids.classification,
      image: { type: "base64", value: Buffer.from(single.jpeg).toString("base64") },
    });
    if (classification.top === SHAPE_CLASSES[single.classId]) correct++;
  });
  return {
    scenes: count,
    detection: summarise(det.shapes, det.predictions, det.tp),
    segmentation: { ...summarise(seg.shapes, seg.predictions, seg.tp), maskIou: seg.tp === 0 ? 0 : seg.iou / seg.tp, exactMaskIou: seg.tp === 0 ? 0 : seg.exact / seg.tp },
    classification: { images: count, correct, accuracy: correct / count },
    detectionRecallByClass: Object.fromEntries(SHAPE_CLASSES.map((name, c) => [name, byClass[c]!.shapes === 0 ? 1 : byClass[c]!.found / byClass[c]!.shapes])),
  };
}

export function formatQuality(q: DemoQuality): string {
  const f = (v: number) => v.toFixed(3);
  return [
    `held-out scenes: ${q.scenes} (seeds ${HELD_OUT_SEED_BASE}..${HELD_OUT_SEED_BASE + q.scenes - 1})`,
    `${DEMO_DETECTION_ID}      shapes ${q.detection.shapes}, predictions ${q.detection.predictions}: recall ${f(q.detection.recall)}, precision ${f(q.detection.precision)} (IoU 0.5, right class)`,
    `  recall by class: ${Object.entries(q.detectionRecallByClass)
      .map(([c, r]) => `${c} ${f(r)}`)
      .join(", ")}`,
    `${DEMO_SEGMENTATION_ID}  shapes ${q.segmentation.shapes}, predictions ${q.segmentation.predictions}: recall ${f(q.segmentation.recall)}, precision ${f(q.segmentation.precision)}; ` +
      `mask IoU ${f(q.segmentation.maskIou)} (outline), ${f(q.segmentation.exactMaskIou)} (exact, hex-nut holes excluded)`,
    `${DEMO_CLASSIFICATION_ID}  images ${q.classification.images}: accuracy ${f(q.classification.accuracy)}`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { scenes: { type: "string", default: "200" }, url: { type: "string" }, json: { type: "boolean", default: false } } });
  const count = Number(values.scenes);
  let url = values.url;
  let stop = async () => {};
  let cache: string | null = null;
  if (!url) {
    cache = mkdtempSync(join(tmpdir(), "demo-eval-"));
    const server = await startBenchServer("src/main.ts", { MODEL_CACHE_DIR: cache });
    url = server.url;
    stop = () => server.stop();
  }
  try {
    const started = performance.now();
    const quality = await evaluateDemo(url, count);
    console.log(values.json ? JSON.stringify(quality, null, 2) : formatQuality(quality));
    console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await stop();
    if (cache) rmSync(cache, { recursive: true, force: true });
  }
}

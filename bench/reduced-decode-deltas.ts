// What DECODE_AT_REDUCED_SIZE does to answers: the same requests to a server that decodes in full and to one that decodes at
// a DCT scale, and the differences between their predictions (box corners, confidences, keypoints), case by case.
//
//   bun bench/reduced-decode-deltas.ts            # the parity sample (../shared/parity) as is and enlarged 4x, and our fixtures
//
// Prints a Markdown table (README "Configuration" quotes it). Predictions are paired as the parity test pairs them: same
// class, best IoU. Corner deltas are in the full image's pixels.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { decodeReduction } from "../src/vision/decode-reduction.ts";
import { parsePreprocessing } from "../src/vision/preprocess-config.ts";
import { resizeOf } from "../src/vision/preprocess.ts";
import { feedImages } from "./images.ts";
import { REPO_ROOT, startBenchServer, type BenchServer } from "./server-process.ts";

const PARITY_DIR = resolve(REPO_ROOT, "../shared/parity");
const FIXTURE_CACHE = resolve(REPO_ROOT, "test/fixtures/models");

interface Keypoint {
  x: number;
  y: number;
  confidence: number;
  class_id: number;
}

interface Prediction {
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  confidence: number;
  class: string;
  class_id?: number;
  keypoints?: Keypoint[];
}

interface Case {
  name: string;
  modelId: string;
  route: string;
  body: Record<string, unknown>;
  image: Uint8Array;
  /** The model's (square, stretched) input side: every model here stretches. */
  inputSize: number;
}

interface Deltas {
  name: string;
  size: string;
  factor: number;
  counts: string;
  corners: number[];
  confidences: number[];
  keypoints: number[];
}

const median = (values: number[]) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const corners = (p: Prediction) => [p.x! - p.width! / 2, p.y! - p.height! / 2, p.x! + p.width! / 2, p.y! + p.height! / 2];

function iou(a: Prediction, b: Prediction): number {
  const [ax1, ay1, ax2, ay2] = corners(a) as [number, number, number, number];
  const [bx1, by1, bx2, by2] = corners(b) as [number, number, number, number];
  const inter = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1)) * Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  return inter / (a.width! * a.height! + b.width! * b.height! - inter);
}

/** Pairs each full-decode prediction with the unused reduced-decode one of its class with the best IoU (by class name for classification). */
function pair(full: Prediction[], reduced: Prediction[]): [Prediction, Prediction][] {
  const used = new Set<number>();
  const pairs: [Prediction, Prediction][] = [];
  for (const f of full) {
    let best = -1;
    let bestScore = 0;
    reduced.forEach((r, i) => {
      if (used.has(i) || r.class !== f.class) return;
      const score = f.x === undefined ? 1 : iou(f, r);
      if (score > bestScore) [best, bestScore] = [i, score];
    });
    if (best >= 0) {
      used.add(best);
      pairs.push([f, reduced[best]!]);
    }
  }
  return pairs;
}

function compare(c: Case, size: { width: number; height: number }, full: Prediction[], reduced: Prediction[]): Deltas {
  const pairs = pair(full, reduced);
  const deltas: Deltas = {
    name: c.name,
    size: `${size.width}x${size.height}`,
    factor: 1,
    counts: `${full.length} / ${reduced.length} / ${pairs.length}`,
    corners: [],
    confidences: [],
    keypoints: [],
  };
  const stretch = parsePreprocessing({});
  const input = { width: c.inputSize, height: c.inputSize, mean: [0, 0, 0] as const, std: [1, 1, 1] as const };
  deltas.factor = decodeReduction(size, (decoded) => resizeOf(decoded, null, stretch, input));
  for (const [f, r] of pairs) {
    deltas.confidences.push(Math.abs(f.confidence - r.confidence));
    if (f.x !== undefined) corners(f).forEach((v, i) => deltas.corners.push(Math.abs(v - corners(r)[i]!)));
    for (const k of f.keypoints ?? []) {
      const other = r.keypoints?.find((o) => o.class_id === k.class_id);
      if (other) deltas.keypoints.push(Math.max(Math.abs(k.x - other.x), Math.abs(k.y - other.y)));
    }
  }
  return deltas;
}

async function answer(server: BenchServer, c: Case): Promise<{ image: { width: number; height: number }; predictions: Prediction[] }> {
  const body = { ...c.body, image: { type: "base64", value: Buffer.from(c.image).toString("base64") } };
  const res = await fetch(`${server.url}${c.route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function measure(cacheDir: string, models: string[], cases: Case[]): Promise<Deltas[]> {
  const env = { MODEL_CACHE_DIR: cacheDir, PRELOAD_MODELS: models.join(","), DEMO_MODEL_ID: "", NUM_WORKERS: "2", BATCH_SIZE_PROBE: "false", INFERENCE_WORKERS_PER_DEVICE: "1" };
  const full = await startBenchServer("src/main.ts", env);
  const reduced = await startBenchServer("src/main.ts", { ...env, DECODE_AT_REDUCED_SIZE: "true" });
  try {
    const results: Deltas[] = [];
    for (const c of cases) {
      const [a, b] = [await answer(full, c), await answer(reduced, c)];
      if (a.image.width !== b.image.width || a.image.height !== b.image.height) throw new Error(`${c.name}: the servers report different image sizes`);
      results.push(compare(c, a.image, a.predictions, b.predictions));
    }
    return results;
  } finally {
    await Promise.all([full.stop(), reduced.stop()]);
  }
}

/** The parity sample's cases, each with its own image and with that image enlarged 4x (Lanczos, JPEG quality 95). */
async function parityCases(): Promise<Case[]> {
  const cases: Case[] = [];
  const enlarged = new Map<string, Uint8Array>();
  for (const file of readdirSync(join(PARITY_DIR, "expected"))
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const c = JSON.parse(readFileSync(join(PARITY_DIR, "expected", file), "utf8"));
    const image = new Uint8Array(readFileSync(join(PARITY_DIR, "images", c.image)));
    if (!enlarged.has(c.image)) {
      const { width, height } = await sharp(image).metadata();
      enlarged.set(
        c.image,
        new Uint8Array(
          await sharp(image)
            .resize(width! * 4, height! * 4, { kernel: "lanczos3" })
            .jpeg({ quality: 95 })
            .toBuffer(),
        ),
      );
    }
    const modelId = String(c.http.request_body.model_id);
    const inputSize = modelId.startsWith("fixture-rfdetr") ? 384 : 640;
    const base = { modelId, route: c.http.route, body: c.http.request_body, inputSize };
    const name = file.replace(/\.json$/, "");
    cases.push({ ...base, name, image }, { ...base, name: `${name} (4x)`, image: enlarged.get(c.image)! });
  }
  return cases;
}

/** Our fixture models (random weights: their answers amplify any change of pixels) on the feed's full-HD scene and 12 MP photo. */
async function fixtureCases(): Promise<{ models: string[]; cases: Case[] }> {
  const models: [string, string, number][] = [
    ["fixture-yolov8n/1", "/infer/object_detection", 640],
    ["fixture-yolov8n-seg/1", "/infer/instance_segmentation", 640],
    ["fixture-yolov8n-pose/1", "/infer/keypoints_detection", 640],
    ["fixture-rfdetr-nano/1", "/infer/object_detection", 384],
    ["fixture-yolov8n-cls/1", "/infer/classification", 224],
  ];
  const images = await feedImages(["1920x1080", "4032x3024"]);
  const cases = models.flatMap(([modelId, route, inputSize]) =>
    images.map((image) => ({ name: `${modelId} ${image.width}x${image.height}`, modelId, route, body: { model_id: modelId }, image: image.jpeg, inputSize })),
  );
  return { models: models.map(([id]) => id), cases };
}

const format = (values: number[], digits: number) => (values.length ? `${Math.max(...values).toFixed(digits)} / ${median(values).toFixed(digits)}` : "–");

function table(rows: Deltas[]): string {
  const lines = [
    "| case | image | decoded at | predictions full / reduced / paired | corner Δ px, max / median | confidence Δ, max / median | keypoint Δ px, max / median |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.size} | 1/${r.factor} | ${r.counts} | ${format(r.corners, 1)} | ${format(r.confidences, 4)} | ${format(r.keypoints, 1)} |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const rows: Deltas[] = [];
  if (existsSync(join(PARITY_DIR, "expected"))) {
    rows.push(...(await measure(join(PARITY_DIR, "models"), ["fixture-det/1", "fixture-pose/1", "fixture-rfdetr-det/1"], await parityCases())));
  } else console.warn(`${PARITY_DIR} is absent: the parity sample is skipped`);
  const fixtures = await fixtureCases();
  rows.push(...(await measure(FIXTURE_CACHE, fixtures.models, fixtures.cases)));
  console.log(table(rows));
}

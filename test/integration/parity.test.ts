// Parity with the reference server: its recorded answers in ../shared/parity, within that folder's README tolerances.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT, startServerProcess, type ServerProcess } from "./server-process.ts";

const PARITY_DIR = resolve(REPO_ROOT, "../shared/parity");
const available = existsSync(join(PARITY_DIR, "expected"));
if (!available) console.warn(`parity: ${PARITY_DIR} is absent; skipping the reference parity checks`);

interface Keypoint {
  x: number;
  y: number;
  confidence: number;
  class_id: number;
  class: string;
}

interface Prediction {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
  /** Keypoint detection only. */
  keypoints?: Keypoint[];
}

interface ParityCase {
  image: string;
  params: { confidence: number };
  http: { route: string; request_body: Record<string, unknown> };
  response: { predictions: Prediction[]; image: { width: number; height: number } };
  resize_applied: boolean;
}

const cases: [string, ParityCase][] = available
  ? readdirSync(join(PARITY_DIR, "expected"))
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => [f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(PARITY_DIR, "expected", f), "utf8"))])
  : [];

const corners = (p: Prediction) => [p.x - p.width / 2, p.y - p.height / 2, p.x + p.width / 2, p.y + p.height / 2] as const;

function iou(a: Prediction, b: Prediction): number {
  const [ax1, ay1, ax2, ay2] = corners(a);
  const [bx1, by1, bx2, by2] = corners(b);
  const iw = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const ih = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = iw * ih;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Boxes whose IoUs with an expected one differ by less than this overlap "almost completely" alike (RF-DETR's queries can). */
const SAME_OVERLAP = 0.02;

/**
 * Pairs each expected prediction with the unused actual one of the same class with the best IoU; where several overlap
 * it almost as well, with the one whose confidence is closest (the parity README's rule).
 */
function matchPredictions(expected: Prediction[], actual: Prediction[]) {
  const used = new Set<number>();
  return expected.map((e) => {
    const candidates = actual.map((a, i) => ({ i, overlap: !used.has(i) && a.class_id === e.class_id ? iou(e, a) : 0 })).filter((c) => c.overlap > 0);
    const bestOverlap = Math.max(0, ...candidates.map((c) => c.overlap));
    const close = candidates.filter((c) => c.overlap >= bestOverlap - SAME_OVERLAP);
    close.sort((a, b) => Math.abs(actual[a.i]!.confidence - e.confidence) - Math.abs(actual[b.i]!.confidence - e.confidence));
    const best = close[0]?.i ?? -1;
    if (best >= 0) used.add(best);
    return { expected: e, actual: best >= 0 ? actual[best] : undefined };
  });
}

let server: ServerProcess;

beforeAll(async () => {
  if (available) server = await startServerProcess({ MODEL_CACHE_DIR: join(PARITY_DIR, "models"), PRELOAD_MODELS: "fixture-det/1" });
});

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(!available)("parity with the reference server", () => {
  test.each(cases)("%s matches the reference's predictions", async (_, c) => {
    const [cornerTolerance, confidenceTolerance] = c.resize_applied ? [2, 1e-2] : [1, 2e-3];
    const image = readFileSync(join(PARITY_DIR, "images", c.image)).toString("base64");
    const body = { ...c.http.request_body, image: { type: "base64", value: image } };
    const res = await server.post(c.http.route, body);
    expect(res.status).toBe(200);
    const actual: { predictions: Prediction[]; image: unknown } = await res.json();
    expect(actual.image).toEqual(c.response.image);

    const nearThreshold = (p: Prediction) => Math.abs(p.confidence - c.params.confidence) <= 0.01;
    const pairs = matchPredictions(c.response.predictions, actual.predictions);
    for (const { expected, actual: a } of pairs) {
      if (!a) {
        expect(nearThreshold(expected)).toBe(true);
        continue;
      }
      expect(a.class).toBe(expected.class);
      corners(a).forEach((v, i) => expect(Math.abs(v - corners(expected)[i]!)).toBeLessThanOrEqual(cornerTolerance));
      expect(Math.abs(a.confidence - expected.confidence)).toBeLessThanOrEqual(confidenceTolerance);
      // Keypoints, paired by their class_id: same name, position and confidence within the box tolerances.
      expect(a.keypoints?.length).toBe(expected.keypoints?.length);
      for (const keypoint of expected.keypoints ?? []) {
        const ours = a.keypoints!.find((k) => k.class_id === keypoint.class_id);
        expect(ours?.class).toBe(keypoint.class);
        expect(Math.abs(ours!.x - keypoint.x)).toBeLessThanOrEqual(cornerTolerance);
        expect(Math.abs(ours!.y - keypoint.y)).toBeLessThanOrEqual(cornerTolerance);
        expect(Math.abs(ours!.confidence - keypoint.confidence)).toBeLessThanOrEqual(confidenceTolerance);
      }
    }
    const matched = new Set(pairs.map((p) => p.actual));
    for (const extra of actual.predictions.filter((p) => !matched.has(p))) expect(nearThreshold(extra)).toBe(true);
  });
});

// Parity with the reference server: its recorded answers in ../shared/parity, within that folder's README tolerances.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT, startServerProcess, type ServerProcess } from "./server-process.ts";

const PARITY_DIR = resolve(REPO_ROOT, "../shared/parity");
const available = existsSync(join(PARITY_DIR, "expected"));
if (!available) console.warn(`parity: ${PARITY_DIR} is absent; skipping the reference parity checks`);

interface Prediction {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
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

/** Pairs each expected prediction with the unused actual one of the same class with the best IoU. */
function matchPredictions(expected: Prediction[], actual: Prediction[]) {
  const used = new Set<number>();
  return expected.map((e) => {
    let best = -1;
    let bestIou = 0;
    actual.forEach((a, i) => {
      if (used.has(i) || a.class_id !== e.class_id) return;
      const overlap = iou(e, a);
      if (overlap > bestIou) [best, bestIou] = [i, overlap];
    });
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
    }
    const matched = new Set(pairs.map((p) => p.actual));
    for (const extra of actual.predictions.filter((p) => !matched.has(p))) expect(nearThreshold(extra)).toBe(true);
  });
});

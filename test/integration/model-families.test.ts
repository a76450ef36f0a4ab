// Specification of the detection families over real HTTP, real workers and real ONNX Runtime: YOLOv5 (objectness), YOLO-NAS, YOLOv10 and YOLO26 (end-to-end).
//
// Each family's probe (test/fixtures/family-models.ts) turns an image's mean colour (r, g, b) into a
// box centred at (r·S, g·S) of size S/4 × S/8 with class-0 score b, plus a fixed class-1 box at the
// centre (score 0.9) and a class-1 box inside it (score 0.8), so every answer can be computed here:
// NMS families drop the inner box and sort by score; end-to-end ones keep the model's rows in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FAMILY_PROBE_CLASSES, FAMILY_PROBE_INPUT as S } from "../fixtures/family-models.ts";
import { rescaledBox } from "./reference-boxes.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const MODELS = { yolov5: "det-probe-yolov5/1", yolonas: "det-probe-yolonas/1", yolov10: "det-probe-yolov10/1", yolo26: "det-probe-yolo26/1" };
type Family = keyof typeof MODELS;

interface Expected {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
}

/** The probe's three boxes for a solid colour, in the model's row order. */
function probeBoxes(rgb: [number, number, number], w0: number, h0: number): Expected[] {
  const [r, g, b] = rgb.map((v) => v / 255) as [number, number, number];
  return [
    { ...rescaledBox(r * S - S / 8, g * S - S / 16, r * S + S / 8, g * S + S / 16, w0, h0), confidence: b, class: FAMILY_PROBE_CLASSES[0]!, class_id: 0 },
    { ...rescaledBox(S / 4, S / 4, (3 * S) / 4, (3 * S) / 4, w0, h0), confidence: 0.9, class: FAMILY_PROBE_CLASSES[1]!, class_id: 1 },
    { ...rescaledBox((3 * S) / 8, (3 * S) / 8, (5 * S) / 8, (5 * S) / 8, w0, h0), confidence: 0.8, class: FAMILY_PROBE_CLASSES[1]!, class_id: 1 },
  ];
}

/**
 * What each family answers: YOLOv5 and YOLO-NAS go through the reference's NMS (the inner box is
 * inside the fixed one: suppressed), keep score >= confidence and sort by score; YOLOv10 and YOLO26
 * keep score > confidence in row order, YOLOv10 capped at max_detections.
 */
function expectedPredictions(family: Family, rgb: [number, number, number], w0: number, h0: number, confidence = 0.4, maxDetections = 300): Expected[] {
  const [colour, fixed, inner] = probeBoxes(rgb, w0, h0);
  const f = Math.fround;
  if (family === "yolov5" || family === "yolonas") {
    return [colour!, fixed!]
      .filter((p) => f(p.confidence) >= f(confidence))
      .sort((p, q) => q.confidence - p.confidence)
      .slice(0, maxDetections);
  }
  const kept = [colour!, fixed!, inner!].filter((p) => f(p.confidence) > f(confidence));
  return family === "yolov10" ? kept.slice(0, maxDetections) : kept;
}

async function solidPng(rgb: [number, number, number], width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
  return png.toString("base64");
}

function expectMatches(actual: any[], expected: Expected[]) {
  expect(actual.map((p) => ({ x: p.x, y: p.y, width: p.width, height: p.height, class: p.class, class_id: p.class_id }))).toEqual(
    expected.map((e) => ({ x: e.x, y: e.y, width: e.width, height: e.height, class: e.class, class_id: e.class_id })),
  );
  actual.forEach((p, i) => {
    expect(p.confidence).toBeCloseTo(expected[i]!.confidence, 5);
    expect(p.detection_id).toMatch(/^[0-9a-f-]{36}$/);
  });
}

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({
    MODEL_CACHE_DIR: FIXTURE_CACHE,
    PRELOAD_MODELS: Object.values(MODELS).join(","),
    MAX_BATCH_SIZE: "8",
    ARENA_SLOTS: "16",
    BATCH_MAX_WAIT_MS: "20",
  });
});

afterAll(async () => {
  await server?.stop();
});

const post = (family: Family, image: unknown, extra: Record<string, unknown> = {}) => server.post("/infer/object_detection", { model_id: MODELS[family], image, ...extra });

describe.each(Object.keys(MODELS) as Family[])("%s over HTTP", (family) => {
  test("answers the boxes the outputs imply, rescaled to the original image", async () => {
    const rgb: [number, number, number] = [153, 102, 217];
    const res = await post(family, { type: "base64", value: await solidPng(rgb, 320, 240) });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.image).toEqual({ width: 320, height: 240 });
    expectMatches(body.predictions, expectedPredictions(family, rgb, 320, 240));
  });

  test("applies its family's confidence rule (inclusive with NMS, strict end-to-end) and class_filter", async () => {
    const rgb: [number, number, number] = [60, 200, 204];
    const value = await solidPng(rgb, 200, 100);
    // Mean blue 204/255 = 0.8 exactly: kept at confidence 0.8 by NMS families, dropped by end-to-end ones.
    const at08 = await (await post(family, { type: "base64", value }, { confidence: 0.8 })).json();
    expectMatches(at08.predictions, expectedPredictions(family, rgb, 200, 100, 0.8));
    const filtered = await (await post(family, { type: "base64", value }, { confidence: 0.1, class_filter: [FAMILY_PROBE_CLASSES[0]] })).json();
    expect(filtered.predictions.map((p: any) => p.class_id)).toEqual([0]);
  });

  test("answers a list of images, each with its own boxes", async () => {
    const colours: [number, number, number][] = [
      [30, 90, 250],
      [220, 40, 180],
      [128, 128, 128],
    ];
    const images = await Promise.all(colours.map(async (c) => ({ type: "base64", value: await solidPng(c, 160, 120) })));
    const res = await post(family, images);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.length).toBe(3);
    body.forEach((r: any, i: number) => expectMatches(r.predictions, expectedPredictions(family, colours[i]!, 160, 120)));
  });
});

describe("family specifics", () => {
  test("NMS families suppress the inner box; end-to-end families keep it and ignore iou_threshold", async () => {
    const value = await solidPng([100, 100, 50], 64, 64);
    for (const family of Object.keys(MODELS) as Family[]) {
      const body = await (await post(family, { type: "base64", value }, { iou_threshold: 0.99 })).json();
      const classOne = body.predictions.filter((p: any) => p.class_id === 1).length;
      expect([family, classOne]).toEqual([family, family === "yolov5" || family === "yolonas" ? 1 : 2]);
    }
  });

  test("YOLOv10 keeps the first max_detections rows; YOLO26 has no cap", async () => {
    const rgb: [number, number, number] = [100, 150, 230];
    const value = await solidPng(rgb, 128, 128);
    const v10 = await (await post("yolov10", { type: "base64", value }, { max_detections: 1 })).json();
    expectMatches(v10.predictions, expectedPredictions("yolov10", rgb, 128, 128, 0.4, 1));
    expect(v10.predictions.length).toBe(1);
    const v26 = await (await post("yolo26", { type: "base64", value }, { max_detections: 1 })).json();
    expect(v26.predictions.length).toBe(3);
  });

  test("the YOLOv5 confidence is the objectness alone, not objectness x class score", async () => {
    // The probe's class scores (0.5 for the colour box, 0.6 for the fixed one) differ from its objectness.
    const rgb: [number, number, number] = [10, 20, 230];
    const body = await (await post("yolov5", { type: "base64", value: await solidPng(rgb, 64, 64) })).json();
    expect(body.predictions.map((p: any) => Math.round(p.confidence * 1000) / 1000)).toEqual([0.902, 0.9]);
  });

  test("the fixed-batch YOLOv10 model runs one image per call; the dynamic ones batch concurrent requests", async () => {
    const registry = await (await fetch(`${server.url}/model/registry`)).json();
    const batchSizes = Object.fromEntries(registry.models.map((m: any) => [m.model_id, m.batch_size]));
    expect(batchSizes).toEqual({ [MODELS.yolov5]: null, [MODELS.yolonas]: null, [MODELS.yolov10]: 1, [MODELS.yolo26]: null });

    const colours = Array.from({ length: 24 }, (_, i) => [(i * 37) % 256, (i * 91 + 13) % 256, 110 + ((i * 53) % 140)] as [number, number, number]);
    for (const family of ["yolov10", "yolov5"] as Family[]) {
      const bodies = await Promise.all(colours.map(async (c, i) => ({ id: `${family}-${i}`, image: { type: "base64", value: await solidPng(c, 96 + i, 64) } })));
      const responses = await Promise.all(bodies.map((b) => post(family, b.image, { id: b.id }).then((r) => r.json())));
      responses.forEach((r: any, i) => {
        expect(r.inference_id).toBe(`${family}-${i}`);
        expectMatches(r.predictions, expectedPredictions(family, colours[i]!, 96 + i, 64));
      });
    }
    const v10Sizes = await batchCounts(MODELS.yolov10);
    expect([...v10Sizes.keys()]).toEqual([1]);
    const v5Sizes = await batchCounts(MODELS.yolov5);
    expect(Math.max(...v5Sizes.keys())).toBeGreaterThan(1);
  });
});

/** Batch size -> batches run so far, from the server's exact per-size counters. */
async function batchCounts(modelId: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m = /^inference_batches_by_size_total\{model_id="([^"]+)",size="(\d+)"\} (\d+)$/.exec(line);
    if (m && m[1] === modelId) counts.set(Number(m[2]), Number(m[3]));
  }
  return counts;
}

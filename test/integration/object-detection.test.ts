// Specification of POST /infer/object_detection over real HTTP, real workers and real ONNX Runtime.
//
// The colour-probe fixture turns an image's mean colour (r, g, b) into a box centred at
// (r·S, g·S) of size S/4 × S/8 with class-0 score b, plus a fixed class-1 box at the centre
// with score 0.9 (see test/fixtures/probe-models.ts), so every answer can be computed here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { rescaledBox } from "./reference-boxes.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const S = 640;
const probeClasses = readFileSync(join(FIXTURE_CACHE, "colour-probe/1/class_names.txt"), "utf8").trim().split("\n");

function expectedPredictions(rgb: [number, number, number], w0: number, h0: number, confidence = 0.4) {
  const [r, g, b] = rgb.map((v) => v / 255) as [number, number, number];
  const predictions = [
    { ...rescaledBox(r * S - S / 8, g * S - S / 16, r * S + S / 8, g * S + S / 16, w0, h0), confidence: b, class: probeClasses[0], class_id: 0 },
    { ...rescaledBox(S / 4, S / 4, (3 * S) / 4, (3 * S) / 4, w0, h0), confidence: 0.9, class: probeClasses[1], class_id: 1 },
  ];
  return predictions.filter((p) => p.confidence >= confidence).sort((p, q) => q.confidence - p.confidence);
}

async function solidPng(rgb: [number, number, number], width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
  return png.toString("base64");
}

function expectMatches(actual: any[], expected: ReturnType<typeof expectedPredictions>) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((p, i) => {
    const e = expected[i]!;
    expect({ x: p.x, y: p.y, width: p.width, height: p.height, class: p.class, class_id: p.class_id }).toEqual({
      x: e.x,
      y: e.y,
      width: e.width,
      height: e.height,
      class: e.class,
      class_id: e.class_id,
    });
    expect(p.confidence).toBeCloseTo(e.confidence, 5);
    expect(p.detection_id).toMatch(/^[0-9a-f-]{36}$/);
  });
}

let server: ServerProcess;

beforeAll(async () => {
  // The probe runs in microseconds, so greedy batching alone would rarely find two requests
  // ready at once: a short batching window makes concurrent requests share calls.
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "colour-probe/1", MAX_BATCH_SIZE: "8", ARENA_SLOTS: "16", BATCH_MAX_WAIT_MS: "20" });
});

afterAll(async () => {
  await server?.stop();
});

describe("POST /infer/object_detection", () => {
  test("answers a base64 image with the boxes the model's output implies, rescaled to the original image", async () => {
    const rgb: [number, number, number] = [153, 51, 217];
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: await solidPng(rgb, 300, 200) } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.image).toEqual({ width: 300, height: 200 });
    expect(typeof body.inference_id).toBe("string");
    expect(body.time).toBeGreaterThan(0);
    expectMatches(body.predictions, expectedPredictions(rgb, 300, 200));
  });

  test("strips a data-URI prefix from base64 values", async () => {
    const rgb: [number, number, number] = [100, 180, 230];
    const value = `data:image/png;base64,${await solidPng(rgb, 64, 48)}`;
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value } });
    expect(res.status).toBe(200);
    expectMatches((await res.json()).predictions, expectedPredictions(rgb, 64, 48));
  });

  test("drops boxes below the confidence threshold and honours class_filter, max_detections and the request id", async () => {
    const rgb: [number, number, number] = [60, 200, 90];
    const value = await solidPng(rgb, 128, 128);
    const low = await (await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value } })).json();
    expect(low.predictions.map((p: any) => p.class_id)).toEqual([1]);
    const all = await (await server.post("/infer/object_detection", { model_id: "colour-probe/1", id: "req-7", confidence: 0.1, image: { type: "base64", value } })).json();
    expect(all.inference_id).toBe("req-7");
    expectMatches(all.predictions, expectedPredictions(rgb, 128, 128, 0.1));
    const filtered = await (
      await server.post("/infer/object_detection", { model_id: "colour-probe/1", confidence: 0.1, class_filter: [probeClasses[0]], image: { type: "base64", value } })
    ).json();
    expect(filtered.predictions.map((p: any) => p.class_id)).toEqual([0]);
    const capped = await (
      await server.post("/infer/object_detection", { model_id: "colour-probe/1", confidence: 0.1, max_detections: 1, image: { type: "base64", value } })
    ).json();
    expect(capped.predictions.map((p: any) => p.class_id)).toEqual([1]);
  });

  test("answers a list of images with a list of responses in the same order", async () => {
    const colours: [number, number, number][] = [
      [30, 90, 250],
      [220, 40, 180],
      [128, 128, 128],
    ];
    const images = await Promise.all(colours.map(async (c) => ({ type: "base64", value: await solidPng(c, 160, 120) })));
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: images });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Array.isArray(body)).toBe(true);
    expect(body.length).toBe(3);
    body.forEach((r: any, i: number) => expectMatches(r.predictions, expectedPredictions(colours[i]!, 160, 120)));
  });

  test("batches concurrent requests and gives every request the answer for its own image", async () => {
    const before = await batchCounts(server, "colour-probe/1");
    const colours = Array.from({ length: 64 }, (_, i) => [(i * 37) % 256, (i * 91 + 13) % 256, 110 + ((i * 53) % 140)] as [number, number, number]);
    const bodies = await Promise.all(
      colours.map(async (c, i) => ({ model_id: "colour-probe/1", id: `c${i}`, image: { type: "base64", value: await solidPng(c, 96 + i, 64 + (i % 7)) } })),
    );
    const responses = await Promise.all(bodies.map((b) => server.post("/infer/object_detection", b).then((r) => r.json())));
    responses.forEach((r: any, i) => {
      expect(r.inference_id).toBe(`c${i}`);
      expect(r.image).toEqual({ width: 96 + i, height: 64 + (i % 7) });
      expectMatches(r.predictions, expectedPredictions(colours[i]!, 96 + i, 64 + (i % 7)));
    });
    const after = await batchCounts(server, "colour-probe/1");
    const multiImageBatches = [...after.entries()].filter(([size]) => size > 1).reduce((n, [size, count]) => n + count - (before.get(size) ?? 0), 0);
    expect(multiImageBatches).toBeGreaterThan(0);
    expect(Math.max(...after.keys())).toBeLessThanOrEqual(8);
  });

  test("runs models whose ONNX batch dimension is fixed at 1", async () => {
    const rgb: [number, number, number] = [200, 150, 240];
    const images = await Promise.all([0, 1, 2, 3].map(async () => ({ type: "base64", value: await solidPng(rgb, 80, 60) })));
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe-fixed/1", image: images });
    expect(res.status).toBe(200);
    for (const r of await res.json()) expectMatches(r.predictions, expectedPredictions(rgb, 80, 60));
    const sizes = await batchCounts(server, "colour-probe-fixed/1");
    expect([...sizes.keys()]).toEqual([1]);
  });

  test("undoes letterboxing when the model was trained with black edges", async () => {
    const rgb: [number, number, number] = [128, 64, 230];
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe-letterbox/1", image: { type: "base64", value: await solidPng(rgb, 320, 160) } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.image).toEqual({ width: 320, height: 160 });
    // The centre box spans input pixels 160..480 both ways; the 320x160 image was scaled by 2 into
    // rows 160..480 of the 640x640 input, so undoing the padding maps it to x 80..240, y 0..160.
    const centre = body.predictions.find((p: any) => p.class_id === 1);
    expect(centre).toMatchObject({ x: 160, y: 80, width: 160, height: 160 });
  });
});

describe("errors", () => {
  test("answers 404 with a message for a model that is not in the cache", async () => {
    const res = await server.post("/infer/object_detection", { model_id: "no-such-model/3", image: { type: "base64", value: "aGVsbG8=" } });
    expect(res.status).toBe(404);
    expect((await res.json()).message).toContain("not found");
  });

  test("answers 400 for a model id with extra slashes or path traversal", async () => {
    for (const model_id of ["a/b/1", "../../etc/1"]) {
      const res = await server.post("/infer/object_detection", { model_id, image: { type: "base64", value: "aGVsbG8=" } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ message: "Invalid Model ID sent in request." });
    }
  });

  test("answers 400 for bytes that are not an image, and for malformed base64", async () => {
    const notImage = await server.post("/infer/object_detection", {
      model_id: "colour-probe/1",
      image: { type: "base64", value: Buffer.from("definitely not a picture").toString("base64") },
    });
    expect(notImage.status).toBe(400);
    expect((await notImage.json()).message).toStartWith("Could not load input image. Cause:");
    const malformed = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: "%%%not base64%%%" } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ message: "Could not load input image. Cause: Malformed base64 input image." });
  });

  test("answers 400 for an unknown image type", async () => {
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "carrier-pigeon", value: "x" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: "Could not load input image. Cause: Image declaration contains not recognised image type." });
  });

  test("answers 422 naming the field when the body does not fit the schema", async () => {
    const missing = await server.post("/infer/object_detection", { model_id: "colour-probe/1" });
    expect(missing.status).toBe(422);
    expect((await missing.json()).message).toContain("image");
    const wrongType = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: "x" }, confidence: "high" });
    expect(wrongType.status).toBe(422);
  });

  test("answers 400 for a body that is not JSON", async () => {
    const res = await server.post("/infer/object_detection", "{not json");
    expect(res.status).toBe(400);
    expect((await res.json()).message).toBeString();
  });

  test("keeps serving after errors, with every slot returned", async () => {
    const rgb: [number, number, number] = [10, 240, 200];
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: await solidPng(rgb, 50, 50) } });
    expect(res.status).toBe(200);
    expectMatches((await res.json()).predictions, expectedPredictions(rgb, 50, 50));
  });
});

describe("operations", () => {
  test("GET /info names the server, the reference version it is compatible with and the execution provider", async () => {
    const info = await (await fetch(`${server.url}/info`)).json();
    expect(info).toMatchObject({ name: "Roboflow Inference Server", version: "1.5.0", execution_provider: "cpu" });
    expect(info.uuid).toBeString();
  });

  test("logs which execution provider is active", () => {
    expect(server.output()).toContain("provider cpu");
  });
});

/** Batch size -> batches run so far, from the server's exact per-size counters. */
async function batchCounts(server: ServerProcess, modelId: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m = /^inference_batches_by_size_total\{model_id="([^"]+)",size="(\d+)"\} (\d+)$/.exec(line);
    if (m && m[1] === modelId) counts.set(Number(m[2]), Number(m[3]));
  }
  return counts;
}

// Specification of POST /infer/classification over real HTTP, real workers and real ONNX Runtime.
//
// The colour classifiers score class i (red, green, blue) as a formula of the image's channel i
// mean (see test/fixtures/classification-models.ts), so every answer can be computed here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { expectedColourClassifierOutput } from "../fixtures/classification-models.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "cls-probe/1" });
});

afterAll(async () => {
  await server?.stop();
});

async function solidPng(rgb: [number, number, number], width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
  return png.toString("base64");
}

const image = (value: string) => ({ type: "base64", value });
const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

describe("POST /infer/classification (single-label)", () => {
  test("softmaxes raw logits and answers every class above the threshold, sorted, with top and confidence", async () => {
    const res = await server.post("/infer/classification", { model_id: "cls-probe/1", image: image(await solidPng([255, 255, 0], 120, 80)), confidence: 0.001 });
    expect(res.status).toBe(200);
    const body = await res.json();
    const [red, green, blue] = expectedColourClassifierOutput([255, 255, 0], "softmax");
    expect(body.image).toEqual({ width: 120, height: 80 });
    expect(body.predictions).toEqual([
      { class: "red", class_id: 0, confidence: round4(red!) },
      { class: "green", class_id: 1, confidence: round4(green!) },
      { class: "blue", class_id: 2, confidence: round4(blue!) },
    ]);
    expect(body.top).toBe("red");
    expect(body.confidence).toBe(round4(red!));
    expect(typeof body.inference_id).toBe("string");
    expect(typeof body.time).toBe("number");
  });

  test("drops classes below the default confidence of 0.4", async () => {
    const res = await server.post("/infer/classification", { model_id: "cls-probe/1", image: image(await solidPng([255, 0, 0], 64, 64)) });
    const body = await res.json();
    expect(body.predictions.map((p: { class: string }) => p.class)).toEqual(["red"]);
    expect(body.confidence).toBeCloseTo(0.9647, 4);
  });

  test("answers top '' and confidence 0 when no class reaches the threshold", async () => {
    const res = await server.post("/infer/classification", { model_id: "cls-probe/1", image: image(await solidPng([128, 128, 128], 64, 64)), confidence: 0.5 });
    const body = await res.json();
    expect(body.predictions).toEqual([]);
    expect(body.top).toBe("");
    expect(body.confidence).toBe(0);
  });

  test("does not softmax a model output that is already a distribution", async () => {
    const res = await server.post("/infer/classification", { model_id: "cls-probe-softmax/1", image: image(await solidPng([0, 0, 255], 64, 64)), confidence: 0 });
    const body = await res.json();
    const [, , blue] = expectedColourClassifierOutput([0, 0, 255], "softmax");
    expect(body.top).toBe("blue");
    expect(body.confidence).toBe(round4(blue!));
  });

  test("answers a list of images with a list in the same order", async () => {
    const colours: [number, number, number][] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 0, 0],
    ];
    const images = await Promise.all(colours.map((c) => solidPng(c, 50, 50)));
    const res = await server.post("/infer/classification", { model_id: "cls-probe/1", image: images.map(image) });
    expect(res.status).toBe(200);
    const bodies = await res.json();
    expect(bodies.map((b: { top: string }) => b.top)).toEqual(["red", "green", "blue", "red"]);
  });

  test("runs a model whose ONNX batch dimension is fixed at 1 for concurrent requests", async () => {
    const colours: [number, number, number][] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const responses = await Promise.all(
      colours.map(async (c) => (await server.post("/infer/classification", { model_id: "cls-probe-fixed/1", image: image(await solidPng(c, 40, 40)) })).json()),
    );
    expect(responses.map((b) => b.top)).toEqual(["red", "green", "blue"]);
  });

  test("returns a base64 JPEG visualisation when asked for", async () => {
    const res = await server.post("/infer/classification", { model_id: "cls-probe/1", image: image(await solidPng([255, 0, 0], 96, 64)), visualize_predictions: true });
    const body = await res.json();
    const meta = await sharp(Buffer.from(body.visualization, "base64")).metadata();
    expect(meta.format).toBe("jpeg");
    expect([meta.width, meta.height]).toEqual([96, 64]);
  });
});

describe("POST /infer/classification (multi-label)", () => {
  test("reports every class's raw score and the classes strictly above the threshold, with the reference's swapped image size", async () => {
    const res = await server.post("/infer/classification", { model_id: "cls-multilabel/1", image: image(await solidPng([255, 255, 0], 120, 80)), confidence: 0.5 });
    expect(res.status).toBe(200);
    const body = await res.json();
    const [red, green, blue] = expectedColourClassifierOutput([255, 255, 0], "sigmoid");
    expect(body.image).toEqual({ width: 80, height: 120 });
    expect(Object.keys(body.predictions)).toEqual(["red", "green", "blue"]);
    expect(body.predictions.red.class_id).toBe(0);
    expect(body.predictions.red.confidence).toBeCloseTo(red!, 5);
    expect(body.predictions.green.confidence).toBeCloseTo(green!, 5);
    expect(body.predictions.blue.confidence).toBeCloseTo(blue!, 5);
    expect(body.predicted_classes).toEqual(["red", "green"]);
  });
});

describe("classification errors", () => {
  test("answers 400 naming the right route when a detection model is sent here, and a classifier sent to detection", async () => {
    const png = await solidPng([10, 20, 30], 32, 32);
    const wrong = await server.post("/infer/classification", { model_id: "colour-probe/1", image: image(png) });
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).message).toContain("/infer/object_detection");
    const reverse = await server.post("/infer/object_detection", { model_id: "cls-probe/1", image: image(png) });
    expect(reverse.status).toBe(400);
    expect((await reverse.json()).message).toContain("/infer/classification");
  });

  test("answers 404 for a classifier that is not in the cache", async () => {
    const res = await server.post("/infer/classification", { model_id: "no-such-classifier/1", image: image(await solidPng([1, 2, 3], 8, 8)) });
    expect(res.status).toBe(404);
    expect(typeof (await res.json()).message).toBe("string");
  });
});

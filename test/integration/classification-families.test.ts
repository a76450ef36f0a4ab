// Specification of the classification softmax rule (CLASSIFICATION_SOFTMAX) and of DINOv3 classification packages over real HTTP (docs/model-families.md §6).
//
// The colour classifiers (test/fixtures/classification-models.ts) output 2 · t per class, t the mean of
// the class's normalised input channel; `cls-probe` outputs those logits, `cls-probe-softmax` their
// softmax. By default we softmax only rows that are not already a distribution; with
// CLASSIFICATION_SOFTMAX=reference every single-label row is softmaxed, as the reference does, so a
// softmax export comes back softmaxed twice. A DINOv3 package (`model_type` dinov3, `best.onnx`, names
// from CLASS_MAP) is built here from cls-probe's ONNX: its input is normalised with ImageNet's mean and
// standard deviation, so t_c = (C/255 - mean_c) / std_c.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { COLOUR_CLASSIFIER_CLASSES, COLOUR_CLASSIFIER_GAIN, expectedColourClassifierOutput } from "../fixtures/classification-models.ts";
import { base64Image, solidPng, VariantCache, type Rgb } from "./package-variants.ts";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

const cache = new VariantCache();
const LOGITS = cache.add("cls-probe/1", "cls-probe/1");
const SOFTMAX = cache.add("cls-probe-softmax/1", "cls-probe-softmax/1");
const MULTILABEL = cache.add("cls-multilabel/1", "cls-multilabel/1");
const DINOV3 = cache.add("cls-probe/1", "dinov3-probe/1", { modelType: { model_type: "dinov3" } });
const DINOV3_NO_CLASS_MAP = cache.add("cls-probe/1", "dinov3-no-class-map/1", {
  modelType: { model_type: "dinov3" },
  environment: ({ CLASS_MAP: _, ...rest }) => rest,
});

function softmax(values: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(values));
  const exponentials = Array.from(values, (x) => Math.exp(x - max));
  const sum = exponentials.reduce((a, b) => a + b, 0);
  return exponentials.map((e) => e / sum);
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** The single-label answer for class probabilities `p`: classes at or above the threshold, confidences rounded to 4 decimals, by confidence. */
function expectedAnswer(p: number[], confidence: number) {
  const predictions = p
    .map((v, i) => ({ class: COLOUR_CLASSIFIER_CLASSES[i]!, class_id: i, confidence: round4(v) }))
    .filter((_, i) => !(p[i]! < confidence))
    .sort((a, b) => b.confidence - a.confidence);
  return { predictions, top: predictions[0]?.class ?? "", confidence: predictions[0]?.confidence ?? 0 };
}

/** The DINOv3 package's logits for a solid colour: the colour classifier's gain on ImageNet-normalised channel means. */
function dinov3Logits(rgb: Rgb): number[] {
  return rgb.map((v, c) => COLOUR_CLASSIFIER_GAIN * ((v / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!));
}

const answerOf = (body: any) => ({ predictions: body.predictions, top: body.top, confidence: body.confidence });

let byDefault: ServerProcess;
let reference: ServerProcess;

beforeAll(async () => {
  const env = { MODEL_CACHE_DIR: cache.dir, PRELOAD_MODELS: [LOGITS, SOFTMAX, DINOV3].join(",") };
  [byDefault, reference] = await Promise.all([startServerProcess(env), startServerProcess({ ...env, CLASSIFICATION_SOFTMAX: "reference" })]);
});

afterAll(async () => {
  await Promise.all([byDefault?.stop(), reference?.stop()]);
  cache.remove();
});

async function classify(server: ServerProcess, modelId: string, rgb: Rgb, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await server.post("/infer/classification", { model_id: modelId, image: base64Image(await solidPng(rgb, 48, 32)), ...extra });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
  return JSON.parse(text);
}

describe("CLASSIFICATION_SOFTMAX", () => {
  test("by default a softmax export's distribution is answered as it is", async () => {
    for (const rgb of [
      [255, 0, 0],
      [255, 255, 0],
      [40, 90, 200],
    ] as Rgb[]) {
      const distribution = Array.from(expectedColourClassifierOutput(rgb, "softmax"));
      expect(answerOf(await classify(byDefault, SOFTMAX, rgb, { confidence: 0 }))).toEqual(expectedAnswer(distribution, 0));
    }
  });

  test("reference softmaxes every single-label row, so a softmax export comes back softmaxed twice", async () => {
    for (const rgb of [
      [255, 0, 0],
      [255, 255, 0],
      [40, 90, 200],
    ] as Rgb[]) {
      const twice = softmax(expectedColourClassifierOutput(rgb, "softmax"));
      expect(answerOf(await classify(reference, SOFTMAX, rgb, { confidence: 0 }))).toEqual(expectedAnswer(twice, 0));
    }
    // Red: 0.9647 once, 0.5632 twice; at the default threshold 0.4 only red remains.
    const red = await classify(reference, SOFTMAX, [255, 0, 0]);
    expect(answerOf(red)).toEqual(expectedAnswer(softmax(expectedColourClassifierOutput([255, 0, 0], "softmax")), 0.4));
    expect(red.predictions.map((p: any) => p.class)).toEqual(["red"]);
    expect(red.confidence).toBeCloseTo(0.5632, 3);
  });

  test("reference and the default agree on a logits export: one softmax", async () => {
    const rgb: Rgb = [200, 120, 30];
    const once = softmax(expectedColourClassifierOutput(rgb, "logits"));
    for (const server of [byDefault, reference]) expect(answerOf(await classify(server, LOGITS, rgb, { confidence: 0 }))).toEqual(expectedAnswer(once, 0));
  });

  test("reference leaves multi-label scores as the model gives them", async () => {
    const body = await classify(reference, MULTILABEL, [255, 255, 0], { confidence: 0.5 });
    const scores = expectedColourClassifierOutput([255, 255, 0], "sigmoid");
    COLOUR_CLASSIFIER_CLASSES.forEach((name, i) => expect(body.predictions[name].confidence).toBeCloseTo(scores[i]!, 5));
    expect(body.predicted_classes).toEqual(["red", "green"]);
  });
});

describe("DINOv3 classification (model_type dinov3, best.onnx, names from CLASS_MAP)", () => {
  test("normalises the input with ImageNet's mean and standard deviation", async () => {
    for (const rgb of [
      [200, 100, 50],
      [20, 240, 130],
      [90, 60, 220],
    ] as Rgb[]) {
      const body = await classify(byDefault, DINOV3, rgb, { confidence: 0 });
      expect(answerOf(body)).toEqual(expectedAnswer(softmax(dinov3Logits(rgb)), 0));
    }
  });

  test("a mid-grey image is blue by ImageNet statistics, where the ViT normalisation of the same weights gives three equal scores", async () => {
    const grey: Rgb = [128, 128, 128];
    const dino = await classify(byDefault, DINOV3, grey, { confidence: 0 });
    expect(dino.top).toBe("blue");
    expect(answerOf(dino)).toEqual(expectedAnswer(softmax(dinov3Logits(grey)), 0));
    const vit = await classify(byDefault, LOGITS, grey, { confidence: 0 });
    expect(vit.predictions.map((p: any) => p.confidence)).toEqual([0.3333, 0.3333, 0.3333]);
  });

  test("drops classes below the default threshold 0.4 and reports the top class", async () => {
    const rgb: Rgb = [200, 100, 50];
    const body = await classify(byDefault, DINOV3, rgb);
    expect(answerOf(body)).toEqual(expectedAnswer(softmax(dinov3Logits(rgb)), 0.4));
    expect(body.top).toBe("red");
    expect(body.image).toEqual({ width: 48, height: 32 });
  });

  test("/model/registry lists the DINOv3 package as a classification model", async () => {
    const registry = await (await fetch(`${byDefault.url}/model/registry`)).json();
    expect(registry.models.find((m: any) => m.model_id === DINOV3)?.task_type).toBe("classification");
  });

  test("answers 500 'Model package is broken.' for a DINOv3 package without CLASS_MAP", async () => {
    const res = await byDefault.post("/infer/classification", { model_id: DINOV3_NO_CLASS_MAP, image: base64Image(await solidPng([1, 2, 3], 16, 16)) });
    expect(res.status).toBe(500);
    expect((await res.json()).message).toStartWith("Model package is broken.");
  });
});

// Specification of RF-DETR detection and segmentation over real HTTP, real workers and real ONNX Runtime (docs/model-families.md §1, §2).
//
// The RF-DETR probes (test/fixtures/rfdetr-models.ts) turn an image's mean colour (r, g, b) into four
// queries: a red-ish box centred at (r, g) of a quarter × an eighth of the image scored sigmoid(8b - 4),
// a fixed green-ish box over the middle half (sigmoid(2)), one query scoring red-ish sigmoid(1) and
// blue-ish sigmoid(0.5) over x 1/8..3/8, y 5/8..7/8, and a background query (sigmoid(5)) that is never
// reported. So every answer is computed here from §1.4: sigmoid scores over queries × classes, top-k,
// strict threshold, background column removed, unrounded float boxes. The segmentation probe adds
// fixed 16 × 16 mask logits per query (MASK_RECTANGLES). Package variants (static crop, letterbox,
// RESOLUTION) are copies of the probes in a temporary cache with an edited environment.json.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MASK_RECTANGLES, RFDETR_PROBE_CLASS_FILE, RFDETR_PROBE_MASK_SIZE, expectedRfdetrProbeOutputs } from "../fixtures/rfdetr-models.ts";
import { decodeRle } from "../../src/vision/rle.ts";
import { maskDifferences, rectangleContour, rectangleMask, type Mask } from "./mask-shapes.ts";
import { base64Image, solidPng, VariantCache, type Rgb } from "./package-variants.ts";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

/** class_names.txt without its background line: the names answers use. */
const CLASSES = RFDETR_PROBE_CLASS_FILE.slice(1);
const PREDICTION_KEYS = ["x", "y", "width", "height", "confidence", "class", "class_id", "detection_id"];
const REFUSAL =
  "Model loading failed due to restrictions of server configuration - usually due to excessive runtime memory requirement of the model (for instance caused by large input size).";

/** How normalised network-input coordinates land in the original image (§1.4 steps 8-9, with our static-crop fix). */
interface Placement {
  toX: (x: number) => number;
  toY: (y: number) => number;
  /** The clip range: the crop region's size (the image's without a crop). */
  width: number;
  height: number;
  shiftX: number;
  shiftY: number;
}

const stretched = (width: number, height: number, shiftX = 0, shiftY = 0): Placement => ({ toX: (x) => x * width, toY: (y) => y * height, width, height, shiftX, shiftY });

/** §1.4 step 8, letterbox: (Iw, Ih) the size letterboxed into; truncated scaled size, padding that may be .5. */
function letterboxed(w0: number, h0: number, iw: number, ih: number): Placement {
  const s = Math.min(iw / w0, ih / h0);
  const padX = (iw - Math.trunc(w0 * s)) / 2;
  const padY = (ih - Math.trunc(h0 * s)) / 2;
  return { toX: (x) => (x * iw - padX) / s, toY: (y) => (y * ih - padY) / s, width: w0, height: h0, shiftX: 0, shiftY: 0 };
}

interface Expected {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
  query: number;
}

interface Selection {
  confidence?: number;
  maxDetections?: number;
  classFilter?: string[];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** §1.4 steps 1-11 on the probe's outputs for a solid colour. */
function expectedDetections(rgb: Rgb, place: Placement, selection: Selection = {}): Expected[] {
  const { confidence = 0.4, maxDetections = 300, classFilter } = selection;
  const [r, g, b] = rgb.map((v) => v / 255) as Rgb;
  const { dets, labels } = expectedRfdetrProbeOutputs(r, g, b);
  const columns = RFDETR_PROBE_CLASS_FILE.length;
  const ranked = Array.from(labels, (logit, i) => ({ i, score: sigmoid(logit) })).sort((p, q) => q.score - p.score || p.i - q.i);
  const top = ranked.length > maxDetections ? ranked.slice(0, maxDetections) : ranked;
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  const out: Expected[] = [];
  for (const { i, score } of top) {
    if (!(score > confidence)) continue;
    const query = Math.floor(i / columns);
    const column = i % columns;
    if (column === 0) continue; // the background column
    const classId = column - 1;
    if (classFilter && !classFilter.includes(CLASSES[classId]!)) continue;
    const [cx, cy, w, h] = dets.slice(4 * query, 4 * query + 4) as unknown as number[];
    const x1 = clip(place.toX(cx! - w! / 2), place.width) + place.shiftX;
    const x2 = clip(place.toX(cx! + w! / 2), place.width) + place.shiftX;
    const y1 = clip(place.toY(cy! - h! / 2), place.height) + place.shiftY;
    const y2 = clip(place.toY(cy! + h! / 2), place.height) + place.shiftY;
    out.push({ x: (x1 + x2) / 2, y: (y1 + y2) / 2, width: x2 - x1, height: y2 - y1, confidence: score, class: CLASSES[classId]!, class_id: classId, query });
  }
  return out;
}

/** Classes in order, then every box value within 1e-3 px and every confidence within 1e-5. */
function expectDetections(actual: any[], expected: Expected[]): void {
  expect(actual.map((p) => `${p.class_id} ${p.class}`)).toEqual(expected.map((e) => `${e.class_id} ${e.class}`));
  actual.forEach((p, k) => {
    const e = expected[k]!;
    for (const key of ["x", "y", "width", "height"] as const) {
      if (!(Math.abs(p[key] - e[key]) <= 1e-3)) throw new Error(`prediction ${k} (${e.class}) ${key} ${p[key]}, expected ${e[key]} ± 1e-3: ${JSON.stringify(p)}`);
    }
    expect(p.confidence).toBeCloseTo(e.confidence, 5);
    expect(p.detection_id).toMatch(/^[0-9a-f-]{36}$/);
  });
}

const cache = new VariantCache();
const PROBE = cache.add("rfdetr-probe/1", "rfdetr-probe/1");
const DYNAMIC = cache.add("rfdetr-probe-dynamic/1", "rfdetr-probe-dynamic/1");
const SEG = cache.add("rfdetr-seg-probe/1", "rfdetr-seg-probe/1");
// Static crop: x 25..75 %, y 10..60 % (a 200 × 100 image crops to x 50..150, y 10..60).
const CROP = cache.add("rfdetr-probe/1", "rfdetr-crop/1", {
  environment: (env) => ({ ...env, PREPROCESSING: { ...env.PREPROCESSING, "static-crop": { enabled: true, x_min: 25, y_min: 10, x_max: 75, y_max: 60 } } }),
});
const withResize = (resize: object) => (env: Record<string, any>) => ({ ...env, PREPROCESSING: { ...env.PREPROCESSING, resize } });
const LETTERBOX = cache.add("rfdetr-probe/1", "rfdetr-letterbox/1", { environment: withResize({ enabled: true, width: 64, height: 64, format: "Fit (black edges) in" }) });
// resize 64 × 32 on a square 64 × 64 input: the non-square flag (§1.2 step 4).
const LETTERBOX_WIDE = cache.add("rfdetr-probe/1", "rfdetr-letterbox-wide/1", {
  environment: withResize({ enabled: true, width: 64, height: 32, format: "Fit (black edges) in" }),
});
const withResolution = (resolution: unknown) => (env: Record<string, any>) => ({ ...env, RESOLUTION: resolution });
const RES_1600 = cache.add("rfdetr-probe/1", "rfdetr-res1600/1", { environment: withResolution(1600) });
const RES_1599 = cache.add("rfdetr-probe/1", "rfdetr-res1599/1", { environment: withResolution(1599) });
const RES_63 = cache.add("rfdetr-probe/1", "rfdetr-res63/1", { environment: withResolution(63) });
// No RESOLUTION: the guard reads PREPROCESSING.resize.width (the input stays the ONNX model's 64 × 64).
const WIDTH_1600 = cache.add("rfdetr-probe/1", "rfdetr-width1600/1", {
  environment: (env) => {
    const { RESOLUTION: _, ...rest } = env;
    return withResize({ enabled: true, width: 1600, height: 1600, format: "Stretch to" })(rest);
  },
});
// Weights ONNX Runtime cannot read: refused with 507 only if the guard runs before any session is created.
const RES_1600_BROKEN = cache.add("rfdetr-probe/1", "rfdetr-res1600-broken/1", { environment: withResolution(1600), write: { "weights.onnx": "not an ONNX model" } });
const SEG_RES_1600 = cache.add("rfdetr-seg-probe/1", "rfdetr-seg-res1600/1", { environment: withResolution(1600) });

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: cache.dir, PRELOAD_MODELS: [PROBE, DYNAMIC, SEG].join(","), MAX_BATCH_SIZE: "8", BATCH_MAX_WAIT_MS: "50" });
});

afterAll(async () => {
  await server?.stop();
  cache.remove();
});

async function infer(path: string, body: Record<string, unknown>): Promise<any> {
  const res = await server.post(path, body);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
  return JSON.parse(text);
}

const detect = (modelId: string, image: unknown, extra: Record<string, unknown> = {}) => infer("/infer/object_detection", { model_id: modelId, image, ...extra });
const segment = (image: unknown, extra: Record<string, unknown> = {}) => infer("/infer/instance_segmentation", { model_id: SEG, image, ...extra });

/** Mean blue 230/255: the colour query scores sigmoid(3.22) = 0.96, above every fixed query. */
const BRIGHT: Rgb = [153, 102, 230];

describe("RF-DETR detection (rfdetr-probe/1, static batch 1)", () => {
  test("answers every (query, class) score above 0.4 by score, one query giving two detections and the background query none, with unrounded boxes", async () => {
    const [w0, h0] = [333, 187];
    const body = await detect(PROBE, base64Image(await solidPng(BRIGHT, w0, h0)));
    expect(body.image).toEqual({ width: w0, height: h0 });
    const expected = expectedDetections(BRIGHT, stretched(w0, h0));
    expect(expected.map((e) => [e.class, e.query])).toEqual([
      ["red-ish", 0],
      ["green-ish", 1],
      ["red-ish", 2],
      ["blue-ish", 2],
    ]);
    expectDetections(body.predictions, expected);
    for (const p of body.predictions) expect(Object.keys(p)).toEqual(PREDICTION_KEYS);
    expect(body.predictions.map((p: any) => p.class)).not.toContain(RFDETR_PROBE_CLASS_FILE[0]);
    // The double query's two detections share one box.
    const [, , red, blue] = body.predictions;
    expect([red.x, red.y, red.width, red.height]).toEqual([blue.x, blue.y, blue.width, blue.height]);
    // Floats as they come (x 0.6 · 333 = 199.8), not rounded to pixels like YOLO boxes.
    expect(body.predictions[0].x).toBeCloseTo(199.8, 3);
    expect(body.predictions[0].confidence).toBeCloseTo(sigmoid((8 * 230) / 255 - 4), 5);
    expect(body.predictions[1].confidence).toBeCloseTo(sigmoid(2), 6);
  });

  test("leaves out the colour query when its score sigmoid(8b - 4) is 0.4 or less", async () => {
    const dim: Rgb = [200, 40, 90];
    const body = await detect(PROBE, base64Image(await solidPng(dim, 120, 90)));
    const expected = expectedDetections(dim, stretched(120, 90));
    expect(expected.map((e) => e.query)).toEqual([1, 2, 2]);
    expectDetections(body.predictions, expected);
  });

  test("keeps only scores strictly greater than the confidence threshold", async () => {
    const value = await solidPng(BRIGHT, 100, 100);
    const green = (await detect(PROBE, base64Image(value))).predictions.find((p: any) => p.class === "green-ish");
    const atScore = await detect(PROBE, base64Image(value), { confidence: green.confidence });
    expect(atScore.predictions.map((p: any) => p.class)).toEqual(["red-ish"]);
    const below = await detect(PROBE, base64Image(value), { confidence: green.confidence - 1e-6 });
    expect(below.predictions.map((p: any) => p.class)).toEqual(["red-ish", "green-ish"]);
    const high = await detect(PROBE, base64Image(value), { confidence: 0.95 });
    expectDetections(high.predictions, expectedDetections(BRIGHT, stretched(100, 100), { confidence: 0.95 }));
  });

  test("takes max_detections as a top-k over queries × classes before the threshold, the background score taking a place", async () => {
    const value = await solidPng(BRIGHT, 160, 120);
    const answers: Record<number, string[]> = {
      1: [],
      2: ["red-ish"],
      3: ["red-ish", "green-ish"],
      4: ["red-ish", "green-ish", "red-ish"],
      5: ["red-ish", "green-ish", "red-ish", "blue-ish"],
    };
    for (const [k, classes] of Object.entries(answers)) {
      const body = await detect(PROBE, base64Image(value), { max_detections: Number(k) });
      const expected = expectedDetections(BRIGHT, stretched(160, 120), { maxDetections: Number(k) });
      expect([k, expected.map((e) => e.class)]).toEqual([k, classes]);
      expectDetections(body.predictions, expected);
    }
  });

  test("ignores iou_threshold and class_agnostic_nms: overlapping queries are all reported", async () => {
    const body = await detect(PROBE, base64Image(await solidPng(BRIGHT, 64, 64)), { iou_threshold: 0, class_agnostic_nms: true });
    expectDetections(body.predictions, expectedDetections(BRIGHT, stretched(64, 64)));
  });

  test("class_filter keeps the listed classes only", async () => {
    const body = await detect(PROBE, base64Image(await solidPng(BRIGHT, 90, 160)), { class_filter: ["blue-ish", "green-ish"] });
    const expected = expectedDetections(BRIGHT, stretched(90, 160), { classFilter: ["blue-ish", "green-ish"] });
    expect(expected.map((e) => e.class)).toEqual(["green-ish", "blue-ish"]);
    expectDetections(body.predictions, expected);
  });

  test("answers a list of images one at a time through the batch-1 model, each with its own detections", async () => {
    const inputs: { rgb: Rgb; w: number; h: number }[] = [
      { rgb: BRIGHT, w: 100, h: 80 },
      { rgb: [20, 220, 250], w: 64, h: 128 },
      { rgb: [250, 10, 40], w: 77, h: 33 },
    ];
    const body = await detect(PROBE, await Promise.all(inputs.map(({ rgb, w, h }) => solidPng(rgb, w, h).then(base64Image))));
    expect(body).toHaveLength(inputs.length);
    body.forEach((response: any, i: number) => {
      const { rgb, w, h } = inputs[i]!;
      expect(response.image).toEqual({ width: w, height: h });
      expectDetections(response.predictions, expectedDetections(rgb, stretched(w, h)));
    });
    expect([...(await batchCounts(PROBE)).keys()]).toEqual([1]);
  });
});

describe("RF-DETR with a dynamic batch axis (rfdetr-probe-dynamic/1)", () => {
  test("answers a list of images, each with its own detections, running them in batches of more than one", async () => {
    const colours: Rgb[] = [BRIGHT, [20, 220, 250], [250, 10, 40], [128, 128, 128], [60, 30, 255], [255, 255, 200]];
    const sizes = colours.map((_, i) => [64 + 17 * i, 48 + 9 * i] as const);
    const body = await detect(DYNAMIC, await Promise.all(colours.map((c, i) => solidPng(c, sizes[i]![0], sizes[i]![1]).then(base64Image))));
    expect(body).toHaveLength(colours.length);
    body.forEach((response: any, i: number) => {
      const [w, h] = sizes[i]!;
      expect(response.image).toEqual({ width: w, height: h });
      expectDetections(response.predictions, expectedDetections(colours[i]!, stretched(w, h)));
    });
    const counts = await batchCounts(DYNAMIC);
    expect(Math.max(...counts.keys())).toBeGreaterThan(1);
  });
});

describe("RF-DETR preprocessing geometry", () => {
  test("places boxes in the static crop region and shifts them by its offset (the reference's bug fixed, §1.4 step 9)", async () => {
    const body = await detect(CROP, base64Image(await solidPng(BRIGHT, 200, 100)));
    // The image size reported is the uncropped one.
    expect(body.image).toEqual({ width: 200, height: 100 });
    const expected = expectedDetections(BRIGHT, stretched(100, 50, 50, 10));
    // The fixed green-ish box covers the middle half of the crop region: x 75..125, y 22.5..47.5.
    expect(expected[1]).toMatchObject({ class: "green-ish", x: 100, y: 35, width: 50, height: 25 });
    expectDetections(body.predictions, expected);
  });

  test("disable_preproc_static_crop answers as if the package had no crop", async () => {
    const body = await detect(CROP, base64Image(await solidPng(BRIGHT, 200, 100)), { disable_preproc_static_crop: true });
    expectDetections(body.predictions, expectedDetections(BRIGHT, stretched(200, 100)));
  });

  // No blue: the letterbox padding (the channel means in normalised units) cannot lift the colour query above 0.4, so only the fixed queries answer.
  const DARK: Rgb = [200, 50, 0];

  test("undoes a square letterbox: scale, truncated size and padding (§1.4 step 8)", async () => {
    const [w0, h0] = [100, 50];
    const body = await detect(LETTERBOX, base64Image(await solidPng(DARK, w0, h0)));
    const expected = expectedDetections(DARK, letterboxed(w0, h0, 64, 64));
    // Image 64 × 32 in the input, 16 rows of padding above: the fixed box covers x 25..75, y 0..50.
    expect(expected[0]).toMatchObject({ class: "green-ish", x: 50, y: 25, width: 50, height: 50 });
    expectDetections(body.predictions, expected);
  });

  test("letterboxes into PREPROCESSING.resize's 64 × 32 when it is not square and the input is (the non-square flag)", async () => {
    const [w0, h0] = [100, 100];
    const body = await detect(LETTERBOX_WIDE, base64Image(await solidPng(DARK, w0, h0)));
    const expected = expectedDetections(DARK, letterboxed(w0, h0, 64, 32));
    // Image 32 × 32 in the 64 × 32 letterbox, 16 columns of padding each side: the fixed box spans the whole width, y 25..75.
    expect(expected[0]).toMatchObject({ class: "green-ish", x: 50, y: 50, width: 100, height: 50 });
    expectDetections(body.predictions, expected);
    // A 2:1 image fills the 64 × 32 letterbox: as a stretch.
    const wide = await detect(LETTERBOX_WIDE, base64Image(await solidPng(DARK, 200, 100)));
    expectDetections(wide.predictions, expectedDetections(DARK, stretched(200, 100)));
  });
});

describe("RF-DETR RESOLUTION guard (§1.2 step 2)", () => {
  const png = () => solidPng(BRIGHT, 64, 64);

  test("answers 507 with the reference's message for a package whose RESOLUTION is 1600 (the default limit itself)", async () => {
    const res = await server.post("/infer/object_detection", { model_id: RES_1600, image: base64Image(await png()) });
    expect(res.status).toBe(507);
    expect(await res.json()).toEqual({ message: REFUSAL });
  });

  test("reads PREPROCESSING.resize.width when RESOLUTION is absent", async () => {
    const res = await server.post("/infer/object_detection", { model_id: WIDTH_1600, image: base64Image(await png()) });
    expect(res.status).toBe(507);
    expect(await res.json()).toEqual({ message: REFUSAL });
  });

  test("refuses before any session is created: unreadable weights still answer 507, not 500", async () => {
    const res = await server.post("/infer/object_detection", { model_id: RES_1600_BROKEN, image: base64Image(await png()) });
    expect(res.status).toBe(507);
    expect(await res.json()).toEqual({ message: REFUSAL });
  });

  test("guards the segmentation family too", async () => {
    const res = await server.post("/infer/instance_segmentation", { model_id: SEG_RES_1600, image: base64Image(await png()) });
    expect(res.status).toBe(507);
    expect(await res.json()).toEqual({ message: REFUSAL });
  });

  test("serves a package just under the limit (RESOLUTION does not size the input)", async () => {
    const body = await detect(RES_1599, base64Image(await png()));
    expectDetections(body.predictions, expectedDetections(BRIGHT, stretched(64, 64)));
  });

  test("RFDETR_ONNX_MAX_RESOLUTION moves the limit: 64 refuses RESOLUTION 64 and serves 63", async () => {
    const limited = await startServerProcess({ MODEL_CACHE_DIR: cache.dir, RFDETR_ONNX_MAX_RESOLUTION: "64" });
    try {
      const refused = await limited.post("/infer/object_detection", { model_id: PROBE, image: base64Image(await png()) });
      expect(refused.status).toBe(507);
      expect(await refused.json()).toEqual({ message: REFUSAL });
      const served = await limited.post("/infer/object_detection", { model_id: RES_63, image: base64Image(await png()) });
      expect(served.status).toBe(200);
      expectDetections((await served.json()).predictions, expectedDetections(BRIGHT, stretched(64, 64)));
    } finally {
      await limited.stop();
    }
  });
});

/** The mask cells of a query as image pixels: [x1, y1, x2, y2) cells times (sx, sy). */
function queryCells(query: number): [number, number, number, number] {
  const rectangle = MASK_RECTANGLES[query];
  if (!rectangle) throw new Error(`query ${query} has an empty mask`);
  return rectangle;
}

function decoded(prediction: any): Mask {
  const [height, width] = prediction.rle.size;
  return { width, height, data: decodeRle(prediction.rle) };
}

function expectSameMask(actual: Mask, expected: Mask, label: string): void {
  expect([label, actual.width, actual.height]).toEqual([label, expected.width, expected.height]);
  const differences = maskDifferences(actual, expected);
  if (differences.length > 0) throw new Error(`${label}: mask differs at (x,y:actual) ${differences.join(" ")}`);
}

describe("RF-DETR segmentation (rfdetr-seg-probe/1)", () => {
  const CELL = 64 / RFDETR_PROBE_MASK_SIZE;

  test("accurate: on a 64 × 64 image each detection carries its query's mask rectangle, traced in pixels with the corner pixels cut", async () => {
    const body = await segment(base64Image(await solidPng(BRIGHT, 64, 64)));
    const expected = expectedDetections(BRIGHT, stretched(64, 64));
    expectDetections(body.predictions, expected);
    body.predictions.forEach((p: any, k: number) => {
      expect(Object.keys(p)).toEqual([...PREDICTION_KEYS, "points", "mask_format"]);
      expect(p.mask_format).toBe("polygon");
      const [x1, y1, x2, y2] = queryCells(expected[k]!.query).map((v) => v * CELL) as [number, number, number, number];
      expect(p.points).toEqual(rectangleContour(x1, y1, x2, y2, true));
    });
    // The fixed green-ish query: mask cells 4..12 × 4..12, pixels 16..47.
    expect(body.predictions[1].points).toEqual([
      { x: 17, y: 16 },
      { x: 16, y: 17 },
      { x: 16, y: 46 },
      { x: 17, y: 47 },
      { x: 46, y: 47 },
      { x: 47, y: 46 },
      { x: 47, y: 17 },
      { x: 46, y: 16 },
    ]);
  });

  test("fast: the 16 × 16 mask is traced as it is and its vertices scaled to the image", async () => {
    for (const [w0, h0] of [
      [64, 64],
      [128, 96],
    ] as const) {
      const body = await segment(base64Image(await solidPng(BRIGHT, w0, h0)), { mask_decode_mode: "fast" });
      const expected = expectedDetections(BRIGHT, stretched(w0, h0));
      expectDetections(body.predictions, expected);
      body.predictions.forEach((p: any, k: number) => {
        const [x1, y1, x2, y2] = queryCells(expected[k]!.query);
        expect(p.points).toEqual(rectangleContour(x1, y1, x2, y2, false, w0 / RFDETR_PROBE_MASK_SIZE, h0 / RFDETR_PROBE_MASK_SIZE));
      });
    }
  });

  test("class_filter and the confidence threshold select the masked detections as for detection", async () => {
    const body = await segment(base64Image(await solidPng(BRIGHT, 64, 64)), { confidence: 0.7, class_filter: ["red-ish"] });
    const expected = expectedDetections(BRIGHT, stretched(64, 64), { confidence: 0.7, classFilter: ["red-ish"] });
    expect(expected.map((e) => e.query)).toEqual([0, 2]);
    expectDetections(body.predictions, expected);
    expect(body.predictions[1].points).toEqual(rectangleContour(8, 40, 24, 56, true));
  });

  test("response_mask_format rle (accurate) decodes to each query's mask at the original size, with no points", async () => {
    const body = await segment(base64Image(await solidPng(BRIGHT, 64, 64)), { response_mask_format: "rle" });
    const expected = expectedDetections(BRIGHT, stretched(64, 64));
    expectDetections(body.predictions, expected);
    body.predictions.forEach((p: any, k: number) => {
      expect(Object.keys(p)).toEqual([...PREDICTION_KEYS, "rle", "mask_format"]);
      expect(p.mask_format).toBe("rle");
      expect(p.rle.size).toEqual([64, 64]);
      expect(typeof p.rle.counts).toBe("string");
      const [x1, y1, x2, y2] = queryCells(expected[k]!.query).map((v) => v * CELL) as [number, number, number, number];
      expectSameMask(decoded(p), rectangleMask(64, 64, x1, y1, x2, y2, true), `prediction ${k}`);
    });
  });

  test("response_mask_format rle (fast) decodes to the mask cells scaled up to the image", async () => {
    const [w0, h0] = [128, 96];
    const body = await segment(base64Image(await solidPng(BRIGHT, w0, h0)), { response_mask_format: "rle", mask_decode_mode: "fast" });
    const expected = expectedDetections(BRIGHT, stretched(w0, h0));
    expectDetections(body.predictions, expected);
    const [sx, sy] = [w0 / RFDETR_PROBE_MASK_SIZE, h0 / RFDETR_PROBE_MASK_SIZE];
    body.predictions.forEach((p: any, k: number) => {
      expect(p.rle.size).toEqual([h0, w0]);
      const [x1, y1, x2, y2] = queryCells(expected[k]!.query);
      expectSameMask(decoded(p), rectangleMask(w0, h0, x1 * sx, y1 * sy, x2 * sx, y2 * sy), `prediction ${k}`);
    });
  });
});

/** Batch size -> batches run so far for one model, from the server's exact per-size counters. */
async function batchCounts(modelId: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m = /^inference_batches_by_size_total\{model_id="([^"]+)",size="(\d+)"\} (\d+)$/.exec(line);
    if (m && m[1] === modelId) counts.set(Number(m[2]), Number(m[3]));
  }
  return counts;
}

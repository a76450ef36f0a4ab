// Specification of POST /infer/keypoints_detection (and the legacy route) over real HTTP, real workers and real ONNX Runtime, for YOLOv8/v11- and YOLO26-layout pose models (docs/model-families.md §4).
//
// The pose probes (test/fixtures/pose-models.ts) answer a solid colour (R, G, B) with a figure centred at
// (R/255, G/255) of the input scored B/255 (keypoints head, left-hand scored B/255, right-hand), a fixed
// arrow over the middle half (0.9; tip, tail and a zero-padded third triplet) and an arrow inside it (0.8).
// YOLOv8 runs the reference's NMS (inclusive threshold; the inner arrow is suppressed) and sorts by
// score; YOLO26 keeps rows with score strictly above the threshold, in the model's order. Boxes are
// rescaled and rounded as §5.3 of the contract; keypoints are stretched, clipped and rounded half to even
// (§4.5), named from keypoints_metadata.json and stop where the class's names do (§4.6).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { POSE_PROBE_CLASSES, POSE_PROBE_INPUT as S, POSE_PROBE_METADATA, expectedPoseProbeOutput } from "../fixtures/pose-models.ts";
import { roundHalfToEven } from "../../src/python-rounding.ts";
import { base64Image, solidPng, VariantCache, type Rgb } from "./package-variants.ts";
import { rescaledBox } from "./reference-boxes.ts";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

type Family = "yolov8" | "yolo26";

const cache = new VariantCache();
const MODELS: Record<Family, string> = {
  yolov8: cache.add("pose-probe-v8/1", "pose-probe-v8/1"),
  yolo26: cache.add("pose-probe-yolo26/1", "pose-probe-yolo26/1"),
};
const NO_METADATA = cache.add("pose-probe-v8/1", "pose-no-metadata/1", { remove: ["keypoints_metadata.json"] });
const DETECTOR = cache.add("colour-probe/1", "colour-probe/1");
/** Not preloaded: the client flow loads it. */
const CLIENT_FLOW_MODEL = cache.add("pose-probe-v8/1", "pose-client/1");
const PREDICTION_KEYS = ["x", "y", "width", "height", "confidence", "class", "class_id", "detection_id", "keypoints"];
const BEST_REFUSAL = 'confidence="best" is not supported for keypoint detection — model eval does not yet produce per-class thresholds for this task. Use a float or "default".';
/** The probes' COLORS (the default palette in class order). */
const ARROW_COLOUR: Rgb = [0x00, 0xee, 0xc3];

interface ExpectedKeypoint {
  x: number;
  y: number;
  confidence: number;
  class_id: number;
  class: string;
}

interface ExpectedPose {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class: string;
  class_id: number;
  keypoints: ExpectedKeypoint[];
  anchor: number;
}

/** The four anchors for a solid colour, from the YOLO26 layout's rows (the same anchors the v8 layout carries as xywh columns). */
function anchors(rgb: Rgb) {
  const [r, g, b] = rgb.map((v) => v / 255) as Rgb;
  const rows = expectedPoseProbeOutput("yolo26", r, g, b);
  const width = rows.length / 4;
  return Array.from({ length: 4 }, (_, a) => {
    const row = Array.from(rows.subarray(a * width, (a + 1) * width));
    return { anchor: a, box: row.slice(0, 4) as [number, number, number, number], score: row[4]!, classId: row[5]!, keypoints: row.slice(6) };
  });
}

/** What each family answers for a solid colour on a w0 × h0 image (stretched to the 640 × 640 input). */
function expectedPoses(family: Family, rgb: Rgb, w0: number, h0: number, confidence = 0.4, keypointConfidence = 0): ExpectedPose[] {
  const f = Math.fround;
  let kept = anchors(rgb).filter((a) => (family === "yolov8" ? f(a.score) >= f(confidence) : f(a.score) > f(confidence)));
  if (family === "yolov8") {
    // The inner arrow lies inside the fixed one (overlap 1 > 0.3): suppressed when the fixed arrow is kept. Then by score.
    if (kept.some((a) => a.anchor === 1)) kept = kept.filter((a) => a.anchor !== 2);
    kept = kept.sort((p, q) => q.score - p.score);
  }
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  return kept.map((a) => {
    const names = POSE_PROBE_METADATA[a.classId]!.keypoints as Record<string, string>;
    const keypoints: ExpectedKeypoint[] = [];
    for (let j = 0; j < a.keypoints.length / 3 && names[String(j)] !== undefined; j++) {
      const [x, y, c] = a.keypoints.slice(3 * j, 3 * j + 3) as [number, number, number];
      if (c < keypointConfidence) continue;
      keypoints.push({ x: roundHalfToEven(clip((x * w0) / S, w0)), y: roundHalfToEven(clip((y * h0) / S, h0)), confidence: c, class_id: j, class: names[String(j)]! });
    }
    return { ...rescaledBox(...a.box, w0, h0, S), confidence: a.score, class: POSE_PROBE_CLASSES[a.classId]!, class_id: a.classId, keypoints, anchor: a.anchor };
  });
}

/** Boxes, classes and keypoint positions and names exactly; confidences within 1e-5. */
function expectPoses(actual: any[], expected: ExpectedPose[]): void {
  const shape = (p: any) => ({
    box: [p.x, p.y, p.width, p.height],
    class: `${p.class_id} ${p.class}`,
    keypoints: p.keypoints.map((k: any) => `${k.class_id} ${k.class} (${k.x}, ${k.y})`),
  });
  expect(actual.map(shape)).toEqual(expected.map(shape));
  actual.forEach((p, i) => {
    expect(Object.keys(p)).toEqual(PREDICTION_KEYS);
    expect(p.detection_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.confidence).toBeCloseTo(expected[i]!.confidence, 5);
    p.keypoints.forEach((k: any, j: number) => {
      expect(Object.keys(k)).toEqual(["x", "y", "confidence", "class_id", "class"]);
      expect(k.confidence).toBeCloseTo(expected[i]!.keypoints[j]!.confidence, 5);
    });
  });
}

/** A response without what differs between two answers to the same image (ids, timing). */
function comparable(body: any): any {
  return { image: body.image, predictions: body.predictions.map(({ detection_id: _, ...p }: any) => p) };
}

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: cache.dir, PRELOAD_MODELS: Object.values(MODELS).join(",") });
});

afterAll(async () => {
  await server?.stop();
  cache.remove();
});

async function keypoints(family: Family, image: unknown, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await server.post("/infer/keypoints_detection", { model_id: MODELS[family], image, ...extra });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** Figure at input (384, 256), i.e. (192, 96) on a 320 × 240 image, scored 0.8. */
const FIGURE: Rgb = [153, 102, 204];

describe.each(["yolov8", "yolo26"] as Family[])("POST /infer/keypoints_detection with the %s pose probe", (family) => {
  test("answers boxes and keypoints exactly, keypoints named from keypoints_metadata.json and the arrow's padded third keypoint absent", async () => {
    const [w0, h0] = [320, 240];
    const body = await keypoints(family, base64Image(await solidPng(FIGURE, w0, h0)));
    expect(body.image).toEqual({ width: w0, height: h0 });
    expect(typeof body.inference_id).toBe("string");
    expect(typeof body.time).toBe("number");
    const expected = expectedPoses(family, FIGURE, w0, h0);
    expect(expected.map((e) => e.anchor)).toEqual(family === "yolov8" ? [1, 0] : [0, 1, 2]);
    expectPoses(body.predictions, expected);
    const arrow = body.predictions.find((p: any) => p.class === "arrow");
    expect(arrow.keypoints.map((k: any) => [k.class, k.x, k.y])).toEqual([
      ["tip", 100, 120],
      ["tail", 220, 120],
    ]);
    const figure = body.predictions.find((p: any) => p.class === "figure");
    expect(figure.keypoints.map((k: any) => [k.class, k.x, k.y])).toEqual([
      ["head", 192, 81],
      ["left-hand", 162, 96],
      ["right-hand", 222, 96],
    ]);
    expect([figure.x, figure.y, figure.width, figure.height]).toEqual([192, 96, 80, 30]);
  });

  const rule =
    family === "yolov8" ? "suppresses the inner arrow by NMS and keeps a score equal to the threshold" : "keeps the inner arrow (no NMS) and drops a score equal to the threshold";
  test(rule, async () => {
    // Mean blue 102/255 = 0.4: the figure scores exactly the default threshold.
    const rgb: Rgb = [100, 150, 102];
    const body = await keypoints(family, base64Image(await solidPng(rgb, 200, 160)), { iou_threshold: 0.99 });
    const expected = expectedPoses(family, rgb, 200, 160);
    expect(expected.map((e) => e.anchor)).toEqual(family === "yolov8" ? [1, 0] : [1, 2]);
    expectPoses(body.predictions, expected);
  });

  test("keypoint_confidence leaves out keypoints scoring below it, the others keeping their indices", async () => {
    // Mean blue 242/255 = 0.949: left-hand (0.949) passes 0.92, head (0.9) and right-hand (0.2) do not; arrow tips 0.95 pass, tails do not.
    const rgb: Rgb = [153, 102, 242];
    const body = await keypoints(family, base64Image(await solidPng(rgb, 320, 240)), { keypoint_confidence: 0.92 });
    const expected = expectedPoses(family, rgb, 320, 240, 0.4, 0.92);
    expectPoses(body.predictions, expected);
    const figure = body.predictions.find((p: any) => p.class === "figure");
    expect(figure.keypoints.map((k: any) => [k.class_id, k.class])).toEqual([[1, "left-hand"]]);
    const arrow = body.predictions.find((p: any) => p.class === "arrow");
    expect(arrow.keypoints.map((k: any) => k.class)).toEqual(["tip"]);
  });

  test('answers 422 with the reference\'s message for confidence "best"', async () => {
    const res = await server.post("/infer/keypoints_detection", { model_id: MODELS[family], image: base64Image(await solidPng(FIGURE, 64, 64)), confidence: "best" });
    expect(res.status).toBe(422);
    expect((await res.json()).message).toContain(BEST_REFUSAL);
  });

  test('takes confidence "default" as 0.4', async () => {
    // Figure scores 0.431 (kept at 0.4) and 0.392 (dropped at 0.4).
    for (const rgb of [
      [153, 102, 110],
      [153, 102, 100],
    ] as Rgb[]) {
      const value = await solidPng(rgb, 160, 120);
      const byDefault = await keypoints(family, base64Image(value), { confidence: "default" });
      const explicit = await keypoints(family, base64Image(value), { confidence: 0.4 });
      expect(comparable(byDefault)).toEqual(comparable(explicit));
      expectPoses(byDefault.predictions, expectedPoses(family, rgb, 160, 120, 0.4));
    }
  });

  test("answers a list of images with a list of responses in the same order", async () => {
    const inputs: { rgb: Rgb; w: number; h: number }[] = [
      { rgb: FIGURE, w: 320, h: 240 },
      { rgb: [64, 192, 255], w: 640, h: 640 },
      { rgb: [10, 10, 10], w: 160, h: 320 },
    ];
    const body = await keypoints(family, await Promise.all(inputs.map(({ rgb, w, h }) => solidPng(rgb, w, h).then(base64Image))));
    expect(body).toHaveLength(inputs.length);
    body.forEach((response: any, i: number) => {
      const { rgb, w, h } = inputs[i]!;
      expect(response.image).toEqual({ width: w, height: h });
      expectPoses(response.predictions, expectedPoses(family, rgb, w, h));
    });
  });

  test("the legacy route POST /{dataset}/{version} answers the same JSON and reads keypoint_confidence from the query", async () => {
    const value = await solidPng(FIGURE, 320, 240);
    const legacy = await fetch(`${server.url}/${MODELS[family]}?keypoint_confidence=0.65&confidence=0.5`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: value,
    });
    expect(legacy.status).toBe(200);
    const legacyBody = await legacy.json();
    const json = await keypoints(family, base64Image(value), { keypoint_confidence: 0.65, confidence: 0.5 });
    expect(comparable(legacyBody)).toEqual(comparable(json));
    expectPoses(legacyBody.predictions, expectedPoses(family, FIGURE, 320, 240, 0.5, 0.65));
    // The arrow's tail (0.6) is below 0.65.
    expect(legacyBody.predictions.find((p: any) => p.class === "arrow").keypoints.map((k: any) => k.class)).toEqual(["tip"]);
  });
});

describe("keypoint models beyond the route's answers", () => {
  test("Roboflow's Python client flow (docs/compatibility.md §2.10, v1): registry, /model/add, registry again, then the keypoint route with the client's body", async () => {
    const listed = async () => (await (await fetch(`${server.url}/model/registry?api_key=K`)).json()).models.map((m: any) => [m.model_id, m.task_type]);
    expect(await listed()).not.toContainEqual([CLIENT_FLOW_MODEL, "keypoint-detection"]);
    expect((await server.post("/model/add", { model_id: CLIENT_FLOW_MODEL, api_key: "K" })).status).toBe(200);
    expect(await listed()).toContainEqual([CLIENT_FLOW_MODEL, "keypoint-detection"]);
    // What InferenceHTTPClient.infer sends for a keypoint model: the key, the model id, the options set, and always
    // visualize_predictions and disable_active_learning false.
    const body = {
      api_key: "K",
      model_id: CLIENT_FLOW_MODEL,
      confidence: 0.5,
      keypoint_confidence: 0.65,
      visualize_predictions: false,
      disable_active_learning: false,
      image: base64Image(await solidPng(FIGURE, 320, 240)),
    };
    const res = await server.post("/infer/keypoints_detection", body);
    expect(res.status).toBe(200);
    const answer = await res.json();
    expect(answer.image).toEqual({ width: 320, height: 240 });
    expectPoses(answer.predictions, expectedPoses("yolov8", FIGURE, 320, 240, 0.5, 0.65));
  });

  test("/model/registry lists the pose models with task_type keypoint-detection", async () => {
    const registry = await (await fetch(`${server.url}/model/registry`)).json();
    const tasks = Object.fromEntries(registry.models.map((m: any) => [m.model_id, m.task_type]));
    expect(tasks[MODELS.yolov8]).toBe("keypoint-detection");
    expect(tasks[MODELS.yolo26]).toBe("keypoint-detection");
  });

  test("visualize_predictions returns a JPEG with each returned keypoint drawn as a dot in its object's class colour", async () => {
    const [w0, h0] = [320, 240];
    // Dark grey: no figure (blue 30/255); the fixed arrow's tip at (100, 120), tail at (220, 120).
    const background: Rgb = [30, 30, 30];
    const value = await solidPng(background, w0, h0);
    const pixels = async (body: any) => {
      const { data, info } = await sharp(Buffer.from(body.visualization, "base64")).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([w0, h0]);
      return (x: number, y: number): Rgb => [0, 1, 2].map((c) => data[(y * info.width + x) * info.channels + c]!) as Rgb;
    };
    const near = (actual: Rgb, expected: Rgb) => actual.every((v, c) => Math.abs(v - expected[c]!) <= 40);

    const body = await keypoints("yolov8", base64Image(value), { visualize_predictions: true, visualization_stroke_width: 6 });
    expect((await sharp(Buffer.from(body.visualization, "base64")).metadata()).format).toBe("jpeg");
    expect(body.predictions.map((p: any) => p.class)).toEqual(["arrow"]);
    const at = await pixels(body);
    expect([at(100, 120), near(at(100, 120), ARROW_COLOUR)]).toEqual([at(100, 120), true]);
    expect([at(220, 120), near(at(220, 120), ARROW_COLOUR)]).toEqual([at(220, 120), true]);
    // Inside the box, away from its edges and the keypoints: the image as it was.
    expect([at(100, 100), near(at(100, 100), background)]).toEqual([at(100, 100), true]);

    // A keypoint the answer leaves out is not drawn.
    const filtered = await keypoints("yolov8", base64Image(value), { visualize_predictions: true, visualization_stroke_width: 6, keypoint_confidence: 0.7 });
    const atFiltered = await pixels(filtered);
    expect([atFiltered(100, 120), near(atFiltered(100, 120), ARROW_COLOUR)]).toEqual([atFiltered(100, 120), true]);
    expect([atFiltered(220, 120), near(atFiltered(220, 120), background)]).toEqual([atFiltered(220, 120), true]);
  });

  test("answers 400 naming /infer/keypoints_detection when a keypoint model is sent to /infer/object_detection, and the reverse", async () => {
    const image = base64Image(await solidPng(FIGURE, 64, 64));
    const wrong = await server.post("/infer/object_detection", { model_id: MODELS.yolov8, image });
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).message).toContain("/infer/keypoints_detection");
    const reverse = await server.post("/infer/keypoints_detection", { model_id: DETECTOR, image });
    expect(reverse.status).toBe(400);
    expect((await reverse.json()).message).toContain("/infer/object_detection");
  });

  test("answers 500 'Model package is broken.' naming keypoints_metadata.json for a keypoint package without it", async () => {
    const res = await server.post("/infer/keypoints_detection", { model_id: NO_METADATA, image: base64Image(await solidPng(FIGURE, 64, 64)) });
    expect(res.status).toBe(500);
    const { message } = await res.json();
    expect(message).toStartWith("Model package is broken.");
    expect(message).toContain("keypoints_metadata.json");
  });
});

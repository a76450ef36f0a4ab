// Specification of `response_mask_format: "rle"` (docs/model-families.md §5) over real HTTP for every segmentation family, and of YOLO26 segmentation's polygons (§3).
//
// An RLE answer carries the same instances as the polygon answer to the same request, each with
// `rle: {size: [h, w], counts}` (COCO compressed RLE over the whole original image) and
// `mask_format: "rle"` instead of `points`. The decoded mask is the instance's final binary mask at the
// original resolution, so it covers the polygon's interior: exactly on a model-sized image (the polygon
// is traced on that very mask), within a pixel of its bounds and nearly the same pixels elsewhere.
// The probes' masks are rectangles (test/fixtures/segmentation-models.ts, yolo26-seg-models.ts,
// rfdetr-models.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FILLED_BOX, PROTOTYPE_RECTANGLE, SEGMENTATION_PROBE_CLASSES, SEGMENTATION_PROBE_INPUT as S, SHAPED_BOX, type Rectangle } from "../fixtures/segmentation-models.ts";
import { INNER_BOX } from "../fixtures/yolo26-seg-models.ts";
import { decodeRle } from "../../src/vision/rle.ts";
import { maskBounds, maskDifferences, maskIou, polygonBounds, rasterisePolygon, rectangleContour, type Mask } from "./mask-shapes.ts";
import { base64Image, solidPng, type Rgb } from "./package-variants.ts";
import { rescaledBox } from "./reference-boxes.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

/** Each segmentation probe and the image size its polygons are traced at one to one (the model input; RF-DETR's masks are resized to the image). */
const MODELS = [
  { modelId: "seg-probe-v8/1", native: S },
  { modelId: "seg-probe-v5/1", native: S },
  { modelId: "yolo26-seg-probe/1", native: S },
  { modelId: "rfdetr-seg-probe/1", native: 64 },
];
const YOLO26 = "yolo26-seg-probe/1";
const RLE_KEYS = ["x", "y", "width", "height", "confidence", "class", "class_id", "detection_id", "rle", "mask_format"];
/** Every instance of every probe passes 0.4: max channel 0.9 (v8), mean 0.63 (v5), blue 0.9 (YOLO26, and RF-DETR's sigmoid(3.2)). */
const COLOUR: Rgb = [153, 102, 230];

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: MODELS.map((m) => m.modelId).join(",") });
});

afterAll(async () => {
  await server?.stop();
});

async function segment(modelId: string, image: unknown, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await server.post("/infer/instance_segmentation", { model_id: modelId, image, ...extra });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
  return JSON.parse(text);
}

function decoded(prediction: any): Mask {
  const [height, width] = prediction.rle.size;
  return { width, height, data: decodeRle(prediction.rle) };
}

/** What a polygon answer and an RLE answer share: everything but the mask and the detection id. */
const shared = ({ detection_id: _, points: __, rle: ___, mask_format: ____, ...rest }: any) => rest;

/** Checks an RLE answer against the polygon answer to the same image: same instances, and each mask over its polygon (`exact`: pixel for pixel). */
function expectRleMatchesPolygons(rle: any, polygons: any, w0: number, h0: number, exact: boolean): void {
  expect(rle.image).toEqual({ width: w0, height: h0 });
  expect(rle.predictions.map(shared)).toEqual(polygons.predictions.map(shared));
  expect(rle.predictions.length).toBeGreaterThan(0);
  rle.predictions.forEach((p: any, k: number) => {
    expect(Object.keys(p)).toEqual(RLE_KEYS);
    expect(p.mask_format).toBe("rle");
    expect(p.points).toBeUndefined();
    expect(p.rle.size).toEqual([h0, w0]);
    expect(typeof p.rle.counts).toBe("string");
    const mask = decoded(p);
    const points = polygons.predictions[k].points;
    const interior = rasterisePolygon(points, w0, h0);
    const label = `prediction ${k} (${p.class})`;
    if (exact) {
      const differences = maskDifferences(mask, interior);
      if (differences.length > 0) throw new Error(`${label}: the RLE mask differs from the polygon's pixels at (x,y:rle) ${differences.join(" ")}`);
      return;
    }
    const [m, q] = [maskBounds(mask)!, polygonBounds(points)];
    for (const side of ["left", "top", "right", "bottom"] as const) {
      if (!(Math.abs(m[side] - q[side]) <= 1)) throw new Error(`${label}: mask ${side} ${m[side]}, polygon ${q[side]} (more than 1 px apart)`);
    }
    const iou = maskIou(mask, interior);
    if (!(iou >= 0.97)) throw new Error(`${label}: the RLE mask and the polygon's pixels overlap with IoU ${iou}`);
  });
}

for (const { modelId, native } of MODELS) {
  describe(`response_mask_format rle with ${modelId}`, () => {
    test("answers the polygon answer's instances with a COCO RLE of the whole image each, and no points", async () => {
      const [w0, h0] = [320, 240];
      const image = base64Image(await solidPng(COLOUR, w0, h0));
      const polygons = await segment(modelId, image);
      const rle = await segment(modelId, image, { response_mask_format: "rle" });
      expectRleMatchesPolygons(rle, polygons, w0, h0, false);
    });

    test(`decodes to exactly the polygon's pixels on a ${native} × ${native} image, where polygons are traced one to one`, async () => {
      const image = base64Image(await solidPng(COLOUR, native, native));
      const polygons = await segment(modelId, image);
      const rle = await segment(modelId, image, { response_mask_format: "rle" });
      expectRleMatchesPolygons(rle, polygons, native, native, true);
    });

    test("response_mask_format polygon is the default answer", async () => {
      const image = base64Image(await solidPng(COLOUR, 100, 80));
      const byDefault = await segment(modelId, image);
      const polygon = await segment(modelId, image, { response_mask_format: "polygon" });
      expect(polygon.predictions.map(shared)).toEqual(byDefault.predictions.map(shared));
      expect(polygon.predictions.map((p: any) => p.points)).toEqual(byDefault.predictions.map((p: any) => p.points));
      for (const p of polygon.predictions) expect(p.mask_format).toBe("polygon");
    });

    test("the legacy route reads response_mask_format from the query and answers the same RLE", async () => {
      const [w0, h0] = [200, 150];
      const value = await solidPng(COLOUR, w0, h0);
      const legacy = await fetch(`${server.url}/${modelId}?response_mask_format=rle`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: value,
      });
      expect(legacy.status).toBe(200);
      const legacyBody = await legacy.json();
      const json = await segment(modelId, base64Image(value), { response_mask_format: "rle" });
      const withoutIds = (body: any) => body.predictions.map(({ detection_id: _, ...p }: any) => p);
      expect(withoutIds(legacyBody)).toEqual(withoutIds(json));
      expectRleMatchesPolygons(legacyBody, await segment(modelId, base64Image(value)), w0, h0, false);
    });

    test("answers 422 for an unknown response_mask_format, on the JSON route and the legacy route", async () => {
      const value = await solidPng(COLOUR, 32, 32);
      const res = await server.post("/infer/instance_segmentation", { model_id: modelId, image: base64Image(value), response_mask_format: "bitmap" });
      expect(res.status).toBe(422);
      expect((await res.json()).message).toContain("response_mask_format");
      const legacy = await fetch(`${server.url}/${modelId}?response_mask_format=bitmap`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: value,
      });
      expect(legacy.status).toBe(422);
      expect((await legacy.json()).message).toContain("response_mask_format");
    });
  });
}

describe("YOLO26 segmentation polygons (yolo26-seg-probe/1)", () => {
  /** The probe's rows for a solid colour, in the model's order, kept when the score is strictly above the threshold. */
  function expectedRows(rgb: Rgb, confidence = 0.4) {
    const b = rgb[2] / 255;
    const rows: { box: Rectangle; mask: Rectangle; chamfered: boolean; confidence: number; classId: number }[] = [
      { box: SHAPED_BOX, mask: PROTOTYPE_RECTANGLE, chamfered: true, confidence: b, classId: 0 },
      { box: FILLED_BOX, mask: FILLED_BOX, chamfered: false, confidence: 0.9, classId: 1 },
      { box: INNER_BOX, mask: INNER_BOX, chamfered: false, confidence: 0.8, classId: 1 },
    ];
    return rows.filter((row) => Math.fround(row.confidence) > Math.fround(confidence));
  }

  function expectRows(predictions: any[], rgb: Rgb, w0: number, h0: number, confidence = 0.4): void {
    const expected = expectedRows(rgb, confidence);
    expect(predictions.map((p) => ({ x: p.x, y: p.y, width: p.width, height: p.height, class: p.class, class_id: p.class_id, points: p.points }))).toEqual(
      expected.map((e) => ({
        ...rescaledBox(e.box.x1, e.box.y1, e.box.x2, e.box.y2, w0, h0, S),
        class: SEGMENTATION_PROBE_CLASSES[e.classId],
        class_id: e.classId,
        points: rectangleContour(e.mask.x1, e.mask.y1, e.mask.x2, e.mask.y2, e.chamfered, w0 / S, h0 / S),
      })),
    );
    predictions.forEach((p, i) => {
      expect(p.confidence).toBeCloseTo(expected[i]!.confidence, 5);
      expect(p.mask_format).toBe("polygon");
    });
  }

  test("keeps every row above the threshold in the model's order, the inner box included (no NMS), with its mask's polygon", async () => {
    // Blue 0.6: the shaped row scores below the two fixed ones yet comes first.
    const rgb: Rgb = [40, 200, 153];
    const body = await segment(YOLO26, base64Image(await solidPng(rgb, S, S)));
    expect(body.predictions.map((p: any) => p.confidence)).toHaveLength(3);
    expectRows(body.predictions, rgb, S, S);
    const rescaled = await segment(YOLO26, base64Image(await solidPng(rgb, 320, 240)));
    expectRows(rescaled.predictions, rgb, 320, 240);
  });

  test("ignores iou_threshold, class_agnostic_nms and max_detections", async () => {
    const rgb: Rgb = [40, 200, 153];
    const body = await segment(YOLO26, base64Image(await solidPng(rgb, 320, 240)), { iou_threshold: 0, class_agnostic_nms: true, max_detections: 1 });
    expectRows(body.predictions, rgb, 320, 240);
  });

  test("drops a row whose score equals the threshold (strict)", async () => {
    // Blue 102/255 = 0.4 exactly.
    const rgb: Rgb = [40, 200, 102];
    const body = await segment(YOLO26, base64Image(await solidPng(rgb, 320, 240)));
    expect(body.predictions.map((p: any) => p.confidence)).toHaveLength(2);
    expectRows(body.predictions, rgb, 320, 240);
  });
});

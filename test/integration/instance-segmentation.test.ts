// Specification of POST /infer/instance_segmentation over real HTTP, real workers and real ONNX Runtime, for YOLOv8- and YOLOv5-layout models.
//
// The segmentation probes (test/fixtures/segmentation-models.ts) answer every image with two
// instances whose boxes and masks are fixed rectangles in model-input pixels:
//   "shaped": SHAPED_BOX, scored by the image's mean colour (class = channel with the largest mean;
//             confidence = that mean for YOLOv8, the mean brightness (R + G + B)/765 for YOLOv5,
//             whose score is the objectness alone), mask PROTOTYPE_RECTANGLE (inside the box);
//   "filled": FILLED_BOX, class green-ish, confidence 0.9, mask = the whole box (the box crop shapes it).
// So every box and polygon can be computed here: a rectangular mask traced at a resolution of
// `res` pixels per 640 input pixels has the contour (x1, y1), (x1, y2 - k), (x2 - k, y2 - k),
// (x2 - k, y1) with k = 640 / res, stretched back to the original image. Where the prototype mask is
// resized (accurate, tradeoff > 0), its corners lose one pixel: bilinear weights multiply there
// (0.625 × 0.625 at 4x) and fall below 0.5, so the contour is an octagon with one-pixel diagonals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import {
  FILLED_BOX,
  PROTOTYPE_RECTANGLE,
  PROTOTYPE_SIZE,
  SEGMENTATION_PROBE_CLASSES,
  SEGMENTATION_PROBE_INPUT,
  SHAPED_BOX,
  type Rectangle,
  type SegmentationFamily,
} from "../fixtures/segmentation-models.ts";
import { rescaledBox } from "./reference-boxes.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const S = SEGMENTATION_PROBE_INPUT;
const MODELS: { family: SegmentationFamily; modelId: string }[] = [
  { family: "yolov8", modelId: "seg-probe-v8/1" },
  { family: "yolov5", modelId: "seg-probe-v5/1" },
];
type Rgb = [number, number, number];
type Point = { x: number; y: number };

/** The reference's stretch rescale of an input-space rectangle to a w0 × h0 image (§5.3). */
function rescaledRectangle(box: Rectangle, w0: number, h0: number) {
  return rescaledBox(box.x1, box.y1, box.x2, box.y2, w0, h0, S);
}

/** The side of the masks polygons are traced on (§5.5): 640 accurate, 160 fast, in between for tradeoff. */
function maskResolution(mode: "accurate" | "fast" | "tradeoff", tradeoffFactor = 0): number {
  if (mode === "accurate") return S;
  if (mode === "fast") return PROTOTYPE_SIZE;
  return Math.trunc(PROTOTYPE_SIZE * (1 - tradeoffFactor) + S * tradeoffFactor);
}

/** The contour of a rectangular mask traced at `resolution`, stretched to a w0 × h0 image (§5.5, §5.7). */
function expectedPolygon(mask: Rectangle, resolution: number, w0: number, h0: number): Point[] {
  const k = S / resolution;
  const [left, top, right, bottom] = [mask.x1, mask.y1, mask.x2 - k, mask.y2 - k];
  const point = (x: number, y: number) => ({ x: (x * w0) / S, y: (y * h0) / S });
  // OpenCV starts at the first foreground pixel in raster order and goes down the left side first.
  return [point(left, top), point(left, bottom), point(right, bottom), point(right, top)];
}

/** The accurate-mode contour of PROTOTYPE_RECTANGLE at 640: the rectangle with its four corner pixels cut off. */
function chamferedPolygon(mask: Rectangle, w0: number, h0: number): Point[] {
  const [left, top, right, bottom] = [mask.x1, mask.y1, mask.x2 - 1, mask.y2 - 1];
  const vertices = [
    [left + 1, top],
    [left, top + 1],
    [left, bottom - 1],
    [left + 1, bottom],
    [right - 1, bottom],
    [right, bottom - 1],
    [right, top + 1],
    [right - 1, top],
  ];
  return vertices.map(([x, y]) => ({ x: (x! * w0) / S, y: (y! * h0) / S }));
}

function bounds(points: Point[]) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
}

function expectPolygonNear(actual: Point[], expected: Point[], tolerance: number): void {
  const [a, e] = [bounds(actual), bounds(expected)];
  for (const side of ["left", "top", "right", "bottom"] as const) {
    if (Math.abs(a[side] - e[side]) > tolerance) {
      throw new Error(`polygon ${side} ${a[side]}, expected ${e[side]} ± ${tolerance}: ${JSON.stringify(actual)}`);
    }
  }
}

/** Anchor 0's confidence for a solid colour: the best class score (v8) or the objectness alone (v5). */
function shapedConfidence(family: SegmentationFamily, rgb: Rgb): number {
  return family === "yolov8" ? Math.max(...rgb) / 255 : (rgb[0] + rgb[1] + rgb[2]) / 765;
}

function shapedClassId(rgb: Rgb): number {
  return rgb.indexOf(Math.max(...rgb));
}

async function solidPng(rgb: Rgb, width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
  return png.toString("base64");
}

const image = (value: string) => ({ type: "base64", value });

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: MODELS.map((m) => m.modelId).join(",") });
});

afterAll(async () => {
  await server?.stop();
});

async function segment(body: Record<string, unknown>): Promise<any> {
  const res = await server.post("/infer/instance_segmentation", body);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text}\n${server.output()}`);
  return JSON.parse(text);
}

/** The two probe instances of a response, told apart by place: FILLED_BOX lies right of SHAPED_BOX in every image. */
function instances(predictions: any[]): { shaped: any; filled: any } {
  expect(predictions).toHaveLength(2);
  const [shaped, filled] = [...predictions].sort((p, q) => p.x - q.x);
  return { shaped, filled };
}

for (const { family, modelId } of MODELS) {
  describe(`POST /infer/instance_segmentation with a ${family}-layout model`, () => {
    test("answers a model-sized image with both instances, their boxes and their exact rectangle polygons", async () => {
      const rgb: Rgb = [255, 128, 0];
      const body = await segment({ model_id: modelId, image: image(await solidPng(rgb, S, S)) });
      expect(body.image).toEqual({ width: S, height: S });
      expect(typeof body.inference_id).toBe("string");
      expect(typeof body.time).toBe("number");
      expect(body.predictions).toHaveLength(2);
      for (const p of body.predictions) {
        expect(Object.keys(p).sort()).toEqual(["class", "class_id", "confidence", "detection_id", "height", "mask_format", "points", "width", "x", "y"]);
        expect(p.detection_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(p.mask_format).toBe("polygon");
      }
      // Sorted by confidence, highest first.
      const confidences = body.predictions.map((p: any) => p.confidence);
      expect(confidences).toEqual([...confidences].sort((a: number, b: number) => b - a));

      const { shaped, filled } = instances(body.predictions);
      expect({ x: shaped.x, y: shaped.y, width: shaped.width, height: shaped.height }).toEqual({ x: 192, y: 288, width: 256, height: 384 });
      expect(shaped.class_id).toBe(0);
      expect(shaped.class).toBe(SEGMENTATION_PROBE_CLASSES[0]);
      expect(shaped.confidence).toBeCloseTo(shapedConfidence(family, rgb), 5);
      expect(shaped.points).toEqual(chamferedPolygon(PROTOTYPE_RECTANGLE, S, S));
      expect(shaped.points).toEqual([
        { x: 97, y: 160 },
        { x: 96, y: 161 },
        { x: 96, y: 398 },
        { x: 97, y: 399 },
        { x: 254, y: 399 },
        { x: 255, y: 398 },
        { x: 255, y: 161 },
        { x: 254, y: 160 },
      ]);

      expect({ x: filled.x, y: filled.y, width: filled.width, height: filled.height }).toEqual({ x: 480, y: 192, width: 192, height: 256 });
      expect([filled.class_id, filled.class]).toEqual([1, SEGMENTATION_PROBE_CLASSES[1]]);
      expect(filled.confidence).toBeCloseTo(0.9, 5);
      expect(filled.points).toEqual(expectedPolygon(FILLED_BOX, S, S, S));
    });

    test("answers with the known polygon rescaled to the original image", async () => {
      const rgb: Rgb = [20, 60, 250];
      const [w0, h0] = [320, 240];
      const body = await segment({ model_id: modelId, image: image(await solidPng(rgb, w0, h0)) });
      expect(body.image).toEqual({ width: w0, height: h0 });
      const { shaped, filled } = instances(body.predictions);
      expect({ x: shaped.x, y: shaped.y, width: shaped.width, height: shaped.height }).toEqual(rescaledRectangle(SHAPED_BOX, w0, h0));
      expect({ x: filled.x, y: filled.y, width: filled.width, height: filled.height }).toEqual(rescaledRectangle(FILLED_BOX, w0, h0));
      expect(shaped.class_id).toBe(shapedClassId(rgb));
      expect(shaped.confidence).toBeCloseTo(shapedConfidence(family, rgb), 5);
      // Stretched back without rounding: x by 320/640, y by 240/640.
      expect(shaped.points).toEqual(chamferedPolygon(PROTOTYPE_RECTANGLE, w0, h0));
      expect(shaped.points.slice(0, 3)).toEqual([
        { x: 48.5, y: 60 },
        { x: 48, y: 60.375 },
        { x: 48, y: 149.25 },
      ]);
      expectPolygonNear(shaped.points, expectedPolygon(PROTOTYPE_RECTANGLE, S, w0, h0), 0);
      expect(filled.points).toEqual(expectedPolygon(FILLED_BOX, S, w0, h0));
      // The polygon's bounding box is the rescaled box, less the last mask pixel.
      const box = rescaledRectangle(FILLED_BOX, w0, h0);
      expectPolygonNear(
        filled.points,
        [
          { x: box.x - box.width / 2, y: box.y - box.height / 2 },
          { x: box.x + box.width / 2, y: box.y + box.height / 2 },
        ],
        1,
      );
    });

    // vertices: the shaped contour's vertex count where it is known (4 unresized, 8 with the corners
    // cut); exact: the rectangles' sides fall on mask pixel boundaries (640 / res divides 4), so the
    // polygons are exact; otherwise within one mask pixel (640 / res input pixels, under 2 px here).
    const modes: { mask_decode_mode: "accurate" | "fast" | "tradeoff"; tradeoff_factor?: number; vertices?: number; exact: boolean }[] = [
      { mask_decode_mode: "accurate", vertices: 8, exact: true },
      { mask_decode_mode: "fast", vertices: 4, exact: true },
      { mask_decode_mode: "tradeoff", tradeoff_factor: 0.5, vertices: 8, exact: true },
      { mask_decode_mode: "tradeoff", tradeoff_factor: 0.3, exact: false },
      { mask_decode_mode: "tradeoff", tradeoff_factor: 0, vertices: 4, exact: true },
      { mask_decode_mode: "tradeoff", tradeoff_factor: 1, vertices: 8, exact: true },
    ];
    for (const { vertices, exact, ...mode } of modes) {
      const label = mode.mask_decode_mode + (mode.tradeoff_factor === undefined ? "" : ` ${mode.tradeoff_factor}`);
      test(`mask_decode_mode ${label} gives the known polygons${exact ? "" : " within 2 px"}, traced at its own resolution`, async () => {
        const [w0, h0] = [320, 240];
        const body = await segment({ model_id: modelId, image: image(await solidPng([250, 60, 40], w0, h0)), ...mode });
        const { shaped, filled } = instances(body.predictions);
        const resolution = maskResolution(mode.mask_decode_mode, mode.tradeoff_factor);
        if (vertices !== undefined) expect(shaped.points).toHaveLength(vertices);
        expect(filled.points).toHaveLength(4);
        const tolerance = exact ? 1e-9 : ((S / resolution) * w0) / S;
        expect(tolerance).toBeLessThanOrEqual(2);
        expectPolygonNear(shaped.points, expectedPolygon(PROTOTYPE_RECTANGLE, resolution, w0, h0), tolerance);
        expectPolygonNear(filled.points, expectedPolygon(FILLED_BOX, resolution, w0, h0), tolerance);
        // Vertices are pixel indices of the mask they were traced on, stretched by w0 / res and h0 / res.
        const onGrid = (v: number, scale: number) => Math.abs(v / scale - Math.round(v / scale)) < 1e-6;
        for (const p of [...shaped.points, ...filled.points]) {
          expect(onGrid(p.x, w0 / resolution) && onGrid(p.y, h0 / resolution)).toBe(true);
        }
      });
    }

    test("answers 400 with the reference's message for an unknown mask_decode_mode or a tradeoff_factor outside [0, 1]", async () => {
      const png = await solidPng([255, 0, 0], 64, 64);
      const message = "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']";
      const bogus = await server.post("/infer/instance_segmentation", { model_id: modelId, image: image(png), mask_decode_mode: "bogus" });
      expect(bogus.status).toBe(400);
      expect(await bogus.json()).toEqual({ message });
      const factor = await server.post("/infer/instance_segmentation", { model_id: modelId, image: image(png), mask_decode_mode: "tradeoff", tradeoff_factor: 1.5 });
      expect(factor.status).toBe(400);
      expect(await factor.json()).toEqual({ message });
    });

    test("answers a list of images with a list of responses in the same order", async () => {
      const inputs: { rgb: Rgb; w: number; h: number }[] = [
        // Mean brightness 0.4 and above, so YOLOv5's objectness keeps anchor 0 too.
        { rgb: [255, 120, 0], w: 640, h: 640 },
        { rgb: [60, 90, 255], w: 320, h: 240 },
        { rgb: [100, 240, 100], w: 200, h: 100 },
        { rgb: [230, 60, 210], w: 100, h: 300 },
      ];
      const body = await segment({ model_id: modelId, image: await Promise.all(inputs.map(({ rgb, w, h }) => solidPng(rgb, w, h).then(image))) });
      expect(Array.isArray(body)).toBe(true);
      expect(body).toHaveLength(inputs.length);
      body.forEach((response: any, i: number) => {
        const { rgb, w, h } = inputs[i]!;
        expect(response.image).toEqual({ width: w, height: h });
        const { shaped, filled } = instances(response.predictions);
        expect(shaped.class_id).toBe(shapedClassId(rgb));
        expect(shaped.confidence).toBeCloseTo(shapedConfidence(family, rgb), 5);
        expectPolygonNear(shaped.points, expectedPolygon(PROTOTYPE_RECTANGLE, S, w, h), 2);
        expectPolygonNear(filled.points, expectedPolygon(FILLED_BOX, S, w, h), 2);
      });
    });

    test("leaves out an instance below the confidence threshold and filters by class name", async () => {
      // Dark red: v8 scores anchor 0 at 0.3, v5 at 0.1; both below the default 0.4.
      const png = await solidPng([77, 0, 0], 160, 160);
      const dim = await segment({ model_id: modelId, image: image(png) });
      expect(dim.predictions.map((p: any) => p.class)).toEqual(["green-ish"]);
      const low = await segment({ model_id: modelId, image: image(png), confidence: 0.05 });
      expect(low.predictions.map((p: any) => p.class)).toEqual(["green-ish", "red-ish"]);
      const filtered = await segment({ model_id: modelId, image: image(png), confidence: 0.05, class_filter: ["red-ish"] });
      expect(filtered.predictions.map((p: any) => p.class)).toEqual(["red-ish"]);
      expectPolygonNear(filtered.predictions[0].points, expectedPolygon(PROTOTYPE_RECTANGLE, S, 160, 160), 0);
    });

    test("answers 400 naming the right route when the segmentation model is sent to /infer/object_detection", async () => {
      const res = await server.post("/infer/object_detection", { model_id: modelId, image: image(await solidPng([255, 0, 0], 64, 64)) });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain("/infer/instance_segmentation");
    });
  });
}

// Specification of DECODE_AT_REDUCED_SIZE over real servers: large JPEGs are decoded at a DCT scale, and answers stay in the
// full image's pixels, close to those of a server that decodes in full.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { reducedDecodingAvailable } from "../../src/vision/decode.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const MODELS = "colour-probe/1,colour-probe-letterbox/1,free-yolov8n/1";

interface Prediction {
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  class_id: number;
}

interface Answer {
  image: { width: number; height: number };
  predictions: Prediction[];
}

/** A width x height JPEG: a diagonal gradient (more red than green) with a few solid rectangles, optionally EXIF-oriented. */
async function sceneJpeg(width: number, height: number, orientation?: number): Promise<string> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      const inRectangle = x % 700 > 150 && x % 700 < 400 && y % 600 > 100 && y % 600 < 300;
      data[at] = inRectangle ? 240 : 60 + Math.round((150 * x) / width);
      data[at + 1] = inRectangle ? 30 : 40 + Math.round((90 * y) / height);
      data[at + 2] = inRectangle ? 90 : 120;
    }
  }
  let encoder = sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 });
  if (orientation) encoder = encoder.withMetadata({ orientation });
  return (await encoder.toBuffer()).toString("base64");
}

/**
 * 5120x1000, grey: in every 8 columns the 4th and 5th are white, the rest black. A full-size bilinear resize by exactly 8
 * (OpenCV's INTER_LINEAR, no antialiasing) reads only those two columns and sees white; libjpeg's 1/8 scale keeps each
 * 8x8 block's mean, a quarter of white.
 */
async function aliasingStripesJpeg(): Promise<string> {
  const [width, height] = [5120, 1000];
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = x % 8 === 3 || x % 8 === 4 ? 255 : 0;
  const jpeg = await sharp(data, { raw: { width, height, channels: 1 } })
    .toColourspace("b-w")
    .jpeg({ quality: 100 })
    .toBuffer();
  return jpeg.toString("base64");
}

let full: ServerProcess;
let reduced: ServerProcess;

beforeAll(async () => {
  const env = { MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: MODELS };
  [full, reduced] = await Promise.all([startServerProcess(env), startServerProcess({ ...env, DECODE_AT_REDUCED_SIZE: "true" })]);
});

afterAll(async () => {
  await Promise.all([full?.stop(), reduced?.stop()]);
});

async function answers(modelId: string, image: string, confidence = 0.4): Promise<[Answer, Answer]> {
  const body = { model_id: modelId, image: { type: "base64", value: image }, confidence };
  return Promise.all(
    [full, reduced].map(async (server) => {
      const res = await server.post("/infer/object_detection", body);
      expect(res.status).toBe(200);
      return (await res.json()) as Answer;
    }),
  ) as Promise<[Answer, Answer]>;
}

function expectClose(actual: Prediction[], expected: Prediction[], pixels: number, confidence: number): void {
  expect(actual.map((p) => p.class_id)).toEqual(expected.map((p) => p.class_id));
  actual.forEach((p, i) => {
    const e = expected[i]!;
    for (const key of ["x", "y", "width", "height"] as const) expect(Math.abs(p[key] - e[key])).toBeLessThanOrEqual(pixels);
    expect(Math.abs(p.confidence - e.confidence)).toBeLessThanOrEqual(confidence);
  });
}

describe.skipIf(!reducedDecodingAvailable)("DECODE_AT_REDUCED_SIZE=true", () => {
  test("answers a 4032x3024 JPEG (decoded at 1/4) with the full size and the same boxes as a full decode", async () => {
    // free-yolov8n's boxes do not depend on the pixels (its scores do, a little): they show the geometry alone.
    const [expected, actual] = await answers("free-yolov8n/1", await sceneJpeg(4032, 3024));
    expect(actual.image).toEqual({ width: 4032, height: 3024 });
    expect(expected.predictions.length).toBeGreaterThan(0);
    expectClose(actual.predictions, expected.predictions, 0, 0.01);
  });

  test("applies the EXIF orientation before choosing the scale and rescaling", async () => {
    const [expected, actual] = await answers("free-yolov8n/1", await sceneJpeg(2600, 1950, 6));
    expect(actual.image).toEqual({ width: 1950, height: 2600 });
    expectClose(actual.predictions, expected.predictions, 0, 0.01);
  });

  test("places pixel-dependent boxes where a full decode does, in the full image's pixels", async () => {
    // The colour probe's box sits at (mean red x width, mean green x height) of what the model saw.
    const [expected, actual] = await answers("colour-probe/1", await sceneJpeg(2600, 1950));
    expect(actual.image).toEqual({ width: 2600, height: 1950 });
    expectClose(actual.predictions, expected.predictions, 3, 0.01);
    const [letterboxExpected, letterboxActual] = await answers("colour-probe-letterbox/1", await sceneJpeg(1920, 1080));
    expect(letterboxActual.image).toEqual({ width: 1920, height: 1080 });
    expectClose(letterboxActual.predictions, letterboxExpected.predictions, 3, 0.01);
  });

  test("the model sees the DCT-scaled pixels: block means instead of what a bilinear resize happens to sample", async () => {
    // Letterboxed to 640x125, the stripes image is decoded at 1/8. The probe's class-0 confidence is the mean blue of the
    // input, padding included (125 of 640 rows): white content gives 125/640, a quarter-white one a quarter of that.
    const [fromFull, fromReduced] = await answers("colour-probe-letterbox/1", await aliasingStripesJpeg(), 0.01);
    const classZero = (answer: Answer) => answer.predictions.find((p) => p.class_id === 0)!.confidence;
    expect(fromReduced.image).toEqual({ width: 5120, height: 1000 });
    expect(classZero(fromFull)).toBeGreaterThan(0.8 * (125 / 640));
    expect(Math.abs(classZero(fromReduced) - 0.25 * (125 / 640))).toBeLessThan(0.01);
  });
});

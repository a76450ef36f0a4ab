// Specification of the server under hostile input, over real HTTP: every bad request is answered
// with the right status and a {"message"} body within a second, and the server stays healthy.
//
// The model cache is a temporary folder: colour-probe links to the fixture, a few broken packages
// sit beside it, and a valid package sits *outside* it, where only path traversal could reach.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectError, expectNoInternals, jpegClaiming, metric, pngClaiming, postJson, solid, timedFetch, twoFrames, writeThenRead, type Answer } from "./hostile-fixtures.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const MAX_REQUEST_BYTES = 2 * 2 ** 20;
const PROBE = "colour-probe/1";
const INVALID_ID = "Invalid Model ID sent in request.";

let server: ServerProcess;
let root: string;
let png: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "hostile-input-"));
  const cache = join(root, "cache");
  mkdirSync(cache);
  symlinkSync(join(FIXTURE_CACHE, "colour-probe"), join(cache, "colour-probe"));
  // A valid package outside MODEL_CACHE_DIR: loading it would prove a traversal.
  mkdirSync(join(root, "outside"));
  symlinkSync(join(FIXTURE_CACHE, "colour-probe/1"), join(root, "outside/1"));
  const probe = join(FIXTURE_CACHE, "colour-probe/1");
  const broken = (name: string, files: Record<string, string | null>) => {
    const dir = join(cache, name, "1");
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      if (content === null) copyFileSync(join(probe, file), join(dir, file));
      else writeFileSync(join(dir, file), content);
    }
  };
  broken("broken-environment", { "weights.onnx": null, "class_names.txt": null, "environment.json": "{not json" });
  broken("no-weights", { "environment.json": null, "class_names.txt": null });
  broken("bad-weights", { "weights.onnx": "this is not an ONNX model", "environment.json": null, "class_names.txt": null });

  server = await startServerProcess({ MODEL_CACHE_DIR: cache, PRELOAD_MODELS: PROBE, MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES) });
  png = (await solid([153, 51, 217], 64, 48)).toString("base64");
});

afterAll(async () => {
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const detect = (fields: Record<string, unknown>) => postJson(server, "/infer/object_detection", { model_id: PROBE, image: { type: "base64", value: png }, ...fields });
const detectImage = (bytes: Uint8Array | string) =>
  postJson(server, "/infer/object_detection", { model_id: PROBE, image: { type: "base64", value: typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("base64") } });
const legacy = (query: string, body: string = png, contentType = "text/plain") =>
  timedFetch(`${server.url}/${PROBE}${query}`, { method: "POST", headers: { "content-type": contentType }, body });

/** A body that arrives in chunks with no Content-Length, `total` bytes of `fill` after `prefix`. */
function chunked(prefix: string, total: number, fill = "A"): ReadableStream<Uint8Array> {
  const piece = new TextEncoder().encode(fill.repeat(64 * 1024));
  let sent = 0;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(prefix));
      sent = prefix.length;
    },
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(piece.length, total - sent);
      controller.enqueue(piece.subarray(0, n));
      sent += n;
    },
  });
}

function expectOk(answer: Answer): void {
  expect({ status: answer.status, text: answer.text.slice(0, 300) }).toMatchObject({ status: 200 });
}

describe("request size (MAX_REQUEST_BYTES)", () => {
  test("answers 413 with a message for a body whose Content-Length is over the limit, on the JSON and the legacy routes", async () => {
    const big = JSON.stringify({ model_id: PROBE, image: { type: "base64", value: "A".repeat(MAX_REQUEST_BYTES) } });
    expectError(await postJson(server, "/infer/object_detection", big), 413, `Request body is too large: this server accepts at most ${MAX_REQUEST_BYTES} bytes.`);
    expectError(await legacy("", "A".repeat(MAX_REQUEST_BYTES + 1)), 413, /Request body is too large/);
    expectError(await postJson(server, "/model/add", big), 413, /Request body is too large/);
  });

  test("answers 413 for a chunked body (no Content-Length) as soon as it grows past the limit", async () => {
    const json = await timedFetch(`${server.url}/infer/object_detection`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunked(`{"model_id":"${PROBE}","image":{"type":"base64","value":"`, 3 * MAX_REQUEST_BYTES),
      duplex: "half",
    } as RequestInit);
    expectError(json, 413, /Request body is too large/);
    const raw = await timedFetch(`${server.url}/${PROBE}`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: chunked("", 3 * MAX_REQUEST_BYTES),
      duplex: "half",
    } as RequestInit);
    expectError(raw, 413, /Request body is too large/);
  });

  test("answers 413 with its message to a client that writes a whole oversized body before reading, as Python's urllib does", async () => {
    const big = "A".repeat(4 * MAX_REQUEST_BYTES);
    const declared = await writeThenRead(server.url, { method: "POST", path: "/infer/object_detection", headers: { "content-type": "application/json" }, body: big });
    expect(declared).toMatchObject({ status: 413, json: { message: `Request body is too large: this server accepts at most ${MAX_REQUEST_BYTES} bytes.` } });
    const legacyBody = await writeThenRead(server.url, { method: "POST", path: `/${PROBE}`, headers: { "content-type": "text/plain" }, body: big });
    expect(legacyBody).toMatchObject({ status: 413, json: { message: expect.stringMatching(/^Request body is too large/) } });
    const chunkedBody = await writeThenRead(server.url, {
      method: "POST",
      path: "/infer/object_detection",
      headers: { "content-type": "application/json" },
      body: big,
      chunked: true,
    });
    expect(chunkedBody).toMatchObject({ status: 413, json: { message: expect.stringMatching(/^Request body is too large/) } });
  });

  test("reads a body of exactly MAX_REQUEST_BYTES, and a small chunked one", async () => {
    const body = JSON.stringify({ model_id: PROBE, image: { type: "base64", value: png } });
    expectOk(await postJson(server, "/infer/object_detection", body + " ".repeat(MAX_REQUEST_BYTES - body.length)));
    const small = await timedFetch(`${server.url}/infer/object_detection`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([body]).stream(),
      duplex: "half",
    } as RequestInit);
    expectOk(small);
  });
});

describe("images", () => {
  test("refuses a decompression bomb (a PNG or JPEG header claiming more than MAX_IMAGE_PIXELS) with 400, without decoding it", async () => {
    expectError(
      await detectImage(pngClaiming(100_000, 100_000)),
      400,
      "Could not load input image. Cause: Image is too large (100000x100000): this server accepts at most 50000000 pixels.",
    );
    expectError(await detectImage(await jpegClaiming(60_000, 60_000)), 400, /^Could not load input image\. Cause: Image is too large \(60000x60000\)/);
    // The legacy route and visualisation decode through the same guard.
    expectError(await legacy("", pngClaiming(20_000, 20_000).toString("base64")), 400, /Image is too large/);
    const visualised = await postJson(server, "/infer/object_detection", {
      model_id: PROBE,
      visualize_predictions: true,
      image: { type: "base64", value: pngClaiming(9_000, 9_000).toString("base64") },
    });
    expectError(visualised, 400, /Image is too large/);
  });

  test("decodes only the first frame of an animated GIF or WebP and the first page of a multi-page TIFF", async () => {
    for (const format of ["gif", "webp", "tiff"] as const) {
      const answer = await detectImage(await twoFrames(format, [128, 128, 230], [128, 128, 20]));
      expectOk(answer);
      expect(answer.json.image).toEqual({ width: 40, height: 30 });
      // The probe scores its colour box by the image's blue: 230 in the first frame, 20 in the second.
      const colourBox = answer.json.predictions.find((p: any) => p.class_id === 0);
      expect(colourBox?.confidence).toBeCloseTo(230 / 255, 2);
    }
  });

  test("answers 400 for truncated JPEG and PNG files", async () => {
    const jpeg = await solid([20, 200, 120], 64, 48, "jpeg");
    const pngBytes = await solid([20, 200, 120], 64, 48, "png");
    for (const bytes of [
      jpeg.subarray(0, jpeg.length - 40),
      jpeg.subarray(0, jpeg.length >> 1),
      jpeg.subarray(0, 4),
      pngBytes.subarray(0, pngBytes.length - 20),
      pngBytes.subarray(0, 40),
      pngBytes.subarray(0, 8),
    ]) {
      expectError(await detectImage(bytes), 400, "Could not load input image. Cause: Data is not image.");
    }
  });

  test("answers 400 for a zero-byte image, in a JSON body or as an empty legacy body", async () => {
    expectError(await detectImage(""), 400, "Could not load input image. Cause: Empty image payload.");
    expectError(await detectImage("data:image/png;base64,"), 400, "Could not load input image. Cause: Empty image payload.");
    expectError(await legacy("", ""), 400, /^Could not load input image\. Cause: /);
  });

  test("answers 200 for a 1x1 image", async () => {
    for (const format of ["png", "jpeg"] as const) {
      const answer = await detectImage(await solid([200, 100, 250], 1, 1, format));
      expectOk(answer);
      expect(answer.json.image).toEqual({ width: 1, height: 1 });
    }
    expectOk(await legacy("", (await solid([200, 100, 250], 1, 1)).toString("base64")));
  });

  test("answers 400 for text, SVG and random bytes sent as an image", async () => {
    for (const bytes of ["not an image at all", '<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>', "\u0000\u0001\u0002\u0003"]) {
      expectError(await detectImage(new TextEncoder().encode(bytes)), 400, /^Could not load input image\. Cause: /);
    }
  });
});

describe("thresholds and limits", () => {
  test("answers 422 naming the field for a confidence or iou_threshold outside [0, 1]", async () => {
    for (const [field, value] of [
      ["confidence", -0.1],
      ["confidence", 1.5],
      ["confidence", 1e300],
      ["iou_threshold", -1],
      ["iou_threshold", 2],
    ] as const) {
      expectError(await detect({ [field]: value }), 422, new RegExp(field));
    }
    expectError(await detect({ confidence: 2 }), 422, `Invalid request: Property 'confidence' must be a number in [0, 1], "best" or "default" (at confidence)`);
    expectError(await detect({ iou_threshold: 2 }), 422, "Invalid request: Property 'iou_threshold' must be a number in [0, 1] (at iou_threshold)");
    for (const fields of [{ confidence: 0 }, { confidence: 1 }, { iou_threshold: 0 }, { iou_threshold: 1 }, { confidence: "best" }]) expectOk(await detect(fields));
  });

  test("answers 422 naming the field and its range for a negative, fractional, huge or non-numeric max_detections", async () => {
    for (const value of [-1, 2.5, 1e9, 1e300, "lots", null, [], {}]) {
      expectError(await detect({ max_detections: value }), 422, /max_detections/);
    }
    expectError(await detect({ max_detections: -1 }), 422, "Invalid request: Property 'max_detections' must be an integer in [0, 100000] (at max_detections)");
    // Numeric strings are read as numbers, as pydantic does.
    expectOk(await detect({ max_detections: "300" }));
    const none = await detect({ max_detections: 0, confidence: 0 });
    expectOk(none);
    expect(none.json.predictions).toEqual([]);
    expectOk(await detect({ max_detections: 100_000 }));
  });

  test("answers 422 naming the parameter for legacy thresholds and max_detections out of range", async () => {
    for (const query of [
      "?confidence=150",
      "?confidence=-1",
      "?overlap=101",
      "?overlap=-0.5",
      "?max_detections=-1",
      "?max_detections=2.5",
      "?max_detections=1e12",
      "?max_detections=lots",
    ]) {
      const name = query.slice(1, query.indexOf("="));
      expectError(await legacy(query), 422, new RegExp(`query parameter ${name}`));
    }
    expectOk(await legacy("?confidence=100&overlap=0&max_detections=0"));
  });
});

describe("model ids", () => {
  const hostileIds = [
    "../1",
    "../outside/1",
    "../../etc/1",
    "a/../1",
    "colour-probe/1/../../outside/1",
    "%2e%2e/1",
    "..%2F..%2Foutside/1",
    "colour-probe%2F..%2F..%2Foutside/1",
    "/etc/1",
    "a\\..\\outside/1",
    "C:\\Windows/1",
    "colour-probe\u0000/1",
    "colour-probe/1\u0000",
    "colour-probe/..",
    "colour-probe/-1",
    "ｃolour-probe/1",
    "",
    "/",
  ];

  test("answers 400 for ids with '..', slashes, backslashes, percent-encoded traversal or control characters", async () => {
    for (const model_id of hostileIds) {
      expectError(await postJson(server, "/infer/object_detection", { model_id, image: { type: "base64", value: png } }), 400, INVALID_ID);
      expectError(await postJson(server, "/model/add", { model_id }), 400, INVALID_ID);
    }
  });

  test("never reaches a package outside MODEL_CACHE_DIR through the legacy and /start routes, however the path is encoded", async () => {
    const paths = ["/..%2Foutside/1", "/..%2F..%2Foutside/1", "/%2E%2E%2Foutside/1", "/outside%2F..%2F..%2Foutside/1", "/..%5Coutside/1", "/%2e%2e/1", "/..%00/1"];
    for (const path of paths) {
      for (const answer of [
        await timedFetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "text/plain" }, body: png }),
        await timedFetch(`${server.url}/start${path}`),
      ]) {
        // 400 for an id that reaches the parser; 404 when URL normalisation already resolved the dots away.
        expect([400, 404]).toContain(answer.status);
        expectError(answer, answer.status);
      }
    }
    const registry = await timedFetch(`${server.url}/model/registry`);
    expect(registry.json.models.map((m: any) => m.model_id)).toEqual([PROBE]);
  });
});

describe("broken model packages", () => {
  test("answer 500 'Model package is broken.' without naming any server path", async () => {
    for (const [id, detail] of [
      ["broken-environment/1", "Cannot read environment.json."],
      ["no-weights/1", "No weights file"],
      ["bad-weights/1", ""],
    ] as const) {
      const answer = await postJson(server, "/infer/object_detection", { model_id: id, image: { type: "base64", value: png } });
      expect(answer.status).toBe(500);
      expect(answer.json.message).toStartWith("Model package is broken.");
      expect(answer.json.message).toContain(detail);
      expectNoInternals(answer.text, root, FIXTURE_CACHE);
    }
  });
});

describe("other hostile requests", () => {
  test("answers 400 for a body that is not JSON, 422 for JSON of the wrong shape, 404 for unknown routes", async () => {
    expectError(await postJson(server, "/infer/object_detection", "{not json"), 400, "Malformed request body: expected JSON.");
    for (const body of [
      "[]",
      "null",
      "42",
      '"text"',
      "{}",
      '{"model_id":1,"image":2}',
      '{"model_id":"colour-probe/1","image":[1]}',
      '{"model_id":"colour-probe/1","image":{"value":"x"}}',
    ]) {
      const answer = await postJson(server, "/infer/object_detection", body);
      expect([400, 422]).toContain(answer.status);
      expectError(answer, answer.status);
    }
    expectError(await timedFetch(`${server.url}/no/such/route/here`), 404, "Not Found");
  });

  test("answers 422 within a second for a JSON body nested 100,000 levels deep or holding a million values", async () => {
    const depth = 100_000;
    expectError(
      await postJson(server, "/infer/object_detection", '{"image":'.repeat(depth) + "1" + "}".repeat(depth)),
      422,
      "Invalid request: the JSON body nests deeper than 32 levels.",
    );
    expectError(await postJson(server, "/infer/object_detection", "[".repeat(depth) + "]".repeat(depth)), 422, /nests deeper than 32 levels/);
    const wide = JSON.stringify({ model_id: PROBE, image: Array.from({ length: 1_000_000 }, () => 0) });
    expectError(await postJson(server, "/infer/object_detection", wide), 422, "Invalid request: the JSON body holds more than 100000 values.");
    // Within the bounds, a wrong body is still reported field by field.
    const items = JSON.stringify({ model_id: PROBE, image: Array.from({ length: 40_000 }, () => ({ type: 1 })) });
    expectError(await postJson(server, "/infer/object_detection", items), 422, /image/);
  });

  test("answers a legacy request without Content-Type with 400", async () => {
    const answer = await timedFetch(`${server.url}/${PROBE}`, { method: "POST", body: new Blob([png]) });
    expectError(answer, 400, "Content-Type header not provided with request.");
  });
});

describe("afterwards", () => {
  test("the server still answers a valid request, with every arena slot free and no worker restarted", async () => {
    const answer = await detect({});
    expectOk(answer);
    expect(answer.json.predictions.length).toBeGreaterThan(0);
    expect((await timedFetch(`${server.url}/healthz`)).json).toEqual({ status: "healthy" });
    expect(await metric(server, "arena_slots_in_use", `model_id="${PROBE}"`)).toBe(0);
    expect(await metric(server, "inference_images_in_flight", `model_id="${PROBE}"`)).toBe(0);
    expect(await metric(server, "vision_worker_restarts_total")).toBe(0);
    expect(server.output()).not.toMatch(/unhandled error/);
  });
});

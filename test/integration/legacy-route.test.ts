// Specification of the hosted API's legacy route POST /{dataset}/{version}: query units, body forms, formats and errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;
let png: Buffer;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "colour-probe/1" });
  // Mean colour (64, 128, 51): class-0 score 0.2, below the default threshold and above 0.1.
  png = await sharp({ create: { width: 200, height: 100, channels: 3, background: { r: 64, g: 128, b: 51 } } })
    .png()
    .toBuffer();
});

afterAll(async () => {
  await server?.stop();
});

const url = (query = "") => `${server.url}/colour-probe/1${query}`;
const classIds = (body: any) => body.predictions.map((p: any) => p.class_id).sort();

describe("POST /{dataset}/{version}", () => {
  test("reads a raw base64 body sent as application/json, as the Python client does", async () => {
    const res = await fetch(url("?api_key=k"), { method: "POST", headers: { "content-type": "application/json" }, body: png.toString("base64") });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.image).toEqual({ width: 200, height: 100 });
    expect(classIds(body)).toEqual([1]);
  });

  test("takes confidence and overlap as percentages when they are 1 or more", async () => {
    const res = await fetch(url("?confidence=10&overlap=30"), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: png.toString("base64") });
    expect(classIds(await res.json())).toEqual([0, 1]);
    const asFraction = await fetch(url("?confidence=0.1"), { method: "POST", headers: { "content-type": "text/plain" }, body: png.toString("base64") });
    expect(classIds(await asFraction.json())).toEqual([0, 1]);
  });

  test("floors the confidence at 0.01 and treats best/default as 0.4", async () => {
    const floored = await fetch(url("?confidence=0"), { method: "POST", headers: { "content-type": "text/plain" }, body: png.toString("base64") });
    expect(classIds(await floored.json())).toEqual([0, 1]);
    const best = await fetch(url("?confidence=best"), { method: "POST", headers: { "content-type": "text/plain" }, body: png.toString("base64") });
    expect(classIds(await best.json())).toEqual([1]);
  });

  test("reads the multipart part named file", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "image.png");
    const res = await fetch(url("?confidence=0.1"), { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(classIds(await res.json())).toEqual([0, 1]);
  });

  test("returns the annotated JPEG itself for format=image and inside the JSON for format=image_and_json", async () => {
    const image = await fetch(url("?format=image&labels=true&stroke=3"), { method: "POST", headers: { "content-type": "application/json" }, body: png.toString("base64") });
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/jpeg");
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 200, 100]);
    const both = await (await fetch(url("?format=image_and_json"), { method: "POST", headers: { "content-type": "application/json" }, body: png.toString("base64") })).json();
    expect(classIds(both)).toEqual([1]);
    expect((await sharp(Buffer.from(both.visualization, "base64")).metadata()).format).toBe("jpeg");
  });

  test("answers 400 without a Content-Type header", async () => {
    const res = await fetch(url(), { method: "POST", body: new TextEncoder().encode(png.toString("base64")) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ message: "Content-Type header not provided with request." });
  });

  test("answers 400 when the body is raw image bytes instead of base64", async () => {
    const res = await fetch(url(), { method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array(png) });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toStartWith("Invalid base64 input: the image payload contains raw bytes");
  });

  test("answers 400 for a multipart body without a file part, and 404 for an unknown model", async () => {
    const form = new FormData();
    form.append("picture", new Blob([new Uint8Array(png)]), "x.png");
    const missing = await fetch(url(), { method: "POST", body: form });
    expect(missing.status).toBe(400);
    expect((await missing.json()).message).toBe("Could not load input image. Cause: Expected image to be send in part named 'file' of multipart/form-data request");
    const unknown = await fetch(`${server.url}/no-such/4`, { method: "POST", headers: { "content-type": "text/plain" }, body: "abcd" });
    expect(unknown.status).toBe(404);
  });

  test("answers 422 for a confidence that is not a number", async () => {
    const res = await fetch(url("?confidence=high"), { method: "POST", headers: { "content-type": "text/plain" }, body: png.toString("base64") });
    expect(res.status).toBe(422);
    expect((await res.json()).message).toContain("confidence");
  });

  test("leaves fixed routes to themselves: /model/registry is not a model called 'model'", async () => {
    const res = await fetch(`${server.url}/model/registry`);
    expect(res.status).toBe(200);
    expect((await res.json()).models).toBeArray();
  });
});

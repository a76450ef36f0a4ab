// Specification of model provisioning over real HTTP: a model missing from MODEL_CACHE_DIR is downloaded from the
// Roboflow API (a local fake speaking its protocol) with the request's key, cached in the reference's layout and
// served; instant models (ids without a version) come through getWeights; concurrent first requests download once;
// other models keep serving meanwhile; the API's refusals and failures come back with the reference's statuses; a
// second server with the API gone serves from the cache.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { slugDirectory } from "../../src/models/cache-layout.ts";
import { startFakeRoboflowApi, type FakeRoboflowApi } from "./fake-roboflow-api.ts";
import { FIXTURE_CACHE, NO_ROBOFLOW_API, startServerProcess, type ServerProcess } from "./server-process.ts";

const KEY = "rf-test-key-5d1c9a";
const REQUEST_TIMEOUT_MS = 4_000;
const probe = join(FIXTURE_CACHE, "colour-probe/1");

let api: FakeRoboflowApi;
let cache: string;
let server: ServerProcess;

const MESSAGES = {
  401: "Unauthorized access to roboflow API - check API key and make sure the key is valid for workspace you use. Visit https://docs.roboflow.com/api-reference/authentication#retrieve-an-api-key to learn how to retrieve one.",
  403: "Unauthorized access to roboflow API - check API key and make sure the key is valid and have required scopes. Visit https://docs.roboflow.com/api-reference/authentication#retrieve-an-api-key to learn how to retrieve one.",
  404: "Requested Roboflow resource not found. Make sure that workspace, project or model you referred in request exists.",
  502: "Internal error. Request to Roboflow API failed.",
  503: "Internal error. Could not connect to Roboflow API.",
  504: "Timeout when attempting to connect to Roboflow API.",
};

beforeAll(async () => {
  const models: Record<string, { dir: string; public?: boolean }> = {
    "Remote Probe/7": { dir: probe },
    "remote-big/1": { dir: join(FIXTURE_CACHE, "fixture-yolov8n/1") },
    "coco/3": { dir: probe, public: true },
  };
  for (const name of ["remote-probe", "crowd-probe", "bearer-probe", "legacy-probe", "start-probe", "slow-probe", "env-probe", "stalled-probe", "failing-probe"]) {
    models[`${name}/1`] = { dir: probe };
  }
  for (const name of ["instant-probe", "workspace/instant-probe", "failing-instant"]) models[name] = { dir: probe };
  api = startFakeRoboflowApi({ keys: [KEY], forbiddenKeys: ["scoped-key"], models });
  cache = mkdtempSync(join(tmpdir(), "rf-download-cache-"));
  // One model is there from the start: it must keep serving while others download.
  cpSync(probe, join(cache, "colour-probe/1"), { recursive: true });
  server = await startServerProcess({
    MODEL_CACHE_DIR: cache,
    PRELOAD_MODELS: "colour-probe/1",
    API_BASE_URL: api.url,
    API_KEY: "",
    ROBOFLOW_API_KEY: "",
    ROBOFLOW_API_REQUEST_TIMEOUT: "2",
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
});

afterAll(async () => {
  await server?.stop();
  api?.stop();
  if (cache) rmSync(cache, { recursive: true, force: true });
});

let image: string;
async function redImage(): Promise<string> {
  image ??= (
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 60, b: 150 } } })
      .png()
      .toBuffer()
  ).toString("base64");
  return image;
}

async function detect(target: ServerProcess, modelId: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return target.post("/infer/object_detection", { model_id: modelId, image: { type: "base64", value: await redImage() }, ...extra }, headers);
}

/** Predictions without their per-request ids, for comparing two answers. */
const boxes = (body: any) => body.predictions.map(({ detection_id: _, ...p }: any) => p);

const getWeightsKeys = (modelId: string) => api.requests.filter((r) => r.path === "/getWeights" && r.query.get("model") === modelId).map((r) => r.query.get("api_key"));

const ortKeys = (modelId: string) => api.requests.filter((r) => r.path === `/ort/${modelId.split("/").map(encodeURIComponent).join("/")}`).map((r) => r.query.get("api_key"));

/** The package of the colour probe as a download writes it into `cache/<modelId>`, in the reference's layout. */
function expectCachedProbePackage(modelId: string) {
  expect(readdirSync(join(cache, modelId)).sort()).toEqual(["class_names.txt", "environment.json", "model_type.json", "weights.onnx"]);
  expect(JSON.parse(readFileSync(join(cache, modelId, "model_type.json"), "utf8"))).toEqual({
    project_task_type: "object-detection",
    model_type: "yolov8n",
    model_id: modelId,
  });
  expect(JSON.parse(readFileSync(join(cache, modelId, "environment.json"), "utf8")).COLORS).toEqual(JSON.parse(readFileSync(join(probe, "environment.json"), "utf8")).COLORS);
}

async function expectError(res: Response, status: keyof typeof MESSAGES) {
  expect(res.status).toBe(status);
  expect(await res.json()).toEqual({ message: MESSAGES[status] });
}

describe("downloading a model missing from the cache", () => {
  test("fetches it with the request's key, caches it in the reference's layout and serves it like the local copy", async () => {
    const res = await detect(server, "remote-probe/1", { api_key: KEY });
    expect(res.status).toBe(200);
    const local = await (await detect(server, "colour-probe/1")).json();
    expect(boxes(await res.json())).toEqual(boxes(local));
    expectCachedProbePackage("remote-probe/1");
    expect(ortKeys("remote-probe/1")).toEqual([KEY]);
    expect([api.hits("environment", "remote-probe/1"), api.hits("weights", "remote-probe/1")]).toEqual([1, 1]);
    // Served from memory, then: no second call.
    expect((await detect(server, "remote-probe/1", { api_key: KEY })).status).toBe(200);
    expect(api.hits("ort", "remote-probe/1")).toBe(1);
  });

  test("downloads once for many concurrent first requests", async () => {
    api.weightsPacing = { delayMs: 300, chunks: 1, chunkDelayMs: 0 };
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, () => detect(server, "crowd-probe/1", { api_key: KEY })));
      expect(answers.map((r) => r.status)).toEqual(new Array(12).fill(200));
    } finally {
      api.weightsPacing = { delayMs: 0, chunks: 1, chunkDelayMs: 0 };
    }
    expect([api.hits("ort", "crowd-probe/1"), api.hits("environment", "crowd-probe/1"), api.hits("weights", "crowd-probe/1")]).toEqual([1, 1, 1]);
  });

  test("takes the key from Authorization: Bearer, the legacy and /start routes' api_key query", async () => {
    const added = await server.post("/model/add", { model_id: "bearer-probe/1" }, { authorization: `Bearer ${KEY}` });
    expect(added.status).toBe(200);
    expect((await added.json()).models.map((m: any) => m.model_id)).toContain("bearer-probe/1");
    expect(ortKeys("bearer-probe/1")).toEqual([KEY]);

    const legacy = await fetch(`${server.url}/legacy-probe/1?api_key=${KEY}`, { method: "POST", headers: { "content-type": "application/json" }, body: await redImage() });
    expect(legacy.status).toBe(200);
    expect(ortKeys("legacy-probe/1")).toEqual([KEY]);

    const started = await fetch(`${server.url}/start/start-probe/1?api_key=${KEY}`);
    expect(await started.json()).toEqual({ status: 200, message: "inference session started from local memory." });
    expect(ortKeys("start-probe/1")).toEqual([KEY]);
  });

  test("writes ids that are not portable paths into the reference's slug directory", async () => {
    const added = await server.post("/model/add", { model_id: "Remote Probe/7", api_key: KEY });
    expect(added.status).toBe(200);
    expect((await added.json()).models.map((m: any) => m.model_id)).toContain("Remote Probe/7");
    const slug = slugDirectory("Remote Probe/7");
    expect(slug).toBe("~Remote-Probe-7-" + slug.slice(-32));
    expect(existsSync(join(cache, slug, "weights.onnx"))).toBe(true);
    expect(existsSync(join(cache, "Remote Probe"))).toBe(false);
  });

  test("resolves an alias to its public model, fetched without a key, and lists it under the alias", async () => {
    const res = await detect(server, "yolov8n-640");
    expect(res.status).toBe(200);
    expect(ortKeys("coco/3")).toEqual([null]);
    expect(existsSync(join(cache, "coco/3/weights.onnx"))).toBe(true);
    const listed = (await (await fetch(`${server.url}/model/registry`)).json()).models.map((m: any) => m.model_id);
    expect(listed).toContain("yolov8n-640");
  });

  test("logs the progress of a large download", async () => {
    const added = await server.post("/model/add", { model_id: "remote-big/1", api_key: KEY });
    expect(added.status).toBe(200);
    expect(server.output()).toMatch(/downloaded remote-big\/1 weights\.onnx: 11\.\d MiB in [\d.]+ s/);
    expect(server.output()).toMatch(/cached remote-big\/1 \(object-detection, yolov8n, weights\.onnx 11\.\d MiB\)/);
  });
});

describe("instant models (ids without a version)", () => {
  test("downloads an instant model (no version) through getWeights, caches it and serves it", async () => {
    const res = await detect(server, "instant-probe", { api_key: KEY });
    expect(res.status).toBe(200);
    const local = await (await detect(server, "colour-probe/1")).json();
    expect(boxes(await res.json())).toEqual(boxes(local));
    expectCachedProbePackage("instant-probe");
    // One getWeights call and the weights; the environment came inline.
    expect(getWeightsKeys("instant-probe")).toEqual([KEY]);
    expect([api.hits("getWeights", "instant-probe"), api.hits("environment", "instant-probe"), api.hits("weights", "instant-probe")]).toEqual([1, 0, 1]);
    expect((await detect(server, "instant-probe", { api_key: KEY })).status).toBe(200);
    expect(api.hits("getWeights", "instant-probe")).toBe(1);
    const listed = (await (await fetch(`${server.url}/model/registry`)).json()).models.map((m: any) => m.model_id);
    expect(listed).toContain("instant-probe");
  });

  test("takes `dataset/name` with a version that is not an integer as one instant id, also on the legacy route", async () => {
    const legacy = await fetch(`${server.url}/workspace/instant-probe?api_key=${KEY}`, { method: "POST", headers: { "content-type": "application/json" }, body: await redImage() });
    expect(legacy.status).toBe(200);
    expect(getWeightsKeys("workspace/instant-probe")).toEqual([KEY]);
    expect(existsSync(join(cache, "workspace/instant-probe/weights.onnx"))).toBe(true);
  });

  test("getWeights refusals: a wrong key is 401, a key without the scope 403, an unknown instant model 404", async () => {
    await expectError(await detect(server, "failing-instant", { api_key: "wrong-key" }), 401);
    await expectError(await server.post("/model/add", { model_id: "failing-instant", api_key: "scoped-key" }), 403);
    await expectError(await detect(server, "no-such-instant", { api_key: KEY }), 404);
    expect(existsSync(join(cache, "failing-instant"))).toBe(false);
  });

  test("without any key an uncached instant model is 404 and the API is not asked, as for a version", async () => {
    const asked = api.requests.length;
    await expectError(await detect(server, "failing-instant"), 404);
    await expectError(await server.post("/model/add", { model_id: "failing-instant", api_key: "local" }), 404);
    expect(api.requests.length).toBe(asked);
  });

  test("a second process serves the cached instant model with no network", async () => {
    const offline = await startServerProcess({ MODEL_CACHE_DIR: cache, PRELOAD_MODELS: "", API_BASE_URL: NO_ROBOFLOW_API, API_KEY: KEY, ROBOFLOW_API_KEY: "" });
    try {
      const asked = api.requests.length;
      for (const id of ["instant-probe", "workspace/instant-probe"]) expect((await detect(offline, id)).status).toBe(200);
      expect(api.requests.length).toBe(asked);
      // What is not cached needs the API, which is not there.
      await expectError(await detect(offline, "never-cached-instant"), 503);
      expect(offline.output()).not.toContain(KEY);
    } finally {
      await offline.stop();
    }
  });
});

describe("loading does not stall other models", () => {
  test("a loaded model keeps answering while another downloads; a request waiting for the download gives up at its deadline", async () => {
    // ~5 s of download, each piece well within ROBOFLOW_API_REQUEST_TIMEOUT.
    api.weightsPacing = { delayMs: 0, chunks: 10, chunkDelayMs: 500 };
    try {
      const began = performance.now();
      const waiting = detect(server, "slow-probe/1", { api_key: KEY }).then(async (r) => ({ status: r.status, body: await r.json(), ms: performance.now() - began }));
      const adding = server.post("/model/add", { model_id: "slow-probe/1", api_key: KEY }).then((r) => ({ status: r.status, ms: performance.now() - began }));
      await Bun.sleep(300);
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        const res = await detect(server, "colour-probe/1");
        expect(res.status).toBe(200);
        latencies.push(performance.now() - t);
      }
      const answeredAllBy = performance.now() - began;
      const waited = await waiting;
      const added = await adding;
      // The other model answered all along, well before the download ended.
      expect(Math.max(...latencies)).toBeLessThan(1_000);
      expect(answeredAllBy).toBeLessThan(added.ms);
      expect(waited.status).toBe(504);
      expect(waited.body.message).toBe(`The request did not finish within REQUEST_TIMEOUT_MS (${REQUEST_TIMEOUT_MS} ms).`);
      expect(waited.ms).toBeGreaterThan(REQUEST_TIMEOUT_MS - 200);
      expect(waited.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_500);
      // The load went on for the request without a deadline: one download for both.
      expect(added.status).toBe(200);
      expect(added.ms).toBeGreaterThan(waited.ms);
      expect([api.hits("ort", "slow-probe/1"), api.hits("weights", "slow-probe/1")]).toEqual([1, 1]);
      expect((await detect(server, "slow-probe/1")).status).toBe(200);
    } finally {
      api.weightsPacing = { delayMs: 0, chunks: 1, chunkDelayMs: 0 };
    }
  });
});

describe("the Roboflow API's refusals and failures", () => {
  test("a wrong key is 401, a key without the scope 403, an unknown model 404", async () => {
    await expectError(await detect(server, "failing-probe/1", { api_key: "wrong-key" }), 401);
    await expectError(await server.post("/model/add", { model_id: "failing-probe/1", api_key: "scoped-key" }), 403);
    await expectError(await detect(server, "no-such-model/4", { api_key: KEY }), 404);
    await expectError(await fetch(`${server.url}/no-such-model/5?api_key=${KEY}`, { method: "POST", headers: { "content-type": "application/json" }, body: "aGk=" }), 404);
    expect(existsSync(join(cache, "failing-probe"))).toBe(false);
  });

  test("without any key an unknown model is 404 and the API is not asked", async () => {
    const asked = api.requests.length;
    await expectError(await detect(server, "failing-probe/1"), 404);
    await expectError(await server.post("/model/add", { model_id: "failing-probe/1", api_key: "local" }), 404);
    expect(api.requests.length).toBe(asked);
  });

  test("an API error is 502 and a stalled API 504 (ROBOFLOW_API_REQUEST_TIMEOUT)", async () => {
    api.ortStatus = 500;
    try {
      await expectError(await server.post("/model/add", { model_id: "failing-probe/1", api_key: KEY }), 502);
    } finally {
      api.ortStatus = null;
    }
    api.ortStalls = true;
    try {
      const began = performance.now();
      await expectError(await server.post("/model/add", { model_id: "stalled-probe/1", api_key: KEY }), 504);
      expect(performance.now() - began).toBeGreaterThan(1_800);
    } finally {
      api.ortStalls = false;
    }
  });

  test("API keys never reach the log", () => {
    expect(server.output()).toContain("downloading it from");
    expect(server.output()).not.toContain(KEY);
    expect(server.output()).not.toContain("wrong-key");
    expect(server.output()).not.toContain("scoped-key");
  });
});

describe("a second server on the same cache", () => {
  test("downloads with the configured API_KEY, then serves from the cache once the API is gone (503 for what is not cached)", async () => {
    const second = await startServerProcess({
      MODEL_CACHE_DIR: cache,
      PRELOAD_MODELS: "",
      API_BASE_URL: api.url,
      API_KEY: KEY,
      ROBOFLOW_API_KEY: "",
      ROBOFLOW_API_REQUEST_TIMEOUT: "2",
    });
    try {
      expect((await second.post("/model/add", { model_id: "env-probe/1" })).status).toBe(200);
      expect(ortKeys("env-probe/1")).toEqual([KEY]);
      api.stop();
      const asked = api.requests.length;
      for (const id of ["remote-probe/1", "Remote Probe/7", "yolov8n-640", "env-probe/1"]) {
        const res = await detect(second, id);
        expect(res.status).toBe(200);
      }
      expect(api.requests.length).toBe(asked);
      await expectError(await second.post("/model/add", { model_id: "never-cached/1", api_key: KEY }), 503);
      expect(second.output()).not.toContain(KEY);
    } finally {
      await second.stop();
    }
  });
});

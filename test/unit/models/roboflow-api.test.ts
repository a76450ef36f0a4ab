// Specification of model provisioning's pure parts (cache paths, aliases, the `ort` and `getWeights` URLs and answers,
// error mapping) and of the Roboflow API client against a local fake of the API (no server process: RoboflowApi on its own).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config.ts";
import { MODEL_ALIASES, requestedModel, resolveModelAlias } from "../../../src/models/aliases.ts";
import { blake2sHex } from "../../../src/models/blake2s.ts";
import { cacheSubdir, cacheSubdirCandidates, isPortableCachePath, slugDirectory } from "../../../src/models/cache-layout.ts";
import { parseModelId, type InstantModelId, type VersionedModelId } from "../../../src/models/model-id.ts";
import { findPackageDir, readModelPackage } from "../../../src/models/package.ts";
import {
  apiStatusError,
  describeGetWeights,
  describeOrt,
  getWeightsUrl,
  modelTypeOf,
  ortUrl,
  redactUrl,
  RoboflowApi,
  STAGING_DIR,
  usableKey,
  weightsFileName,
} from "../../../src/models/roboflow-api.ts";
import { FIXTURE_CACHE } from "../../integration/server-process.ts";
import { startFakeRoboflowApi, type FakeRoboflowApi } from "../../integration/fake-roboflow-api.ts";

const id = parseModelId;
const versioned = (raw: string) => parseModelId(raw) as VersionedModelId;
const instant = (raw: string) => parseModelId(raw) as InstantModelId;

describe("BLAKE2s", () => {
  test("matches Python's hashlib.blake2s, 16- and 32-byte digests, across block boundaries", () => {
    expect(blake2sHex("My Project/3", 16)).toBe("9ddd5416f2795a3634c55c5264dfe971");
    expect(blake2sHex("")).toBe("69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
    expect(blake2sHex("abc")).toBe("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    expect(blake2sHex("x".repeat(64), 16)).toBe("e1d5fb352cad2589b30d4f38821b1608");
    expect(blake2sHex("x".repeat(65), 16)).toBe("9381e91d2e26ce9e95e4783b94d3c23f");
    expect(blake2sHex("x".repeat(200), 16)).toBe("bad20b998280e4ce9d7d511b1ad55a63");
  });
});

describe("cache layout", () => {
  test("keeps portable ids as dataset/version", () => {
    for (const raw of ["coco/3", "bccd-i4nym/1", "my_data.set/12", "with space/2"]) {
      expect(isPortableCachePath(id(raw))).toBe(true);
      expect(cacheSubdir(id(raw))).toBe(raw);
      expect(cacheSubdirCandidates(id(raw))).toEqual([raw]);
    }
  });

  test("puts other ids in slug directories named like the reference's (readable prefix + BLAKE2s-128 of the id)", () => {
    // Expected names computed with the reference's algorithm in Python.
    const cases: [string, string][] = [
      ["My Project/3", "~My-Project-3-9ddd5416f2795a3634c55c5264dfe971"],
      ["Very Long Project Name With Many Words And More Words/12", "~Very-Long-Project-Name-With-Many-Words-And-More--00d0aa56979e81d4974bd8861cfdf8b0"],
      ["workflow/1", "~workflow-1-86864c72363e8d504cdd1837a153a474"],
      ["con/1", "~con-1-150abce670304408672968935d8be24c"],
    ];
    for (const [raw, dir] of cases) {
      expect(isPortableCachePath(id(raw))).toBe(false);
      expect(cacheSubdir(id(raw))).toBe(dir);
    }
    expect(slugDirectory("my__odd--name/2")).toBe("~my-odd-name-2-42b5c6020dbd831e02c9a77cc5bd7199");
    expect(slugDirectory("ünï/1")).toBe("~-n-1-0ae66095bb50f5436d16602f55b4406f");
  });

  test("refuses upper case, trailing dots or spaces, device names and reserved first segments as raw paths", () => {
    for (const raw of ["Coco/3", "name./1", "name /1", "aux/1", "lpt1.txt/1", "models-cache/1"]) expect(isPortableCachePath(id(raw))).toBe(false);
  });

  test("keeps a portable instant id as it is, and puts any other in its slug directory", () => {
    for (const raw of ["my-instant-model", "workspace/my-model", "model.v2"]) {
      expect(cacheSubdir(id(raw))).toBe(raw);
      expect(cacheSubdirCandidates(id(raw))).toEqual([raw]);
    }
    // Expected names computed with the reference's algorithm in Python.
    expect(cacheSubdir(id("My-Model"))).toBe("~My-Model-d7fa7343fb09302e0fe6607b025e10cb");
    expect(cacheSubdirCandidates(id("My-Model"))).toEqual(["~My-Model-d7fa7343fb09302e0fe6607b025e10cb", "My-Model"]);
    expect(cacheSubdir(id("workflow"))).toBe("~workflow-1ddc30252ef0ecaf114849b4ec99b18c");
    expect(cacheSubdirCandidates(id("workflow"))).toEqual(["~workflow-1ddc30252ef0ecaf114849b4ec99b18c"]);
  });

  test("still finds packages that older releases wrote under the raw path", () => {
    expect(cacheSubdirCandidates(id("My-Project/3"))).toEqual([slugDirectory("My-Project/3"), "My-Project/3"]);
    // A reserved first segment never falls back to the reference's own directories.
    expect(cacheSubdirCandidates(id("workflow/1"))).toEqual([slugDirectory("workflow/1")]);
  });
});

describe("aliases", () => {
  test("resolve as in the reference", () => {
    expect(resolveModelAlias("yolov8n-640")).toBe("coco/3");
    expect(resolveModelAlias("yolov8x-640")).toBe("coco/5");
    expect(resolveModelAlias("yolov8n-seg-640")).toBe("coco-dataset-vdnr1/2");
    expect(resolveModelAlias("yolov11n-640")).toBe("coco/25");
    expect(resolveModelAlias("yolo11n-640")).toBe("coco/25");
    expect(resolveModelAlias("coco/3")).toBe("coco/3");
    expect(resolveModelAlias("toString")).toBe("toString");
    for (const target of Object.values(MODEL_ALIASES)) expect(() => parseModelId(target)).not.toThrow();
  });

  test("a requested alias is loaded under its own name and runs the package it stands for", () => {
    expect(requestedModel("yolov8n-640")).toEqual({ key: "yolov8n-640", modelId: id("coco/3") });
    expect(requestedModel("coco/3")).toEqual({ key: "coco/3", modelId: id("coco/3") });
    expect(requestedModel("not-an-alias")).toEqual({ key: "not-an-alias", modelId: { version: null, id: "not-an-alias" } });
    expect(() => requestedModel("not/an/alias")).toThrow("Invalid Model ID sent in request.");
  });
});

describe("the ort request", () => {
  test("is the reference's URL, with the key last and omitted when absent or `local`", () => {
    expect(ortUrl("https://api.roboflow.com", versioned("bccd-i4nym/1"), "k3y", "host-1")).toBe(
      "https://api.roboflow.com/ort/bccd-i4nym/1?nocache=true&device=host-1&dynamic=true&api_key=k3y",
    );
    expect(ortUrl("https://api.roboflow.com/", versioned("coco/3"), null, "h")).toBe("https://api.roboflow.com/ort/coco/3?nocache=true&device=h&dynamic=true");
    expect(ortUrl("https://api.roboflow.com", versioned("coco/3"), "local", "h")).not.toContain("api_key");
    expect(ortUrl("http://127.0.0.1:8080/v2", versioned("My Project/3"), "a+b/c=", "h")).toBe(
      "http://127.0.0.1:8080/v2/ort/My%20Project/3?nocache=true&device=h&dynamic=true&api_key=a%2Bb%2Fc%3D",
    );
    expect(usableKey("  ")).toBeNull();
    expect(usableKey(" k ")).toBe("k");
  });

  test("logs without query strings", () => {
    expect(redactUrl("https://api.roboflow.com/ort/a/1?api_key=secret&x=1")).toBe("https://api.roboflow.com/ort/a/1");
    expect(redactUrl("https://storage.googleapis.com/b/w.onnx?X-Goog-Signature=abc")).toBe("https://storage.googleapis.com/b/w.onnx");
  });

  test("names the weights file by family and defaults the model type per task", () => {
    expect(weightsFileName("object-detection", "yolov8n")).toBe("weights.onnx");
    expect(weightsFileName("object-detection", "yolov5v2s")).toBe("yolov5s_weights.onnx");
    expect(weightsFileName("instance-segmentation", "yolov5s-seg")).toBe("yolov5s_weights.onnx");
    expect(weightsFileName("instance-segmentation", "yolov8n-seg")).toBe("weights.onnx");
    expect(weightsFileName("classification", "vit")).toBe("best.onnx");
    expect(weightsFileName("classification", "resnet50")).toBe("best.onnx");
    expect(weightsFileName("classification", "yolov8n")).toBe("weights.onnx");
    expect(modelTypeOf("classification", "ort")).toEqual({ taskType: "classification", modelType: "vit" });
    expect(modelTypeOf(undefined, undefined)).toEqual({ taskType: "object-detection", modelType: "yolov5v2s" });
    expect(modelTypeOf("instance-segmentation", "yolov8s-seg")).toEqual({ taskType: "instance-segmentation", modelType: "yolov8s-seg" });
  });

  test("reads an `ort` answer, refusing one without the keys the reference requires", () => {
    const ort = { type: "classification", modelType: "resnet50", model: "https://s/w.onnx", environment: "https://s/env.json", classes: ["a", "b"], colors: { a: "#FF0000" } };
    expect(describeOrt({ ort })).toEqual({
      taskType: "classification",
      modelType: "resnet50",
      weightsUrl: "https://s/w.onnx",
      environment: "https://s/env.json",
      classes: ["a", "b"],
      colors: { a: "#FF0000" },
    });
    expect(() => describeOrt({})).toThrow("Model package is broken. Could not find `ort` key");
    expect(() => describeOrt({ ort: { ...ort, model: undefined } })).toThrow("Could not find `model` key");
    expect(() => describeOrt({ ort: { ...ort, environment: undefined } })).toThrow("Could not find `environment` key");
  });
});

describe("the getWeights request (instant models)", () => {
  test("is the reference's URL: the whole id as `model`, the key last and omitted when absent or `local`", () => {
    expect(getWeightsUrl("https://api.roboflow.com/", instant("my-instant-model"), "k3y")).toBe("https://api.roboflow.com/getWeights?model=my-instant-model&api_key=k3y");
    expect(getWeightsUrl("https://api.roboflow.com", instant("workspace/My Model"), null)).toBe("https://api.roboflow.com/getWeights?model=workspace%2FMy+Model");
    expect(getWeightsUrl("https://api.roboflow.com", instant("m"), "local")).toBe("https://api.roboflow.com/getWeights?model=m");
  });

  test("reads the answer: task from `taskType`, weights from `modelFiles.ort.model`, the environment inline", () => {
    const environment = { PREPROCESSING: { resize: { enabled: true, format: "Stretch to", width: 64, height: 64 } } };
    const answer = { taskType: "instance-segmentation", modelType: "yolov8n-seg", modelFiles: { ort: { model: "https://s/w.onnx" } }, environment, classes: ["x"], colors: { x: "#00FF00" } };
    expect(describeGetWeights(answer)).toEqual({
      taskType: "instance-segmentation",
      modelType: "yolov8n-seg",
      weightsUrl: "https://s/w.onnx",
      environment,
      classes: ["x"],
      colors: { x: "#00FF00" },
    });
    // The reference's defaults when the API names no task or model type.
    expect(describeGetWeights({ modelFiles: { ort: { model: "u" } }, environment: {} })).toMatchObject({ taskType: "object-detection", modelType: "yolov5v2s" });
    for (const broken of [{ environment }, { modelFiles: {}, environment }, { modelFiles: { ort: {} }, environment }]) {
      expect(() => describeGetWeights(broken)).toThrow("Model package is broken. Could not find `modelFiles` key or `modelFiles`.`ort` or `modelFiles`.`ort`.`model` key");
    }
    expect(() => describeGetWeights({ modelFiles: { ort: { model: "u" } } })).toThrow("Could not find `environment` key");
    expect(() => describeGetWeights({ modelFiles: { ort: { model: "u" } }, environment: "https://s/env.json" })).toThrow("Could not find `environment` key");
  });
});

describe("the API's errors", () => {
  test("maps the API's answers to the reference's statuses and messages", () => {
    expect(apiStatusError(401).status).toBe(401);
    expect(apiStatusError(401).message).toStartWith("Unauthorized access to roboflow API - check API key and make sure the key is valid for workspace you use.");
    expect(apiStatusError(403).message).toStartWith("Unauthorized access to roboflow API - check API key and make sure the key is valid and have required scopes.");
    expect(apiStatusError(404).message).toBe("Requested Roboflow resource not found. Make sure that workspace, project or model you referred in request exists.");
    expect([apiStatusError(402).status, apiStatusError(423).status, apiStatusError(500).status, apiStatusError(302).status]).toEqual([402, 423, 502, 502]);
    expect(apiStatusError(500).message).toBe("Internal error. Request to Roboflow API failed.");
  });
});

describe("settings", () => {
  test("API_BASE_URL defaults to the public API and loses its trailing slash; ROBOFLOW_API_KEY wins over API_KEY", () => {
    const defaults = loadConfig({}).roboflow;
    expect(defaults.apiBaseUrl).toBe("https://api.roboflow.com");
    expect(defaults.roboflowApiKey).toBe("");
    expect(defaults.roboflowApiTimeoutMs).toBe(120_000);
    const set = loadConfig({ API_BASE_URL: "http://127.0.0.1:9/api/", API_KEY: "a", ROBOFLOW_API_KEY: "r", ROBOFLOW_API_REQUEST_TIMEOUT: "5" }).roboflow;
    expect([set.apiBaseUrl, set.roboflowApiKey, set.roboflowApiTimeoutMs]).toEqual(["http://127.0.0.1:9/api", "r", 5000]);
    expect(loadConfig({ API_KEY: "a" }).roboflow.roboflowApiKey).toBe("a");
    expect(() => loadConfig({ API_BASE_URL: "ftp://x" })).toThrow("API_BASE_URL");
    expect(() => loadConfig({ API_BASE_URL: "https://x/?api_key=1" })).toThrow("API_BASE_URL");
    expect(() => loadConfig({ ROBOFLOW_API_REQUEST_TIMEOUT: "0" })).toThrow("ROBOFLOW_API_REQUEST_TIMEOUT");
  });
});

describe("RoboflowApi against a fake API", () => {
  const KEY = "unit-key-7f3a";
  let api: FakeRoboflowApi;
  let cache: string;
  const logs: string[] = [];
  const log = { log: (...a: unknown[]) => void logs.push(a.join(" ")), error: (...a: unknown[]) => void logs.push(a.join(" ")) };
  const client = (timeoutMs = 5_000, fallbackKey = "") =>
    new RoboflowApi({ apiBaseUrl: api.url, roboflowApiKey: fallbackKey, roboflowApiTimeoutMs: timeoutMs, modelCacheDir: cache }, log);

  beforeAll(() => {
    api = startFakeRoboflowApi({
      keys: [KEY, "other-key"],
      forbiddenKeys: ["scoped-key"],
      models: {
        "remote-probe/1": { dir: join(FIXTURE_CACHE, "colour-probe/1") },
        "Remote Probe/7": { dir: join(FIXTURE_CACHE, "colour-probe/1") },
        "remote-cls/2": { dir: join(FIXTURE_CACHE, "cls-probe/1"), modelType: "ort" },
        "remote-v5/3": { dir: join(FIXTURE_CACHE, "seg-probe-v5/1") },
        "coco/3": { dir: join(FIXTURE_CACHE, "colour-probe/1"), public: true },
        "remote-instant": { dir: join(FIXTURE_CACHE, "colour-probe/1") },
        "Remote Instant": { dir: join(FIXTURE_CACHE, "colour-probe/1") },
        "workspace/instant-cls": { dir: join(FIXTURE_CACHE, "cls-probe/1"), modelType: "ort" },
        coco: { dir: join(FIXTURE_CACHE, "cls-probe/1") },
      },
    });
  });
  afterAll(() => api.stop());
  afterEach(() => {
    rmSync(cache, { recursive: true, force: true });
    api.weightsPacing = { delayMs: 0, chunks: 1, chunkDelayMs: 0 };
    api.ortStalls = false;
    api.ortStatus = null;
    logs.length = 0;
  });
  const freshCache = () => (cache = mkdtempSync(join(tmpdir(), "rf-cache-")));

  test("writes the reference's layout: class_names.txt, environment.json with COLORS, model_type.json, weights", async () => {
    freshCache();
    await client().ensureCached(id("remote-probe/1"), KEY);
    const dir = join(cache, "remote-probe/1");
    expect(readdirSync(dir).sort()).toEqual(["class_names.txt", "environment.json", "model_type.json", "weights.onnx"]);
    expect(readFileSync(join(dir, "class_names.txt"), "utf8").split("\n")).toEqual(["red-ish", "green-ish", "blue-ish"]);
    expect(JSON.parse(readFileSync(join(dir, "model_type.json"), "utf8"))).toEqual({ project_task_type: "object-detection", model_type: "yolov8n", model_id: "remote-probe/1" });
    const original = join(FIXTURE_CACHE, "colour-probe/1");
    expect(JSON.parse(readFileSync(join(dir, "environment.json"), "utf8"))).toEqual(JSON.parse(readFileSync(join(original, "environment.json"), "utf8")));
    expect(Buffer.compare(readFileSync(join(dir, "weights.onnx")), readFileSync(join(original, "weights.onnx")))).toBe(0);
    // Nothing is left behind in the staging area.
    expect(readdirSync(join(cache, ".downloads"))).toEqual([]);
    const pkg = await readModelPackage(cache, id("remote-probe/1"));
    expect(pkg.classNames).toEqual(["red-ish", "green-ish", "blue-ish"]);
    // The ort call carried the reference's query and headers.
    const call = api.requests.find((r) => r.path === "/ort/remote-probe/1")!;
    expect([...call.query.keys()]).toEqual(["nocache", "device", "dynamic", "api_key"]);
    expect(call.query.get("api_key")).toBe(KEY);
    expect(call.headers.get("x-roboflow-inference-version")).toBe("1.5.0");
    expect(call.headers.get("x-allow-chunked")).toBe("true");
    expect(logs.join("\n")).not.toContain(KEY);
  });

  test("uses the family's weights file name and the reference's model type defaults", async () => {
    freshCache();
    await client().ensureCached(id("remote-cls/2"), KEY);
    expect(existsSync(join(cache, "remote-cls/2/best.onnx"))).toBe(true);
    expect(JSON.parse(readFileSync(join(cache, "remote-cls/2/model_type.json"), "utf8")).model_type).toBe("vit");
    await client().ensureCached(id("remote-v5/3"), KEY);
    expect(existsSync(join(cache, "remote-v5/3/yolov5s_weights.onnx"))).toBe(true);
  });

  test("writes ids that are not portable paths into their slug directory", async () => {
    freshCache();
    await client().ensureCached(id("Remote Probe/7"), KEY);
    expect(readdirSync(cache).filter((n) => n !== ".downloads")).toEqual([slugDirectory("Remote Probe/7")]);
    expect(findPackageDir(cache, id("Remote Probe/7"))).toBe(join(cache, slugDirectory("Remote Probe/7")));
    expect((await readModelPackage(cache, id("Remote Probe/7"))).classNames.length).toBe(3);
  });

  test("downloads once for concurrent callers and never again once cached", async () => {
    freshCache();
    api.weightsPacing = { delayMs: 150, chunks: 1, chunkDelayMs: 0 };
    const before = api.hits("ort", "remote-probe/1");
    const rf = client();
    await Promise.all(Array.from({ length: 8 }, () => rf.ensureCached(id("remote-probe/1"), KEY)));
    await rf.ensureCached(id("remote-probe/1"), KEY);
    await client().ensureCached(id("remote-probe/1"), "any-key-at-all");
    expect(api.hits("ort", "remote-probe/1") - before).toBe(1);
  });

  test("does not ask the API without a key, except for public models, which go without one", async () => {
    freshCache();
    const before = api.requests.length;
    await client().ensureCached(id("remote-probe/1"), null);
    await client().ensureCached(id("remote-probe/1"), "local");
    expect(api.requests.length).toBe(before);
    expect(existsSync(join(cache, "remote-probe"))).toBe(false);
    await client().ensureCached(id("coco/3"), null);
    expect(api.requests.filter((r) => r.path === "/ort/coco/3").at(-1)!.query.has("api_key")).toBe(false);
    expect(existsSync(join(cache, "coco/3/weights.onnx"))).toBe(true);
  });

  test("falls back to the configured key", async () => {
    freshCache();
    await client(5_000, KEY).ensureCached(id("remote-probe/1"), null);
    expect(api.requests.filter((r) => r.path === "/ort/remote-probe/1").at(-1)!.query.get("api_key")).toBe(KEY);
  });

  test("answers refusals with the reference's statuses and leaves nothing in the cache", async () => {
    freshCache();
    const failure = (key: string, model = "remote-probe/1") => client().ensureCached(id(model), key).then(() => null, (e) => e);
    expect((await failure("wrong-key")).status).toBe(401);
    expect((await failure("scoped-key")).status).toBe(403);
    expect((await failure(KEY, "missing-model/1")).status).toBe(404);
    api.ortStatus = 500;
    expect((await failure(KEY)).status).toBe(502);
    api.ortStatus = 423;
    expect((await failure(KEY)).status).toBe(423);
    expect(readdirSync(cache).filter((n) => n !== ".downloads")).toEqual([]);
    expect(logs.join("\n")).not.toContain("wrong-key");
  });

  test("a caller whose key differs retries after a shared download failed for the other key", async () => {
    freshCache();
    api.weightsPacing = { delayMs: 100, chunks: 1, chunkDelayMs: 0 };
    const rf = client();
    const [bad, good] = await Promise.allSettled([rf.ensureCached(id("remote-probe/1"), "wrong-key"), rf.ensureCached(id("remote-probe/1"), KEY)]);
    expect(bad.status).toBe("rejected");
    expect(good.status).toBe("fulfilled");
    expect(existsSync(join(cache, "remote-probe/1/weights.onnx"))).toBe(true);
  });

  test("times out a stalled API (504), a stalled download (504), and an unreachable one (503)", async () => {
    freshCache();
    api.ortStalls = true;
    const stalled = await client(300).ensureCached(id("remote-probe/1"), KEY).then(() => null, (e) => e);
    expect([stalled.status, stalled.message]).toEqual([504, "Timeout when attempting to connect to Roboflow API."]);
    api.ortStalls = false;
    api.weightsPacing = { delayMs: 1_000, chunks: 1, chunkDelayMs: 0 };
    expect((await client(300).ensureCached(id("remote-probe/1"), KEY).then(() => null, (e) => e)).status).toBe(504);
    // A slow download that keeps receiving bytes is not a stalled one.
    api.weightsPacing = { delayMs: 0, chunks: 6, chunkDelayMs: 150 };
    await client(300).ensureCached(id("remote-probe/1"), KEY);
    expect(existsSync(join(cache, "remote-probe/1/weights.onnx"))).toBe(true);
    const unreachable = new RoboflowApi({ apiBaseUrl: "http://127.0.0.1:9", roboflowApiKey: "", roboflowApiTimeoutMs: 2_000, modelCacheDir: cache }, log);
    const refused = await unreachable.ensureCached(id("other/1"), KEY).then(() => null, (e) => e);
    expect([refused.status, refused.message]).toEqual([503, "Internal error. Could not connect to Roboflow API."]);
    expect(logs.join("\n")).not.toContain(KEY);
  });

  test("replaces an incomplete package but keeps a complete one", async () => {
    freshCache();
    mkdirSync(join(cache, "remote-probe/1"), { recursive: true });
    writeFileSync(join(cache, "remote-probe/1/class_names.txt"), "stale\n");
    await client().ensureCached(id("remote-probe/1"), KEY);
    expect(readFileSync(join(cache, "remote-probe/1/class_names.txt"), "utf8")).toStartWith("red-ish");
    const hits = api.hits("ort", "remote-probe/1");
    await client().ensureCached(id("remote-probe/1"), KEY);
    expect(api.hits("ort", "remote-probe/1")).toBe(hits);
  });

  test("downloads an instant model (no version) through getWeights alone, in the reference's layout", async () => {
    freshCache();
    const calls = api.requests.length;
    await client().ensureCached(id("remote-instant"), KEY);
    const dir = join(cache, "remote-instant");
    expect(readdirSync(dir).sort()).toEqual(["class_names.txt", "environment.json", "model_type.json", "weights.onnx"]);
    expect(JSON.parse(readFileSync(join(dir, "model_type.json"), "utf8"))).toEqual({ project_task_type: "object-detection", model_type: "yolov8n", model_id: "remote-instant" });
    // The inline environment, with the answer's colors put back as COLORS.
    const original = join(FIXTURE_CACHE, "colour-probe/1");
    expect(JSON.parse(readFileSync(join(dir, "environment.json"), "utf8"))).toEqual(JSON.parse(readFileSync(join(original, "environment.json"), "utf8")));
    expect(Buffer.compare(readFileSync(join(dir, "weights.onnx")), readFileSync(join(original, "weights.onnx")))).toBe(0);
    expect(readdirSync(join(cache, STAGING_DIR))).toEqual([]);
    expect((await readModelPackage(cache, id("remote-instant"))).classNames).toEqual(["red-ish", "green-ish", "blue-ish"]);
    // One description call, then the signed weights URL; no `ort` call and no environment URL.
    expect(api.requests.slice(calls).map((r) => r.path)).toEqual(["/getWeights", `/signed/weights/${Buffer.from("remote-instant").toString("base64url")}`]);
    const call = api.requests[calls]!;
    expect([...call.query.entries()]).toEqual([
      ["model", "remote-instant"],
      ["api_key", KEY],
    ]);
    expect(call.headers.get("x-roboflow-inference-version")).toBe("1.5.0");
    expect(logs.join("\n")).not.toContain(KEY);
  });

  test("names an instant model's weights by family and writes a non-portable id into its slug directory", async () => {
    freshCache();
    await client().ensureCached(id("workspace/instant-cls"), KEY);
    expect(existsSync(join(cache, "workspace/instant-cls/best.onnx"))).toBe(true);
    expect(JSON.parse(readFileSync(join(cache, "workspace/instant-cls/model_type.json"), "utf8"))).toMatchObject({ project_task_type: "classification", model_type: "vit" });
    await client().ensureCached(id("Remote Instant"), KEY);
    expect(existsSync(join(cache, slugDirectory("Remote Instant"), "weights.onnx"))).toBe(true);
    expect(existsSync(join(cache, "Remote Instant"))).toBe(false);
  });

  test("installs an instant model into a directory that also holds versions of the same name, leaving them be", async () => {
    freshCache();
    await client().ensureCached(id("coco/3"), null);
    // Versions alone do not make the instant model's package.
    expect(findPackageDir(cache, id("coco"))).toBeNull();
    expect(await readModelPackage(cache, id("coco")).then(() => null, (e) => e.status)).toBe(404);
    await client().ensureCached(id("coco"), KEY);
    expect(readdirSync(join(cache, "coco")).sort()).toEqual(["3", "best.onnx", "environment.json", "model_type.json"]);
    expect((await readModelPackage(cache, id("coco"))).taskType).toBe("classification");
    expect((await readModelPackage(cache, id("coco/3"))).taskType).toBe("object-detection");
  });

  test("answers getWeights refusals with the reference's statuses, and asks nothing without a key", async () => {
    freshCache();
    const failure = (key: string, model = "remote-instant") => client().ensureCached(id(model), key).then(() => null, (e) => e);
    expect((await failure("wrong-key")).status).toBe(401);
    expect((await failure("scoped-key")).status).toBe(403);
    expect((await failure(KEY, "missing-instant")).status).toBe(404);
    api.ortStatus = 500;
    expect((await failure(KEY)).status).toBe(502);
    api.ortStatus = null;
    const asked = api.requests.length;
    await client().ensureCached(id("remote-instant"), "local");
    expect(api.requests.length).toBe(asked);
    expect(readdirSync(cache).filter((n) => n !== STAGING_DIR)).toEqual([]);
  });

  test("removes staging directories an earlier process left unfinished, but neither recent ones nor its own in use", async () => {
    freshCache();
    const staging = join(cache, STAGING_DIR);
    const anHourAgo = (Date.now() - 3_600_000) / 1000;
    const leftover = (name: string, old: boolean) => {
      mkdirSync(join(staging, name), { recursive: true });
      writeFileSync(join(staging, name, "weights.onnx"), "partial");
      if (old) for (const path of [join(staging, name, "weights.onnx"), join(staging, name)]) utimesSync(path, anHourAgo, anHourAgo);
    };
    leftover("crashed~1.4242.abc", true);
    leftover("recent~1.4243.def", false);
    // A download of this process, stalled long enough to look abandoned, while another download starts.
    api.weightsPacing = { delayMs: 1_000, chunks: 1, chunkDelayMs: 0 };
    const rf = client(2_000);
    const stalled = rf.ensureCached(id("remote-probe/1"), KEY);
    let own: string | undefined;
    for (let waited = 0; !own && waited < 900; waited += 10) {
      await Bun.sleep(10);
      own = readdirSync(staging).find((name) => name.startsWith("remote-probe~1.") && existsSync(join(staging, name, "weights.onnx")));
    }
    expect(own).toBeDefined();
    for (const name of readdirSync(join(staging, own!))) utimesSync(join(staging, own!, name), anHourAgo, anHourAgo);
    utimesSync(join(staging, own!), anHourAgo, anHourAgo);
    leftover("crashed~2.4244.ghi", true);
    // Another download starts (and fails at once: the model does not exist) while the first still waits for its weights.
    expect((await rf.ensureCached(id("missing-instant"), KEY).then(() => null, (e) => e)).status).toBe(404);
    expect(readdirSync(staging).sort()).toEqual([own!, "recent~1.4243.def"].sort());
    await stalled;
    expect(existsSync(join(cache, "remote-probe/1/weights.onnx"))).toBe(true);
    expect(readdirSync(staging)).toEqual(["recent~1.4243.def"]);
    expect(logs.filter((line) => line.startsWith("removed ")).length).toBe(2);
  });
});

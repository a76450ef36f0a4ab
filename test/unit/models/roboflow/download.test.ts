// Specification of the Roboflow download against a local fake of the API (no server process: RoboflowDownloader on its
// own): the package it writes in the reference's layout, shared downloads, keys, refusals, timeouts, the staging area.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { slugDirectory } from "../../../../src/models/cache-layout.ts";
import { parseModelId } from "../../../../src/models/model-id.ts";
import { findPackageDir, readModelPackage } from "../../../../src/models/package.ts";
import { STAGING_DIR } from "../../../../src/models/package-writer.ts";
import { RoboflowDownloader } from "../../../../src/models/roboflow/download.ts";
import { startFakeRoboflowApi, type FakeRoboflowApi } from "../../../integration/fake-roboflow-api.ts";
import { FIXTURE_CACHE } from "../../../integration/server-process.ts";

const id = parseModelId;

describe("RoboflowDownloader against a fake API", () => {
  const KEY = "unit-key-7f3a";
  let api: FakeRoboflowApi;
  let cache: string;
  const logs: string[] = [];
  const log = { log: (...a: unknown[]) => void logs.push(a.join(" ")), error: (...a: unknown[]) => void logs.push(a.join(" ")) };
  const client = (timeoutMs = 5_000, fallbackKey = "") =>
    new RoboflowDownloader({ apiBaseUrl: api.url, roboflowApiKey: fallbackKey, roboflowApiTimeoutMs: timeoutMs, modelCacheDir: cache }, log);

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
    expect(
      api.requests
        .filter((r) => r.path === "/ort/coco/3")
        .at(-1)!
        .query.has("api_key"),
    ).toBe(false);
    expect(existsSync(join(cache, "coco/3/weights.onnx"))).toBe(true);
  });

  test("falls back to the configured key", async () => {
    freshCache();
    await client(5_000, KEY).ensureCached(id("remote-probe/1"), null);
    expect(
      api.requests
        .filter((r) => r.path === "/ort/remote-probe/1")
        .at(-1)!
        .query.get("api_key"),
    ).toBe(KEY);
  });

  test("answers refusals with the reference's statuses and leaves nothing in the cache", async () => {
    freshCache();
    const failure = (key: string, model = "remote-probe/1") =>
      client()
        .ensureCached(id(model), key)
        .then(
          () => null,
          (e) => e,
        );
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
    const stalled = await client(300)
      .ensureCached(id("remote-probe/1"), KEY)
      .then(
        () => null,
        (e) => e,
      );
    expect([stalled.status, stalled.message]).toEqual([504, "Timeout when attempting to connect to Roboflow API."]);
    api.ortStalls = false;
    api.weightsPacing = { delayMs: 1_000, chunks: 1, chunkDelayMs: 0 };
    expect(
      (
        await client(300)
          .ensureCached(id("remote-probe/1"), KEY)
          .then(
            () => null,
            (e) => e,
          )
      ).status,
    ).toBe(504);
    // A slow download that keeps receiving bytes is not a stalled one.
    api.weightsPacing = { delayMs: 0, chunks: 6, chunkDelayMs: 150 };
    await client(300).ensureCached(id("remote-probe/1"), KEY);
    expect(existsSync(join(cache, "remote-probe/1/weights.onnx"))).toBe(true);
    const unreachable = new RoboflowDownloader({ apiBaseUrl: "http://127.0.0.1:9", roboflowApiKey: "", roboflowApiTimeoutMs: 2_000, modelCacheDir: cache }, log);
    const refused = await unreachable.ensureCached(id("other/1"), KEY).then(
      () => null,
      (e) => e,
    );
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
    expect(
      await readModelPackage(cache, id("coco")).then(
        () => null,
        (e) => e.status,
      ),
    ).toBe(404);
    await client().ensureCached(id("coco"), KEY);
    expect(readdirSync(join(cache, "coco")).sort()).toEqual(["3", "best.onnx", "environment.json", "model_type.json"]);
    expect((await readModelPackage(cache, id("coco"))).taskType).toBe("classification");
    expect((await readModelPackage(cache, id("coco/3"))).taskType).toBe("object-detection");
  });

  test("answers getWeights refusals with the reference's statuses, and asks nothing without a key", async () => {
    freshCache();
    const failure = (key: string, model = "remote-instant") =>
      client()
        .ensureCached(id(model), key)
        .then(
          () => null,
          (e) => e,
        );
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
    expect(
      (
        await rf.ensureCached(id("missing-instant"), KEY).then(
          () => null,
          (e) => e,
        )
      ).status,
    ).toBe(404);
    expect(readdirSync(staging).sort()).toEqual([own!, "recent~1.4243.def"].sort());
    await stalled;
    expect(existsSync(join(cache, "remote-probe/1/weights.onnx"))).toBe(true);
    expect(readdirSync(staging)).toEqual(["recent~1.4243.def"]);
    expect(logs.filter((line) => line.startsWith("removed ")).length).toBe(2);
  });
});

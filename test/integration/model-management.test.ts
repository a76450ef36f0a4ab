// Specification of model management over HTTP: the reference client's list -> add -> infer flow, unloading, /start and /clear_cache.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: "" });
});

afterAll(async () => {
  await server?.stop();
});

const registry = async () => (await (await fetch(`${server.url}/model/registry?api_key=k`)).json()) as { models: { model_id: string }[] };
const loadedIds = async () => (await registry()).models.map((m) => m.model_id).sort();

async function solidImage(): Promise<string> {
  return (
    await sharp({ create: { width: 40, height: 30, channels: 3, background: "#808040" } })
      .png()
      .toBuffer()
  ).toString("base64");
}

describe("model management", () => {
  test("follows the Python client's flow: list, add when absent, list again, infer", async () => {
    expect(await loadedIds()).toEqual([]);
    const added = await server.post("/model/add", { model_id: "colour-probe/1", api_key: "k" });
    expect(added.status).toBe(200);
    const body = await added.json();
    expect(body.models).toEqual([
      {
        model_id: "colour-probe/1",
        task_type: "object-detection",
        batch_size: null,
        input_height: 640,
        input_width: 640,
        vram_bytes: null,
        request_aliases: [],
        request_paths: ["/model/add"],
      },
    ]);
    for (const key of ["total_vram_bytes", "gpu_memory_used", "gpu_memory_total"]) expect(body[key]).toBeNull();
    expect(await loadedIds()).toEqual(["colour-probe/1"]);
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", api_key: "k", image: { type: "base64", value: await solidImage() } });
    expect(res.status).toBe(200);
  });

  test("reports a fixed ONNX batch dimension as batch_size", async () => {
    const body = await (await server.post("/model/add", { model_id: "colour-probe-fixed/1" })).json();
    expect(body.models.find((m: any) => m.model_id === "colour-probe-fixed/1").batch_size).toBe(1);
  });

  test("unloads a model on /model/remove and loads it again on the next request", async () => {
    await server.post("/model/add", { model_id: "colour-probe/1" });
    const removed = await (await server.post("/model/remove", { model_id: "colour-probe/1" })).json();
    expect(removed.models.map((m: any) => m.model_id)).not.toContain("colour-probe/1");
    expect(server.output()).toContain("unloaded colour-probe/1");
    const res = await server.post("/infer/object_detection", { model_id: "colour-probe/1", image: { type: "base64", value: await solidImage() } });
    expect(res.status).toBe(200);
    expect(await loadedIds()).toContain("colour-probe/1");
  });

  test("lets requests already admitted finish when their model is removed", async () => {
    await server.post("/model/add", { model_id: "fixture-yolov8n/1" });
    const image = await solidImage();
    const inFlight = Array.from({ length: 6 }, () => server.post("/infer/object_detection", { model_id: "fixture-yolov8n/1", image: { type: "base64", value: image } }));
    await Bun.sleep(20);
    const removal = server.post("/model/remove", { model_id: "fixture-yolov8n/1" });
    const statuses = (await Promise.all(inFlight)).map((r) => r.status);
    expect((await removal).status).toBe(200);
    // Each request either finished or was told to retry: none was lost or failed.
    for (const status of statuses) expect([200, 503]).toContain(status);
    expect(statuses).toContain(200);
  });

  test("unloads everything on /model/clear and /clear_cache", async () => {
    await server.post("/model/add", { model_id: "colour-probe/1" });
    await server.post("/model/add", { model_id: "colour-probe-letterbox/1" });
    const cleared = await (await server.post("/model/clear", {})).json();
    expect(cleared.models).toEqual([]);
    await server.post("/model/add", { model_id: "colour-probe/1" });
    const res = await fetch(`${server.url}/clear_cache`);
    expect(await res.text()).toBe('"Cache Cleared"');
    expect(await loadedIds()).toEqual([]);
  });

  test("loads a model through the legacy /start route", async () => {
    const res = await fetch(`${server.url}/start/colour-probe/1?api_key=k`);
    expect(await res.json()).toEqual({ status: 200, message: "inference session started from local memory." });
    expect(await loadedIds()).toContain("colour-probe/1");
  });

  test("answers /model/add for a missing model with 404 and for a malformed id with 400", async () => {
    expect((await server.post("/model/add", { model_id: "nope/9" })).status).toBe(404);
    const bad = await server.post("/model/add", { model_id: "a/b/c" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: "Invalid Model ID sent in request." });
  });
});

// Specification of how the model host loads and unloads models: concurrent requests share one load (and one download),
// aliases load under their own name, a caller whose key differs from a load that failed for its key tries its own, and
// every load is a new instance that lives until its last slot is back.
// The device and the vision pool are stand-ins; packages are real fixtures in a temporary cache.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelId } from "../../../src/models/model-id.ts";
import { apiStatusError } from "../../../src/models/roboflow/api.ts";
import type { ModelDevice } from "../../../src/pipeline/device-group.ts";
import { ModelHost, type ModelProvisioner } from "../../../src/pipeline/model-host.ts";
import type { VisionPool } from "../../../src/pipeline/vision-pool.ts";
import { FIXTURE_CACHE } from "../../integration/server-process.ts";

let cache: string;

beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), "registry-cache-"));
  for (const id of ["colour-probe/1", "coco/3"]) cpSync(join(FIXTURE_CACHE, "colour-probe/1"), join(cache, id), { recursive: true });
  // An RF-DETR export whose package names a YOLO model type: only its outputs tell that it normalises before resizing.
  cpSync(join(FIXTURE_CACHE, "rfdetr-probe/1"), join(cache, "mislabelled/1"), { recursive: true });
  writeFileSync(join(cache, "mislabelled/1/model_type.json"), JSON.stringify({ project_task_type: "object-detection", model_type: "yolov8n" }));
});

afterAll(() => rmSync(cache, { recursive: true, force: true }));

function setup(provisioner?: ModelProvisioner, drainTimeoutMs = 1000) {
  const loads: string[] = [];
  const unloads: number[] = [];
  const detached: number[] = [];
  const device = {
    async load(_instance: number, label: string) {
      loads.push(label);
      await Bun.sleep(30);
      return {
        activeProvider: "cpu",
        session: {
          inputs: [{ name: "images", elementType: "float32", shape: ["batch", 3, 640, 640] }],
          outputs: [{ name: "output0", elementType: "float32", shape: ["batch", 7, 4] }],
          outputShapes: [[7, 4]],
          metadata: {},
          inputElement: "float32",
        },
      };
    },
    attach() {},
    unload: (instance: number) => void unloads.push(instance),
  } as unknown as ModelDevice;
  const pool = { attach() {}, detach: (instance: number) => void detached.push(instance) } as unknown as VisionPool;
  const settings = {
    modelCacheDir: cache,
    arenaSlots: 2,
    maxArenaBytes: 2 ** 32,
    unloadDrainTimeoutMs: drainTimeoutMs,
    classificationSoftmax: "logits" as const,
    rfdetrOnnxMaxResolution: 1600,
    inputEncoding: "float32" as const,
  };
  const batching = { maxBatchSize: 1, batchMaxWaitMs: 0, batchSizeProbe: false };
  const registry = new ModelHost(settings, { maxQueue: 8, maxQueueWaitMs: 0 }, batching, device, pool, () => {}, provisioner);
  return { registry, loads, unloads, detached };
}

/** A provisioner that takes a moment and refuses the key "bad" like the Roboflow API (401). */
function fakeProvisioner() {
  const calls: [string, string | null | undefined][] = [];
  const provisioner: ModelProvisioner = {
    async ensureCached(modelId: ModelId, apiKey?: string | null) {
      calls.push([modelId.id, apiKey]);
      await Bun.sleep(30);
      if (apiKey === "bad") throw apiStatusError(401);
    },
  };
  return { provisioner, calls };
}

describe("ModelHost.get", () => {
  test("shares one load among concurrent callers", async () => {
    const { provisioner, calls } = fakeProvisioner();
    const { registry, loads } = setup(provisioner);
    const models = await Promise.all(Array.from({ length: 10 }, () => registry.get("colour-probe/1", "k")));
    expect(new Set(models).size).toBe(1);
    expect(loads).toEqual(["colour-probe/1"]);
    expect(calls).toEqual([["colour-probe/1", "k"]]);
    // Loaded: no provisioning, no load.
    await registry.get("colour-probe/1", "k");
    expect(loads.length).toBe(1);
    expect(calls.length).toBe(1);
  });

  test("loads an alias under its own name from the package it stands for", async () => {
    const { provisioner, calls } = fakeProvisioner();
    const { registry, loads } = setup(provisioner);
    const model = await registry.get("yolov8n-640");
    expect(model.spec.key).toBe("yolov8n-640");
    expect(model.pkg.modelId.id).toBe("coco/3");
    expect(loads).toEqual(["yolov8n-640"]);
    expect(calls).toEqual([["coco/3", null]]);
    expect(registry.list().map((m) => m.spec.key)).toEqual(["yolov8n-640"]);
    expect(await registry.unload("yolov8n-640")).toBe(true);
    expect(registry.list()).toEqual([]);
  });

  test("a caller with another key retries after the shared load failed for its key; one with the same key shares the failure", async () => {
    const { provisioner, calls } = fakeProvisioner();
    const { registry, loads } = setup(provisioner);
    const [bad, alsoBad, good] = await Promise.allSettled([registry.get("colour-probe/1", "bad"), registry.get("colour-probe/1", "bad"), registry.get("colour-probe/1", "good")]);
    expect(bad.status).toBe("rejected");
    expect((bad as PromiseRejectedResult).reason.status).toBe(401);
    expect(alsoBad.status).toBe("rejected");
    expect(good.status).toBe("fulfilled");
    expect(calls).toEqual([
      ["colour-probe/1", "bad"],
      ["colour-probe/1", "good"],
    ]);
    expect(loads).toEqual(["colour-probe/1"]);
  });

  test("answers 404 for a model neither cached nor provisioned (versioned or instant), and 400 for a malformed id", async () => {
    const { registry } = setup();
    expect(
      await registry.get("nope/1").then(
        () => null,
        (e) => e.status,
      ),
    ).toBe(404);
    expect(
      await registry.get("nope").then(
        () => null,
        (e) => e.status,
      ),
    ).toBe(404);
    expect(
      await registry.get("no/pe/1").then(
        () => null,
        (e) => e.status,
      ),
    ).toBe(400);
  });

  test("reloads a model after it was unloaded", async () => {
    const { registry, loads, unloads } = setup();
    const first = await registry.get("colour-probe/1");
    expect(await registry.unload("colour-probe/1")).toBe(true);
    await Bun.sleep(0);
    expect(unloads).toEqual([first.id]);
    const second = await registry.get("colour-probe/1");
    expect(second).not.toBe(first);
    expect(loads).toEqual(["colour-probe/1", "colour-probe/1"]);
  });
});

describe("ModelHost instances", () => {
  test("every load of a model is a new instance with its own id and arena", async () => {
    const { registry } = setup();
    const first = await registry.get("colour-probe/1");
    await registry.unload("colour-probe/1");
    const second = await registry.get("colour-probe/1");
    expect(second.id).not.toBe(first.id);
    expect(second.arena.buffer).not.toBe(first.arena.buffer);
    expect(registry.instance(second.id)).toBe(second);
  });

  test("an unload that outlives its drain fails the requests still waiting for a batch with 503 and keeps the instance until its slots are back", async () => {
    const { registry, unloads, detached } = setup(undefined, 50);
    const old = await registry.get("colour-probe/1");
    const [slot] = old.queue.admit(1, undefined);
    const held = await slot!;
    const inferred = old.queue.inferred(held);
    const unloading = registry.unload("colour-probe/1");
    // The request's batch "runs" past the drain timeout.
    await expect(inferred).rejects.toMatchObject({ status: 503 });
    await unloading;
    const reloaded = await registry.get("colour-probe/1");
    expect(reloaded.id).not.toBe(old.id);
    // The old instance is still there for its batch's report, and no worker has let go of it yet.
    expect(registry.instance(old.id)).toBe(old);
    expect(unloads).toEqual([]);
    old.queue.release(held, false);
    await Bun.sleep(0);
    expect(registry.instance(old.id)).toBeUndefined();
    expect(unloads).toEqual([old.id]);
    expect(detached).toEqual([old.id]);
    expect(registry.loaded("colour-probe/1")).toBe(reloaded);
  });
});

describe("ModelHost pixel inputs (INPUT_ENCODING)", () => {
  /** A device that answers like the session loader: pixel inputs whenever they were asked for. */
  function pixelDevice(outputs: { name: string; shape: number[] }[]) {
    const asked: unknown[] = [];
    const unloads: number[] = [];
    const device = {
      async load(_instance: number, _label: string, _path: string, _probe: unknown, pixelEncoding: unknown) {
        asked.push(pixelEncoding);
        return {
          activeProvider: "cpu",
          fallbacks: [],
          session: {
            inputs: [{ name: "input", elementType: "float32", shape: ["batch", 3, 64, 64] }],
            outputs: outputs.map((o) => ({ name: o.name, elementType: "float32", shape: ["batch", ...o.shape] })),
            outputShapes: outputs.map((o) => o.shape),
            metadata: {},
            inputElement: (pixelEncoding as { element?: string } | null)?.element ?? "float32",
          },
        };
      },
      attach() {},
      unload: (instance: number) => void unloads.push(instance),
    } as unknown as ModelDevice;
    const pool = { attach() {}, detach() {} } as unknown as VisionPool;
    const settings = {
      modelCacheDir: cache,
      arenaSlots: 2,
      maxArenaBytes: 2 ** 32,
      unloadDrainTimeoutMs: 1000,
      classificationSoftmax: "logits" as const,
      rfdetrOnnxMaxResolution: 1600,
      inputEncoding: "compact" as const,
    };
    const host = new ModelHost(settings, { maxQueue: 8, maxQueueWaitMs: 0 }, { maxBatchSize: 1, batchMaxWaitMs: 0, batchSizeProbe: false }, device, pool, () => {});
    return { host, asked, unloads };
  }

  test("asks for the encoding the model type and resize imply and gives the arena pixel slots", async () => {
    const { host, asked } = pixelDevice([{ name: "output0", shape: [7, 4] }]);
    const model = await host.get("colour-probe/1", null);
    expect(asked).toEqual([{ element: "uint16", mean: [0, 0, 0], std: [1, 1, 1] }]);
    expect(model.arena.layout).toMatchObject({ inputElement: "uint16", inputShape: [3, 64, 64] });
  });

  test("loads again with float inputs when the outputs name a family that normalises before resizing", async () => {
    const { host, asked, unloads } = pixelDevice([
      { name: "dets", shape: [10, 4] },
      { name: "labels", shape: [10, 4] },
    ]);
    const model = await host.get("mislabelled/1", null);
    expect(model.spec.layout.family).toBe("rfdetr");
    expect(asked).toEqual([{ element: "uint16", mean: [0, 0, 0], std: [1, 1, 1] }, null]);
    expect(unloads).toEqual([model.id]);
    expect(model.arena.layout).toMatchObject({ inputElement: "float32", inputShape: [3, 64, 64] });
  });
});

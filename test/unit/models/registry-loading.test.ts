// Specification of how the registry loads models: concurrent requests share one load (and one download), aliases
// load under their own name, and a caller whose key differs from a load that failed for its key tries its own.
// The device and the vision pool are stand-ins; packages are real fixtures in a temporary cache.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelId } from "../../../src/models/model-id.ts";
import { ModelRegistry, type ModelProvisioner } from "../../../src/models/registry.ts";
import { apiStatusError } from "../../../src/models/roboflow/api.ts";
import type { ModelDevice } from "../../../src/pipeline/device-group.ts";
import type { VisionPool } from "../../../src/pipeline/vision-pool.ts";
import { FIXTURE_CACHE } from "../../integration/server-process.ts";

let cache: string;

beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), "registry-cache-"));
  for (const id of ["colour-probe/1", "coco/3"]) cpSync(join(FIXTURE_CACHE, "colour-probe/1"), join(cache, id), { recursive: true });
});

afterAll(() => rmSync(cache, { recursive: true, force: true }));

function setup(provisioner?: ModelProvisioner) {
  const loads: string[] = [];
  const unloads: string[] = [];
  const device = {
    async load(key: string) {
      loads.push(key);
      await Bun.sleep(30);
      return {
        activeProvider: "cpu",
        session: {
          inputs: [{ name: "images", elementType: "float32", shape: ["batch", 3, 640, 640] }],
          outputs: [{ name: "output0", elementType: "float32", shape: ["batch", 7, 4] }],
          outputShapes: [[7, 4]],
          metadata: {},
        },
      };
    },
    attach() {},
    unload: (key: string) => void unloads.push(key),
  } as unknown as ModelDevice;
  const pool = { attach() {}, detach() {} } as unknown as VisionPool;
  const registry = new ModelRegistry({ modelCacheDir: cache, maxBatchSize: 1, arenaSlots: 1, maxArenaBytes: 2 ** 32 }, device, pool, provisioner);
  return { registry, loads, unloads };
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

describe("ModelRegistry.get", () => {
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
    expect(await registry.get("nope/1").then(() => null, (e) => e.status)).toBe(404);
    expect(await registry.get("nope").then(() => null, (e) => e.status)).toBe(404);
    expect(await registry.get("no/pe/1").then(() => null, (e) => e.status)).toBe(400);
  });

  test("reloads a model after it was unloaded", async () => {
    const { registry, loads, unloads } = setup();
    const first = await registry.get("colour-probe/1");
    expect(await registry.unload("colour-probe/1")).toBe(true);
    expect(unloads).toEqual(["colour-probe/1"]);
    const second = await registry.get("colour-probe/1");
    expect(second).not.toBe(first);
    expect(loads).toEqual(["colour-probe/1", "colour-probe/1"]);
  });
});

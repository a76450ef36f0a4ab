// Specification of a newcomer's first start: the trained demo models are installed into an empty cache and find the
// shapes in a picture (README "Demo"), their quality holds on held-out scenes, and SIGTERM stops cleanly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { evaluateDemo, formatQuality } from "../../scripts/demo/eval.ts";
import { EXAMPLE_SCENE } from "../../scripts/demo/example.ts";
import { maskIous, matchDetections } from "../../scripts/demo/quality.ts";
import { ownerMap, placedShape, renderSceneJpeg, sceneInstances, SHAPE_CLASSES, type Scene } from "../../scripts/demo/scenes.ts";
import { REPO_ROOT, startServerProcess, type ServerProcess } from "./server-process.ts";

const cacheDir = mkdtempSync(join(tmpdir(), "demo-cache-"));
let server: ServerProcess;

beforeAll(async () => {
  // DEMO_MODEL_ID and PRELOAD_MODELS as `bun run start` has them (server-process.ts turns the demo off by default).
  server = await startServerProcess({ MODEL_CACHE_DIR: cacheDir, DEMO_MODEL_ID: "demo-shapes/1", PRELOAD_MODELS: "demo-shapes/1,demo-shapes-seg/1,demo-shapes-cls/1" });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

const example = readFileSync(join(REPO_ROOT, "examples/shapes.jpg"));
const exampleImage = { type: "base64", value: example.toString("base64") };
const exampleOwner = ownerMap(EXAMPLE_SCENE);
const exampleScene: Scene = { spec: EXAMPLE_SCENE, jpeg: example, owner: exampleOwner, instances: sceneInstances(EXAMPLE_SCENE, exampleOwner) };

describe("the demo models", () => {
  test("are installed into an empty cache on first start and loaded", async () => {
    expect(server.output()).toContain("installed the demo models demo-shapes/1, demo-shapes-seg/1, demo-shapes-cls/1");
    for (const id of ["demo-shapes/1", "demo-shapes-seg/1"]) {
      for (const file of ["weights.onnx", "environment.json", "class_names.txt", "model_type.json"]) expect(existsSync(join(cacheDir, id, file))).toBe(true);
      expect(
        readFileSync(join(cacheDir, id, "class_names.txt"), "utf8")
          .trim()
          .split("\n"),
      ).toEqual([...SHAPE_CLASSES]);
    }
    const registry = await (await fetch(`${server.url}/model/registry`)).json();
    expect(registry.models.map((m: { model_id: string; task_type: string }) => [m.model_id, m.task_type])).toEqual([
      ["demo-shapes/1", "object-detection"],
      ["demo-shapes-seg/1", "instance-segmentation"],
      ["demo-shapes-cls/1", "classification"],
    ]);
  }, 60_000);

  test("demo-shapes/1 puts a box of the right class on every shape of the example picture, and nowhere else", async () => {
    const res = await server.post("/infer/object_detection", { model_id: "demo-shapes/1", image: exampleImage });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.image).toEqual({ width: 1280, height: 720 });
    const found = matchDetections(exampleScene.instances, body.predictions);
    expect({ missed: found.falseNegatives, extra: found.falsePositives }).toEqual({ missed: 0, extra: 0 });
  }, 60_000);

  test("draws the boxes on the example picture for format=image", async () => {
    const res = await fetch(`${server.url}/demo-shapes/1?format=image&labels=true`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: exampleImage.value,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("image/jpeg");
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([1280, 720]);
  }, 60_000);

  test("demo-shapes-seg/1 answers a polygon that follows each shape of the example picture (mask IoU 0.85 on average)", async () => {
    const res = await server.post("/infer/instance_segmentation", { model_id: "demo-shapes-seg/1", image: exampleImage });
    const body = await res.json();
    const found = matchDetections(exampleScene.instances, body.predictions);
    expect({ missed: found.falseNegatives, extra: found.falsePositives }).toEqual({ missed: 0, extra: 0 });
    // The bar is a mean of 0.85 over shapes; the smallest shape here (a 70 px triangle, 4 prototype cells
    // across at 320x320) is the coarsest, so each shape has a lower bar of its own.
    const ious = found.matches.map((m) => maskIous(exampleScene, m.instance, body.predictions[m.prediction].points).outline);
    found.matches.forEach((m, k) => {
      expect({ shape: exampleScene.instances[m.instance]!.className, iou: ious[k]! >= 0.7 }).toEqual({ shape: exampleScene.instances[m.instance]!.className, iou: true });
    });
    expect(ious.reduce((a, b) => a + b, 0) / ious.length).toBeGreaterThanOrEqual(0.85);
  }, 60_000);

  test("demo-shapes-cls/1 names the shape in the middle of a picture", async () => {
    for (const [classId, name] of SHAPE_CLASSES.entries()) {
      const spec = {
        ...EXAMPLE_SCENE,
        width: 240,
        height: 200,
        texture: null,
        shapes: [placedShape(classId, 120, 100, 130, 11 + classId, { style: "filled", colour: "#f2c14e", strokeWidth: 0 })],
      };
      const image = { type: "base64", value: Buffer.from(await renderSceneJpeg(spec, 1)).toString("base64") };
      const body = await (await server.post("/infer/classification", { model_id: "demo-shapes-cls/1", image })).json();
      expect(body.top).toBe(name);
    }
  }, 60_000);

  test("find the shapes of 20 held-out scenes with recall and precision >= 0.9 (bun run demo-eval: 200 scenes)", async () => {
    const quality = await evaluateDemo(server.url, 20);
    console.log(formatQuality(quality));
    expect(quality.detection.recall).toBeGreaterThanOrEqual(0.9);
    expect(quality.detection.precision).toBeGreaterThanOrEqual(0.9);
    expect(quality.segmentation.recall).toBeGreaterThanOrEqual(0.9);
    expect(quality.segmentation.precision).toBeGreaterThanOrEqual(0.9);
    expect(quality.segmentation.maskIou).toBeGreaterThanOrEqual(0.8);
    expect(quality.classification.accuracy).toBeGreaterThanOrEqual(0.9);
  }, 180_000);

  test("a second start finds them current, and SIGTERM stops the server with exit code 0", async () => {
    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain("SIGTERM: draining and stopping");
    const again = await startServerProcess({ MODEL_CACHE_DIR: cacheDir, DEMO_MODEL_ID: "demo-shapes/1", PRELOAD_MODELS: "demo-shapes/1" });
    try {
      expect(again.output()).not.toContain("installed the demo models");
    } finally {
      expect(await again.stop()).toBe(0);
    }
  }, 60_000);
});

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_CLASSES, installDemoModels, MODELS_DIR } from "../../../src/demo/install.ts";
import { PackageWriter, STAGING_DIR } from "../../../src/models/package-writer.ts";

const cache = mkdtempSync(join(tmpdir(), "demo-install-"));
const writer = new PackageWriter({ modelCacheDir: cache, roboflowApiTimeoutMs: 10_000 });
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe("installDemoModels", () => {
  test("writes the three packages with their weights, class names and model types", async () => {
    expect(await installDemoModels(cache, writer)).toEqual(["demo-shapes/1", "demo-shapes-seg/1", "demo-shapes-cls/1"]);
    expect(readFileSync(join(cache, "demo-shapes/1/class_names.txt"), "utf8").trim().split("\n")).toEqual(DEMO_CLASSES);
    expect(JSON.parse(readFileSync(join(cache, "demo-shapes-seg/1/model_type.json"), "utf8"))).toMatchObject({
      project_task_type: "instance-segmentation",
      model_type: "yolov8n-seg",
    });
    const classification = JSON.parse(readFileSync(join(cache, "demo-shapes-cls/1/environment.json"), "utf8"));
    expect(Object.values(classification.CLASS_MAP)).toEqual(DEMO_CLASSES);
    expect(classification.PREPROCESSING.resize).toEqual({ enabled: true, width: 128, height: 128, format: "Stretch to" });
    expect(readFileSync(join(cache, "demo-shapes/1/weights.onnx")).equals(readFileSync(join(MODELS_DIR, "detect.onnx")))).toBe(true);
  });

  test("leaves current packages alone, and replaces one installed from other files (an older demo)", async () => {
    expect(await installDemoModels(cache, writer)).toEqual([]);
    writeFileSync(join(cache, "demo-shapes/1/weights.onnx"), "old");
    writeFileSync(join(cache, "demo-shapes/1/.demo-stamp"), "old");
    // A file of the older package that the demo does not write goes with it: the package is replaced whole.
    writeFileSync(join(cache, "demo-shapes/1/yolov8n.onnx"), "old");
    expect(await installDemoModels(cache, writer)).toEqual(["demo-shapes/1"]);
    expect(readFileSync(join(cache, "demo-shapes/1/weights.onnx")).equals(readFileSync(join(MODELS_DIR, "detect.onnx")))).toBe(true);
    expect(existsSync(join(cache, "demo-shapes/1/yolov8n.onnx"))).toBe(false);
    expect(readdirSync(join(cache, STAGING_DIR))).toEqual([]);
  });

  test("installs the detector under DEMO_MODEL_ID", async () => {
    expect(await installDemoModels(cache, writer, "my-shapes/3")).toEqual(["my-shapes/3"]);
    expect(JSON.parse(readFileSync(join(cache, "my-shapes/3/model_type.json"), "utf8")).model_id).toBe("my-shapes/3");
  });

  test("servers starting together on one cache all come up: concurrent installs over an older demo never fail and leave the current one", async () => {
    const shared = join(cache, "shared");
    const server = () => new PackageWriter({ modelCacheDir: shared, roboflowApiTimeoutMs: 10_000 });
    await installDemoModels(shared, server());
    writeFileSync(join(shared, "demo-shapes/1/.demo-stamp"), "old");
    writeFileSync(join(shared, "demo-shapes/1/yolov8n.onnx"), "old");
    const installed = await Promise.all([installDemoModels(shared, server()), installDemoModels(shared, server()), installDemoModels(shared, server())]);
    expect(installed.flat()).toContain("demo-shapes/1");
    expect(readdirSync(join(shared, "demo-shapes/1")).sort()).toEqual([".demo-stamp", "class_names.txt", "environment.json", "model_type.json", "weights.onnx"]);
    expect(readFileSync(join(shared, "demo-shapes/1/weights.onnx")).equals(readFileSync(join(MODELS_DIR, "detect.onnx")))).toBe(true);
    expect(readdirSync(join(shared, STAGING_DIR))).toEqual([]);
  });
});

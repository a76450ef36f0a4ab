// Specification of the package writer: the weights file name rule, staging inside MODEL_CACHE_DIR, installing a
// package whole (a download beside what is there, an import replacing it), the sweep of stale staging directories,
// and a full disk named as such.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CacheWriteError, PackageWriter, STAGING_DIR, weightsFileName } from "../../../src/models/package-writer.ts";

describe("weightsFileName", () => {
  test("names the weights file as the reference does for each family (docs/compatibility.md §3.2)", () => {
    expect(weightsFileName("object-detection", "yolov8n")).toBe("weights.onnx");
    expect(weightsFileName("object-detection", "yolov5v2s")).toBe("yolov5s_weights.onnx");
    expect(weightsFileName("instance-segmentation", "yolov5s-seg")).toBe("yolov5s_weights.onnx");
    expect(weightsFileName("instance-segmentation", "yolov8n-seg")).toBe("weights.onnx");
    expect(weightsFileName("instance-segmentation", "yolov7-seg")).toBe("weights.onnx");
    expect(weightsFileName("object-detection", "yolo_nas_s")).toBe("weights.onnx");
    expect(weightsFileName("classification", "yolov8n")).toBe("weights.onnx");
    expect(weightsFileName("classification", "resnet50")).toBe("best.onnx");
    expect(weightsFileName("classification", "ResNet18")).toBe("best.onnx");
  });

  test("gives best.onnx to the ViT model type alone: `vit` is the reference's only ViT type (docs/compatibility.md §3.1)", () => {
    expect(weightsFileName("classification", "vit")).toBe("best.onnx");
    expect(weightsFileName("classification", "VIT")).toBe("best.onnx");
    expect(weightsFileName("classification", "vit-base-patch16")).toBe("weights.onnx");
    expect(weightsFileName("object-detection", "vit")).toBe("weights.onnx");
  });
});

describe("CacheWriteError", () => {
  test("names a full disk (507) apart from other write failures (500), never a path", () => {
    for (const code of ["ENOSPC", "EDQUOT"]) {
      expect(new CacheWriteError(code)).toMatchObject({ status: 507, message: "Insufficient storage: no space left in MODEL_CACHE_DIR for the model package." });
    }
    expect(new CacheWriteError("EACCES")).toMatchObject({ status: 500, message: "Internal error. Could not write the model package into MODEL_CACHE_DIR (EACCES)." });
  });
});

describe("PackageWriter", () => {
  let cache: string;
  const logs: string[] = [];
  const log = { log: (...a: unknown[]) => void logs.push(a.join(" ")), error: (...a: unknown[]) => void logs.push(a.join(" ")) };
  const writer = (timeoutMs = 120_000) => new PackageWriter({ modelCacheDir: cache, roboflowApiTimeoutMs: timeoutMs }, log);
  const staging = () => join(cache, STAGING_DIR);

  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "package-writer-"));
    logs.length = 0;
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  const stagedPackage = async (files: Record<string, string>) => {
    const staged = await writer().stage("some/1");
    for (const [name, text] of Object.entries(files)) await staged.writeFile(name, text);
    return staged;
  };

  test("stages inside MODEL_CACHE_DIR, and leaves nothing there once installed or discarded", async () => {
    const staged = await stagedPackage({ "weights.onnx": "w", "environment.json": "{}" });
    expect(staged.dir.startsWith(join(staging(), "some~1."))).toBe(true);
    expect(await staged.installBeside(join(cache, "some/1"))).toBe("created");
    await staged.discard();
    expect(readdirSync(join(cache, "some/1")).sort()).toEqual(["environment.json", "weights.onnx"]);
    const dropped = await stagedPackage({ "weights.onnx": "w" });
    await dropped.discard();
    expect(readdirSync(staging())).toEqual([]);
  });

  test("a download keeps a complete package already there and fills an incomplete one, environment.json last", async () => {
    const target = join(cache, "some/1");
    mkdirSync(join(target, "3"), { recursive: true });
    writeFileSync(join(target, "yolov5s_weights.onnx"), "old family");
    const first = await stagedPackage({ "weights.onnx": "new", "environment.json": "{}" });
    expect(await first.installBeside(target)).toBe("replaced");
    // The old weights of another family's name are gone; the versions beside them stay.
    expect(readdirSync(target).sort()).toEqual(["3", "environment.json", "weights.onnx"]);
    const second = await stagedPackage({ "weights.onnx": "newer", "environment.json": "{}" });
    expect(await second.installBeside(target)).toBe("kept");
    await Promise.all([first.discard(), second.discard()]);
    expect(readFileSync(join(target, "weights.onnx"), "utf8")).toBe("new");
  });

  test("an import replaces a package whole only when told to, and retires the old one through the staging area", async () => {
    const target = join(cache, "some/1");
    const first = await stagedPackage({ "yolov5s_weights.onnx": "v5", "environment.json": "{}" });
    expect(await first.installReplacing(target, false)).toBe("created");
    const refused = await stagedPackage({ "weights.onnx": "v8", "environment.json": "{}" });
    expect(await refused.installReplacing(target, false)).toBe("kept");
    const forced = await stagedPackage({ "weights.onnx": "v8", "environment.json": "{}" });
    expect(await forced.installReplacing(target, true)).toBe("replaced");
    await Promise.all([first.discard(), refused.discard(), forced.discard()]);
    expect(readdirSync(target).sort()).toEqual(["environment.json", "weights.onnx"]);
    expect(readdirSync(staging())).toEqual([]);
  });

  test("writers replacing one package at the same time (servers starting on one cache) never fail: one whole package is left, and the staging area empty", async () => {
    for (let round = 0; round < 20; round++) {
      const target = join(cache, `race/${round}`);
      if (round % 2 === 1) {
        const old = await stagedPackage({ "best.onnx": "old", "environment.json": "{}" });
        await old.installReplacing(target, false);
        await old.discard();
      }
      const writers = await Promise.all(["a", "b", "c"].map((name) => stagedPackage({ "weights.onnx": name, "environment.json": "{}" })));
      const outcomes = await Promise.all(writers.map((staged) => staged.installReplacing(target, true)));
      await Promise.all(writers.map((staged) => staged.discard()));
      expect(outcomes.some((outcome) => outcome !== "kept")).toBe(true);
      expect(readdirSync(target).sort()).toEqual(["environment.json", "weights.onnx"]);
      expect(["a", "b", "c"]).toContain(readFileSync(join(target, "weights.onnx"), "utf8"));
      expect(readdirSync(staging())).toEqual([]);
    }
  });

  test("sweeps staging directories nothing wrote to for two request timeouts, sparing this process's own however old", async () => {
    mkdirSync(staging(), { recursive: true });
    const anHourAgo = (Date.now() - 3_600_000) / 1000;
    const leftover = (name: string, old: boolean) => {
      mkdirSync(join(staging(), name));
      writeFileSync(join(staging(), name, "upload.onnx"), "partial");
      if (old) for (const path of [join(staging(), name, "upload.onnx"), join(staging(), name)]) utimesSync(path, anHourAgo, anHourAgo);
    };
    leftover("import.4242.abc", true);
    leftover("import.4243.def", false);
    // One of this process's staged packages (an import being inspected), idle long enough to look abandoned.
    const own = await stagedPackage({ "upload.onnx": "mine" });
    for (const path of [join(own.dir, "upload.onnx"), own.dir]) utimesSync(path, anHourAgo, anHourAgo);
    const next = await writer(1_000).stage("other/2");
    expect(readdirSync(staging()).sort()).toEqual([own.dir, join(staging(), "import.4243.def"), next.dir].map((p) => p.slice(staging().length + 1)).sort());
    expect(logs.filter((line) => line.startsWith("removed ")).length).toBe(1);
    await Promise.all([own.discard(), next.discard()]);
  });

  test("refuses with 507 before writing a file the disk has no room for", async () => {
    const staged = await stagedPackage({});
    await staged.ensureRoom(1024);
    await expect(staged.ensureRoom(2 ** 60)).rejects.toMatchObject({ status: 507 });
    await staged.discard();
  });

  test("answers a failed write as the cache's fault, logging the path and never answering it", async () => {
    const staged = await stagedPackage({});
    rmSync(staged.dir, { recursive: true });
    const failure = await staged.writeFile("weights.onnx", "w").then(
      () => null,
      (e: CacheWriteError) => e,
    );
    expect(failure).toBeInstanceOf(CacheWriteError);
    expect(failure!.message).not.toContain(cache);
    expect(logs.join("\n")).toContain(staged.dir);
    expect(existsSync(staged.dir)).toBe(false);
  });
});

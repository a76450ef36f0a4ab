// Specification of bring-your-own ONNX: `bun run import-model` and POST /model/import turn exports into packages the server serves with their own class names.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { buildDetectionProbe } from "../fixtures/family-models.ts";
import { buildColourProbeDetector } from "../fixtures/probe-models.ts";
import { buildYolov8nDetector } from "../fixtures/yolov8n.ts";
import { rescaledBox } from "./reference-boxes.ts";
import { REPO_ROOT, startServerProcess, type ServerProcess } from "./server-process.ts";

/** Names that need every kind of quoting in a Python dict literal. */
const CUSTOM_NAMES = ["o'brien", 'say "hi"', "back\\slash"];
const S = 640;

let scratch: string;
let cache: string;
const files: Record<string, string> = {};

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "model-import-"));
  cache = join(scratch, "cache");
  const write = (name: string, bytes: Uint8Array | string) => {
    files[name] = join(scratch, name);
    writeFileSync(files[name]!, bytes);
  };
  // Ultralytics-style exports: `names`, `imgsz`, `task` and `batch` in their metadata.
  write("probe.onnx", buildColourProbeDetector({ numClasses: 3, inputSize: S, batch: "batch", classNames: CUSTOM_NAMES }));
  write("yolov8n.onnx", buildYolov8nDetector({ numClasses: 4, inputSize: 320, batch: "batch", seed: 7, classNames: ["cat", "dog", "fox", "owl"] }));
  write("yolo26.onnx", buildDetectionProbe({ family: "yolo26", batch: "batch" }));
  // No metadata at all, as YOLO-NAS exports come.
  write("yolonas.onnx", buildDetectionProbe({ family: "yolonas", batch: "batch" }));
  write("garbage.onnx", "this is not a protobuf");
  // A fixed 5000 x 5000 input: 300 MB per float slot (150 MB as 8.8 fixed-point pixels), more than an arena of the
  // default 32 slots on the CPU can hold either way.
  write("huge-input.onnx", buildColourProbeDetector({ numClasses: 3, inputSize: 5000, batch: "batch" }));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function importCli(...args: string[]): Promise<{ code: number; output: string }> {
  return importCliWith({}, ...args);
}

async function importCliWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(["bun", "run", "import-model", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, MODEL_CACHE_DIR: cache, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: stdout + stderr };
}

async function solidPng(rgb: [number, number, number], width: number, height: number): Promise<string> {
  return (
    await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
      .png()
      .toBuffer()
  ).toString("base64");
}

/** The colour probe's answer for a solid colour on a w0 x h0 image (see test/fixtures/probe-models.ts), with the imported names. */
function expectedProbe(rgb: [number, number, number], w0: number, h0: number) {
  const [r, g, b] = rgb.map((v) => v / 255) as [number, number, number];
  const box = (x1: number, y1: number, x2: number, y2: number) => rescaledBox(x1, y1, x2, y2, w0, h0, S);
  return [
    { ...box(S / 4, S / 4, (3 * S) / 4, (3 * S) / 4), class: CUSTOM_NAMES[1], class_id: 1, confidence: 0.9 },
    { ...box(r * S - S / 8, g * S - S / 16, r * S + S / 8, g * S + S / 16), class: CUSTOM_NAMES[0], class_id: 0, confidence: b },
  ]
    .filter((p) => p.confidence >= 0.4)
    .sort((p, q) => q.confidence - p.confidence);
}

function upload(fields: Record<string, string>, file?: string): FormData {
  const form = new FormData();
  if (file) form.append("file", new Blob([readFileSync(files[file]!)]), file);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

describe("bun run import-model", () => {
  test("imports an Ultralytics export from its metadata alone, in the reference's package layout", async () => {
    const { code, output } = await importCli(files["probe.onnx"]!, "--id", "cli-probe/1");
    expect([code, output]).toEqual([0, expect.stringContaining("imported cli-probe/1")]);
    expect(output).toContain("task object-detection, model type yolov8, family yolov8");
    const dir = join(cache, "cli-probe/1");
    expect(readFileSync(join(dir, "class_names.txt"), "utf8")).toBe(CUSTOM_NAMES.join("\n") + "\n");
    const environment = JSON.parse(readFileSync(join(dir, "environment.json"), "utf8"));
    expect(environment).toEqual({
      PREPROCESSING: { "auto-orient": { enabled: true }, resize: { enabled: true, format: "Stretch to", width: 640, height: 640 } },
      CLASS_MAP: { "0": CUSTOM_NAMES[0], "1": CUSTOM_NAMES[1], "2": CUSTOM_NAMES[2] },
    });
    expect(JSON.parse(readFileSync(join(dir, "model_type.json"), "utf8"))).toEqual({ project_task_type: "object-detection", model_type: "yolov8", model_id: "cli-probe/1" });
    expect(readFileSync(join(dir, "weights.onnx"))).toEqual(readFileSync(files["probe.onnx"]!));
  });

  test("imports a YOLOv8n export at its own input size", async () => {
    const { code, output } = await importCli(files["yolov8n.onnx"]!, "--id", "cli-yolov8n/1");
    expect(code).toBe(0);
    expect(output).toContain("input 320x320, dynamic batch");
    expect(output).toContain("4 classes: cat, dog, fox, owl");
  });

  test("says what is missing, and imports once it is given", async () => {
    const missing = await importCli(files["yolonas.onnx"]!, "--id", "cli-nas/1");
    expect(missing.code).toBe(1);
    expect(missing.output).toContain("Cannot import the model: the model has no class names (no `names` metadata); pass them (--classes a,b,c).");
    const given = await importCli(files["yolonas.onnx"]!, "--id", "cli-nas/1", "--classes", "a,b,c");
    expect(given.code).toBe(0);
    expect(given.output).toContain("model type yolonas, family yolonas");
  });

  test("refuses bad ids, unreadable files, and existing packages unless --force", async () => {
    const traversal = await importCli(files["probe.onnx"]!, "--id", "../../etc/1");
    expect(traversal.code).toBe(1);
    expect(traversal.output).toContain("invalid model id");
    expect(existsSync(join(scratch, "etc"))).toBe(false);
    const garbage = await importCli(files["garbage.onnx"]!, "--id", "garbage/1");
    expect(garbage.code).toBe(1);
    expect(garbage.output).toContain("ONNX Runtime cannot load it");
    // `bun run` echoes the command line; the error itself names the file only.
    const error = garbage.output.split("\n").find((line) => line.startsWith("Cannot import the model"));
    expect(error).toBe("Cannot import the model: ONNX Runtime cannot load it: Load model from garbage.onnx failed:Protobuf parsing failed.");
    const again = await importCli(files["probe.onnx"]!, "--id", "cli-probe/1");
    expect(again.code).toBe(1);
    expect(again.output).toContain("already exists");
    const forced = await importCli(files["probe.onnx"]!, "--id", "cli-probe/1", "--force");
    expect(forced.code).toBe(0);
    expect(forced.output).toContain("replaced cli-probe/1");
  });
});

describe("POST /model/import and serving imported models", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ MODEL_CACHE_DIR: cache });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const importHttp = (fields: Record<string, string>, file?: string) => fetch(`${server.url}/model/import`, { method: "POST", body: upload(fields, file) });

  test("imports an uploaded Ultralytics export (201) and serves it with its own class names", async () => {
    const res = await importHttp({ id: "http-probe/1" }, "probe.onnx");
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      model_id: "http-probe/1",
      task_type: "object-detection",
      model_type: "yolov8",
      weights_file: "weights.onnx",
      class_names: CUSTOM_NAMES,
      input_width: 640,
      input_height: 640,
      batch_size: null,
      family: "yolov8",
      replaced: false,
    });
    const rgb: [number, number, number] = [153, 51, 217];
    const infer = await server.post("/infer/object_detection", { model_id: "http-probe/1", image: { type: "base64", value: await solidPng(rgb, 300, 200) } });
    expect(infer.status).toBe(200);
    const predictions = (await infer.json()).predictions.map(({ detection_id: _, confidence, ...p }: any) => ({ ...p, confidence: Math.round(confidence * 1e4) / 1e4 }));
    expect(predictions).toEqual(expectedProbe(rgb, 300, 200).map((p) => ({ ...p, confidence: Math.round(p.confidence * 1e4) / 1e4 })));
  });

  test("serves the models the CLI imported", async () => {
    const rgb: [number, number, number] = [100, 180, 230];
    const probe = await (await server.post("/infer/object_detection", { model_id: "cli-probe/1", image: { type: "base64", value: await solidPng(rgb, 64, 48) } })).json();
    expect(probe.predictions.map((p: any) => p.class)).toEqual(expectedProbe(rgb, 64, 48).map((p) => p.class));
    const photo = await sharp({ create: { width: 200, height: 150, channels: 3, background: "#000", noise: { type: "gaussian", mean: 128, sigma: 60 } } })
      .png()
      .toBuffer();
    const yolo = await server.post("/infer/object_detection", { model_id: "cli-yolov8n/1", confidence: 0.01, image: { type: "base64", value: photo.toString("base64") } });
    expect(yolo.status).toBe(200);
    const classes = new Set<string>((await yolo.json()).predictions.map((p: any) => p.class));
    for (const name of classes) expect(["cat", "dog", "fox", "owl"]).toContain(name);
    const registry = await (await fetch(`${server.url}/model/registry`)).json();
    expect(registry.models.find((m: any) => m.model_id === "cli-yolov8n/1")).toMatchObject({ input_width: 320, input_height: 320 });
  });

  test("picks the family from the export's description: a YOLO26 export is served uncapped, without NMS", async () => {
    const res = await importHttp({ id: "http-yolo26/1" }, "yolo26.onnx");
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ model_type: "yolo26n", family: "yolo26", weights_file: "weights.onnx" });
    const body = await (
      await server.post("/infer/object_detection", { model_id: "http-yolo26/1", max_detections: 1, image: { type: "base64", value: await solidPng([100, 150, 230], 64, 64) } })
    ).json();
    expect(body.predictions.length).toBe(3);
  });

  test("takes the missing fields from the form: classes, task and model type", async () => {
    const refused = await importHttp({ id: "http-nas/1" }, "yolonas.onnx");
    expect(refused.status).toBe(400);
    expect((await refused.json()).message).toContain("no class names");
    const res = await importHttp({ id: "http-nas/1", classes: '["red, ish", "green", "blue"]', task: "detect", model_type: "yolo_nas_s" }, "yolonas.onnx");
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ model_type: "yolo_nas_s", family: "yolonas", class_names: ["red, ish", "green", "blue"] });
    const body = await (await server.post("/infer/object_detection", { model_id: "http-nas/1", image: { type: "base64", value: await solidPng([10, 20, 230], 64, 64) } })).json();
    expect(body.predictions.map((p: any) => p.class)).toEqual(["red, ish", "green"]);
  });

  test("answers 400 with a message for missing fields, bad ids and files that are not ONNX, 409 for an existing id", async () => {
    const noFile = await importHttp({ id: "x/1" });
    expect(noFile.status).toBe(400);
    expect(await noFile.json()).toEqual({
      message: "Cannot import the model: the ONNX file is missing: send multipart/form-data with the ONNX file in `file` and the model id in `id`.",
    });
    const noId = await importHttp({}, "probe.onnx");
    expect(noId.status).toBe(400);
    expect((await noId.json()).message).toStartWith("Cannot import the model: the model id is missing");
    const badOverwrite = await importHttp({ id: "x/1", overwrite: "maybe" }, "probe.onnx");
    expect(badOverwrite.status).toBe(400);
    expect((await badOverwrite.json()).message).toContain("`overwrite` must be true or false");
    for (const id of ["../../x/1", "a/b/1", "x/latest"]) {
      const bad = await importHttp({ id }, "probe.onnx");
      expect(bad.status).toBe(400);
      expect((await bad.json()).message).toContain("invalid model id");
    }
    const garbage = await importHttp({ id: "garbage/1" }, "garbage.onnx");
    expect(garbage.status).toBe(400);
    const message = (await garbage.json()).message;
    expect(message).toContain("ONNX Runtime cannot load it");
    expect(message).not.toContain(tmpdir());
    const json = await server.post("/model/import", { id: "x/1" });
    expect(json.status).toBe(400);
    expect((await json.json()).message).toContain("the ONNX file is missing");
    const exists = await importHttp({ id: "http-probe/1" }, "probe.onnx");
    expect(exists.status).toBe(409);
    expect((await exists.json()).message).toContain("already exists");
  });

  test("overwrite=true replaces a loaded model: the next request serves the new package", async () => {
    // http-probe/1 is loaded (served above); replace it with the same weights under other names.
    const res = await importHttp({ id: "http-probe/1", overwrite: "true", classes: "uno,dos,tres" }, "probe.onnx");
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ replaced: true, class_names: ["uno", "dos", "tres"] });
    const body = await (
      await server.post("/infer/object_detection", { model_id: "http-probe/1", image: { type: "base64", value: await solidPng([153, 51, 217], 64, 64) } })
    ).json();
    expect(body.predictions.map((p: any) => p.class)).toEqual(["dos", "uno"]);
  });

  test("refuses a model whose arena could never be allocated with 400 naming MAX_ARENA_BYTES, at import and at load", async () => {
    const refused = await importHttp({ id: "huge-http/1" }, "huge-input.onnx");
    expect(refused.status).toBe(400);
    expect((await refused.json()).message).toMatch(/^Cannot import the model: .*MAX_ARENA_BYTES/);
    expect(existsSync(join(cache, "huge-http"))).toBe(false);
    // Imported where one slot per model is enough, then loaded by a server with the default slots.
    const cli = await importCliWith({ MAX_BATCH_SIZE: "1", ARENA_SLOTS: "1" }, files["huge-input.onnx"]!, "--id", "huge-cli/1");
    expect(cli.code).toBe(0);
    for (let attempt = 0; attempt < 2; attempt++) {
      const load = await server.post("/model/add", { model_id: "huge-cli/1" });
      expect(load.status).toBe(400);
      expect((await load.json()).message).toMatch(/^Model huge-cli\/1 cannot be loaded: .*MAX_ARENA_BYTES/);
    }
    expect(server.output()).not.toMatch(/\n\s+at\s/);
  }, 30_000);

  test("is documented in the OpenAPI document as a multipart upload", async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const operation = doc.paths["/model/import"].post;
    expect(Object.keys(operation.requestBody.content)).toContain("multipart/form-data");
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(["201", "400", "409"]));
  });
});

describe("an import killed half way", () => {
  /** Every file below `dir` (none when it does not exist). */
  const filesBelow = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name))
      : [];

  test("leaves nothing in the system temp folder, and the next import sweeps what it left in MODEL_CACHE_DIR", async () => {
    const temp = mkdtempSync(join(tmpdir(), "killed-import-temp-"));
    const killedCache = mkdtempSync(join(tmpdir(), "killed-import-cache-"));
    const env = { MODEL_CACHE_DIR: killedCache, TMPDIR: temp, ROBOFLOW_API_REQUEST_TIMEOUT: "1" };
    try {
      const first = await startServerProcess(env);
      const answer = fetch(`${first.url}/model/import`, { method: "POST", body: upload({ id: "killed/1" }, "yolov8n.onnx") }).catch(() => null);
      // Killed as soon as the upload is on disk, while the model is being inspected.
      const onDisk = () =>
        [...filesBelow(temp), ...filesBelow(killedCache)].some((path) => statSync(path, { throwIfNoEntry: false })?.size === readFileSync(files["yolov8n.onnx"]!).length);
      for (let waited = 0; !onDisk() && waited < 10_000; waited += 2) await Bun.sleep(2);
      expect(onDisk()).toBe(true);
      process.kill(first.pid, "SIGKILL");
      await first.stop();
      await answer;
      // (Other programs' files, such as a runtime's debug log, may be there: no ONNX file may.)
      expect(filesBelow(temp).filter((path) => path.endsWith(".onnx"))).toEqual([]);
      expect(existsSync(join(killedCache, "killed"))).toBe(false);
      // Two ROBOFLOW_API_REQUEST_TIMEOUTs later nothing is writing it any more: the next import removes it.
      await Bun.sleep(2_100);
      const second = await startServerProcess(env);
      try {
        expect((await fetch(`${second.url}/model/import`, { method: "POST", body: upload({ id: "after/1" }, "probe.onnx") })).status).toBe(201);
        expect(readdirSync(killedCache).sort()).toEqual([".downloads", "after"]);
        expect(filesBelow(join(killedCache, ".downloads"))).toEqual([]);
        expect(second.output()).toContain("left unfinished by an earlier process");
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(temp, { recursive: true, force: true });
      rmSync(killedCache, { recursive: true, force: true });
    }
  }, 60_000);
});

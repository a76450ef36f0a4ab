// Tests of model import's pure parts (planning a package from an ONNX inspection, its files, options) and of writing the package.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  importImageSize,
  importModel,
  packageFiles,
  parseClassList,
  parseImageSizeOption,
  planImport,
  taskFromOutputShapes,
  writeImportedPackage,
  type OnnxInspection,
} from "../../../src/models/import-model.ts";
import { readModelPackage } from "../../../src/models/package.ts";
import { PackageWriter, STAGING_DIR } from "../../../src/models/package-writer.ts";
import { parseModelId } from "../../../src/models/model-id.ts";
import { ultralyticsMetadata } from "../../fixtures/yolov8n.ts";

const COCO3 = ["person", "it's", 'say "hi"'];

function inspection(outputShapes: number[][], metadata: Record<string, string> = {}, overrides: Partial<OnnxInspection> = {}): OnnxInspection {
  return {
    inputs: [{ name: "images", elementType: "float32", shape: ["batch", 3, "height", "width"] }],
    outputs: outputShapes.map((_, i) => ({ name: `output${i}`, elementType: "float32", shape: ["batch"] })),
    metadata,
    outputShapes,
    imageSize: { width: 640, height: 640 },
    ...overrides,
  };
}

const ultralytics = (task: string, extra: Record<string, string> = {}) => ({ ...ultralyticsMetadata(COCO3, 640, "batch"), task, ...extra });

describe("planImport: keypoint and RF-DETR exports", () => {
  test("an Ultralytics pose export imports as keypoint detection, its keypoint count from kpt_shape, and writes keypoints_metadata.json", () => {
    const metadata = ultralytics("pose", { kpt_shape: "[17, 3]", description: "Ultralytics YOLOv8n-pose model trained on coco-pose.yaml" });
    const plan = planImport({ id: "pose/1" }, inspection([[4 + 3 + 51, 8400]], metadata));
    expect(plan).toMatchObject({ taskType: "keypoint-detection", modelType: "yolov8n-pose", keypointCount: 17, layout: { family: "yolov8-pose", numKeypoints: 17 } });
    const files = packageFiles(plan);
    const keypoints = JSON.parse(files["keypoints_metadata.json"]!);
    expect(keypoints).toHaveLength(3);
    expect(keypoints[2]).toMatchObject({ object_class_id: 2 });
    expect(Object.keys(keypoints[0].keypoints)).toHaveLength(17);
  });

  test("a pose export without kpt_shape is refused, naming the metadata it needs", () => {
    expect(() => planImport({ id: "pose/1" }, inspection([[58, 8400]], ultralytics("pose")))).toThrow(
      /keypoint model needs its keypoint count: the export has no usable `kpt_shape`/,
    );
  });

  test("an RF-DETR export is told from YOLO-NAS by its output names; its segmenter by its third, per-query mask output", () => {
    const names = (...outputs: string[]) => ({ outputs: outputs.map((name) => ({ name, elementType: "float32", shape: ["batch"] as (number | string)[] })) });
    const detector = planImport(
      { id: "rf/1", classNames: ["a", "b"] },
      inspection(
        [
          [300, 4],
          [300, 3],
        ],
        {},
        names("dets", "labels"),
      ),
    );
    expect(detector).toMatchObject({ taskType: "object-detection", modelType: "rfdetr-base", layout: { family: "rfdetr", numQueries: 300, numColumns: 3 } });
    expect(
      planImport(
        { id: "nas/1", classNames: ["a", "b", "c"] },
        inspection([
          [300, 4],
          [300, 3],
        ]),
      ),
    ).toMatchObject({ layout: { family: "yolonas" } });
    const segmenter = planImport(
      { id: "rfs/1", classNames: ["a", "b"] },
      inspection(
        [
          [200, 4],
          [200, 3],
          [200, 108, 108],
        ],
        {},
        names("dets", "labels", "masks"),
      ),
    );
    expect(segmenter).toMatchObject({ taskType: "instance-segmentation", layout: { family: "rfdetr-seg", maskHeight: 108 } });
  });
});

describe("planImport", () => {
  test("an Ultralytics detection export needs only an id: task, names and type come from its metadata", () => {
    const plan = planImport({ id: "my-det/1" }, inspection([[7, 8400]], ultralytics("detect", { description: "Ultralytics YOLO11n model trained on data.yaml" })));
    expect(plan).toMatchObject({
      modelId: { id: "my-det/1" },
      taskType: "object-detection",
      modelType: "yolov11n",
      weightsFile: "weights.onnx",
      classNames: COCO3,
      imageSize: { width: 640, height: 640 },
      layout: { family: "yolov8", numClasses: 3, numAnchors: 8400 },
      batch: { fixed: false, size: null },
    });
  });

  test("segmentation and classification exports", () => {
    const seg = planImport(
      { id: "seg/2" },
      inspection(
        [
          [4 + 3 + 32, 8400],
          [32, 160, 160],
        ],
        ultralytics("segment"),
      ),
    );
    expect(seg).toMatchObject({ taskType: "instance-segmentation", modelType: "yolov8-seg", weightsFile: "weights.onnx", layout: { family: "yolov8-seg" } });
    const cls = planImport({ id: "cls/3" }, inspection([[3]], ultralytics("classify", { description: "Ultralytics YOLOv8n-cls model" })));
    expect(cls).toMatchObject({ taskType: "classification", modelType: "yolov8n", weightsFile: "weights.onnx", layout: { family: "yolov8-cls", numClasses: 3 } });
  });

  test("a model without metadata needs its class names, and its task only when the outputs do not tell", () => {
    const bare = inspection([[25200, 8]]);
    expect(() => planImport({ id: "v5/1" }, bare)).toThrow(/Cannot import the model: the model has no class names \(no `names` metadata\); pass them \(--classes a,b,c\)/);
    const plan = planImport({ id: "v5/1", classNames: ["a", "b", "c"], modelType: "yolov5v6s" }, bare);
    expect(plan).toMatchObject({ taskType: "object-detection", modelType: "yolov5v6s", weightsFile: "yolov5s_weights.onnx", layout: { family: "yolov5", numAnchors: 25200 } });
    expect(() => planImport({ id: "x/1", classNames: ["a"] }, inspection([[1, 2, 3, 4, 5]]))).toThrow(
      /does not say its task.*do not tell; pass the task \(--task detect, segment or classify\)/,
    );
  });

  test("defaults the model type from the layout, and the weights file from the model type", () => {
    const names = { classNames: ["a", "b", "c"] };
    expect(
      planImport(
        { id: "a/1", ...names },
        inspection([
          [8400, 4],
          [8400, 3],
        ]),
      ),
    ).toMatchObject({ modelType: "yolonas", weightsFile: "weights.onnx", layout: { family: "yolonas" } });
    expect(planImport({ id: "a/1", ...names }, inspection([[300, 6]]))).toMatchObject({ modelType: "yolov10", layout: { family: "yolov10" } });
    expect(planImport({ id: "a/1", ...names, modelType: "yolo26s" }, inspection([[300, 6]]))).toMatchObject({ modelType: "yolo26s", layout: { family: "yolo26" } });
    expect(planImport({ id: "a/1", ...names }, inspection([[25200, 8]]))).toMatchObject({ modelType: "yolov5", weightsFile: "yolov5s_weights.onnx" });
    expect(planImport({ id: "a/1", ...names, task: "classify", modelType: "resnet50" }, inspection([[3]]))).toMatchObject({ weightsFile: "best.onnx" });
  });

  test("an Ultralytics YOLO26 description makes an end-to-end output uncapped", () => {
    const plan = planImport({ id: "e2e/1" }, inspection([[300, 6]], ultralytics("detect", { description: "Ultralytics YOLO26n model trained on coco.yaml" })));
    expect(plan).toMatchObject({ modelType: "yolo26n", layout: { family: "yolo26" } });
  });

  test("explicit options win over the metadata", () => {
    const plan = planImport({ id: "d/1", classNames: ["x", "y", "z"], task: "object-detection" }, inspection([[7, 100]], ultralytics("segment")));
    expect(plan).toMatchObject({ taskType: "object-detection", classNames: ["x", "y", "z"] });
  });

  test("outputs that fit no layout are refused with their shapes and the expected ones", () => {
    expect(() => planImport({ id: "d/1" }, inspection([[84, 8400]], ultralytics("detect")))).toThrow(
      /Cannot import the model: its outputs \[batch, 84, 8400\] fit no supported object-detection layout for 3 classes\. Expected detection outputs for 3 classes: YOLOv8 \[batch, 7/,
    );
    expect(() => planImport({ id: "d/1" }, inspection([[39, 8400]], ultralytics("segment")))).toThrow(/prototypes/);
  });

  test("a model type of another family than the outputs is refused", () => {
    expect(() => planImport({ id: "d/1", modelType: "yolov5s" }, inspection([[7, 8400]], ultralytics("detect")))).toThrow(
      /model type "yolov5s" is a yolov5 model, but the outputs \[batch, 7, 8400\] fit the yolov8 layout/,
    );
  });

  test("unknown and unsupported tasks, unreadable names, bad inputs and bad ids are refused with the reason", () => {
    expect(() => planImport({ id: "d/1" }, inspection([[7, 8400]], ultralytics("obb")))).toThrow(/task "obb" \(oriented bounding boxes\) is not supported/);
    expect(() => planImport({ id: "d/1", task: "track" }, inspection([[7, 8400]], ultralytics("detect")))).toThrow(/unknown task "track"/);
    expect(() => planImport({ id: "d/1" }, inspection([[7, 8400]], { task: "detect", names: "{0: 'a', 5: 'b'}" }))).toThrow(/keys must be the class ids.*pass the class names/);
    const nhwc = inspection([[7, 8400]], ultralytics("detect"), { inputs: [{ name: "images", elementType: "uint8", shape: [1, 640, 640, 3] }] });
    expect(() => planImport({ id: "d/1" }, nhwc)).toThrow(/first input must be float32 images \[batch, 3, height, width\]; it has images: uint8 \[1, 640, 640, 3\]/);
    for (const id of ["../etc/1", "a/../1", "a/b/1", "a/x", "/1", ".hidden/1", "a\\b/1"]) {
      expect(() => planImport({ id }, inspection([[7, 8400]], ultralytics("detect")))).toThrow(/invalid model id/);
    }
  });

  test("reports a fixed batch", () => {
    const fixed = inspection([[300, 6]], ultralytics("detect"), { inputs: [{ name: "images", elementType: "float32", shape: [1, 3, 640, 640] }] });
    expect(planImport({ id: "d/1" }, fixed).batch).toEqual({ fixed: true, size: 1 });
  });
});

describe("import options and sizes", () => {
  test("importImageSize: fixed input dims, else the asked size, else imgsz, else 640", () => {
    expect(importImageSize([1, 3, 320, 416], undefined, { imgsz: "[640, 640]" })).toEqual({ width: 416, height: 320 });
    expect(() => importImageSize([1, 3, 320, 320], { width: 640, height: 640 }, {})).toThrow(/fixed at 320x320.*640x640 was asked for/);
    expect(importImageSize(["b", 3, "h", "w"], { width: 512, height: 384 }, { imgsz: "[640, 640]" })).toEqual({ width: 512, height: 384 });
    expect(importImageSize(["b", 3, "h", "w"], undefined, { imgsz: "[480, 640]" })).toEqual({ width: 640, height: 480 });
    expect(importImageSize(["b", 3, "h", "w"], undefined, {})).toEqual({ width: 640, height: 640 });
    expect(() => importImageSize(["b", 3, "h", "w"], undefined, { imgsz: "huge" })).toThrow(/pass the input size \(--imgsz\)/);
  });

  test("parseClassList: comma-separated or a JSON array", () => {
    expect(parseClassList("a, b ,c")).toEqual(["a", "b", "c"]);
    expect(parseClassList('["a, b", "c"]')).toEqual(["a, b", "c"]);
    expect(() => parseClassList("a,,b")).toThrow(/class 1 has an empty name/);
    expect(() => parseClassList('["a", 1]')).toThrow(/JSON array of strings/);
    expect(() => parseClassList("[oops")).toThrow(/neither a comma-separated list nor a JSON array/);
  });

  test("parseImageSizeOption: one side or height,width", () => {
    expect(parseImageSizeOption("640")).toEqual({ width: 640, height: 640 });
    expect(parseImageSizeOption("480,640")).toEqual({ width: 640, height: 480 });
    expect(parseImageSizeOption("[480, 640]")).toEqual({ width: 640, height: 480 });
    expect(() => parseImageSizeOption("640x480")).toThrow(/imgsz "640x480" is not a size/);
  });

  test("taskFromOutputShapes", () => {
    expect(taskFromOutputShapes([[80]])).toBe("classification");
    expect(taskFromOutputShapes([[84, 8400]])).toBe("object-detection");
    expect(
      taskFromOutputShapes([
        [8400, 4],
        [8400, 80],
      ]),
    ).toBe("object-detection");
    expect(
      taskFromOutputShapes([
        [116, 8400],
        [32, 160, 160],
      ]),
    ).toBe("instance-segmentation");
    expect(taskFromOutputShapes([[17, 3, 8400]])).toBeNull();
  });
});

describe("package files and writing", () => {
  let cache: string;
  let weights: string;
  let writer: PackageWriter;
  beforeAll(() => {
    cache = mkdtempSync(join(tmpdir(), "import-model-"));
    weights = join(cache, "source.onnx");
    writeFileSync(weights, "not really onnx");
    writer = new PackageWriter({ modelCacheDir: cache, roboflowApiTimeoutMs: 120_000 });
  });
  /** Writes `plan`'s package through a staging directory, as importModel does. */
  const write = async (p: ReturnType<typeof plan>, overwrite: boolean) => {
    const staged = await writer.stage("import");
    try {
      return await writeImportedPackage(staged, cache, p, weights, overwrite);
    } finally {
      await staged.discard();
    }
  };
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  const plan = () => planImport({ id: "imported/4" }, inspection([[7, 8400]], ultralytics("detect"), { imageSize: { width: 512, height: 384 } }));

  test("packageFiles: Stretch to the input size, CLASS_MAP, class_names.txt and model_type.json", () => {
    const files = packageFiles(plan());
    expect(JSON.parse(files["environment.json"]!)).toEqual({
      PREPROCESSING: { "auto-orient": { enabled: true }, resize: { enabled: true, format: "Stretch to", width: 512, height: 384 } },
      CLASS_MAP: { "0": "person", "1": "it's", "2": 'say "hi"' },
    });
    expect(files["class_names.txt"]).toBe(`person\nit's\nsay "hi"\n`);
    expect(JSON.parse(files["model_type.json"]!)).toEqual({ project_task_type: "object-detection", model_type: "yolov8", model_id: "imported/4" });
  });

  test("writes a package the server reads back, refuses to overwrite it unless asked, then replaces it whole", async () => {
    const first = await write(plan(), false);
    expect(first.replaced).toBe(false);
    expect(first.dir).toBe(join(cache, "imported", "4"));
    const pkg = await readModelPackage(cache, parseModelId("imported/4"));
    expect(pkg).toMatchObject({ taskType: "object-detection", modelType: "yolov8", classNames: COCO3, weightsPath: join(first.dir, "weights.onnx") });
    expect(pkg.preprocessing.resize).toMatchObject({ method: "stretch", width: 512, height: 384 });
    expect(readFileSync(pkg.weightsPath, "utf8")).toBe("not really onnx");

    await expect(write(plan(), false)).rejects.toMatchObject({ status: 409, message: expect.stringContaining("already exists") });

    // Replaced by a YOLOv5 package: the old weights.onnx must not shadow yolov5s_weights.onnx.
    const v5 = planImport({ id: "imported/4", classNames: ["a", "b", "c"] }, inspection([[25200, 8]]));
    const second = await write(v5, true);
    expect(second.replaced).toBe(true);
    expect(readdirSync(second.dir).sort()).toEqual(["class_names.txt", "environment.json", "model_type.json", "yolov5s_weights.onnx"]);
    expect((await readModelPackage(cache, parseModelId("imported/4"))).modelType).toBe("yolov5");
    // No staging or retired directories are left behind.
    expect(readdirSync(join(cache, "imported"))).toEqual(["4"]);
    expect(readdirSync(join(cache, STAGING_DIR))).toEqual([]);
  });

  test("importModel refuses an existing id before inspecting the file", async () => {
    let inspected = false;
    const env = { cacheDir: cache, writer, inspect: async () => ((inspected = true), inspection([[7, 8400]], ultralytics("detect"))) };
    await expect(importModel(weights, { id: "imported/4" }, env)).rejects.toMatchObject({ status: 409 });
    expect(inspected).toBe(false);
    const result = await importModel(weights, { id: "fresh/1" }, env);
    expect(inspected).toBe(true);
    expect(existsSync(join(result.dir, "weights.onnx"))).toBe(true);
  });
});

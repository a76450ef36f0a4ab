// Tests of export metadata parsing: Ultralytics `names` (Python dict literals with every quoting and escape repr() writes), `imgsz`, `task`, `description`.
import { describe, expect, test } from "bun:test";
import { modelTypeFromDescription, parseClassNames, parseImageSize, parsePythonLiteral, parseTask } from "../../../src/models/export-metadata.ts";
import { ultralyticsMetadata } from "../../fixtures/yolov8n.ts";

describe("parseClassNames", () => {
  test("reads an Ultralytics dict literal in key order", () => {
    expect(parseClassNames("{0: 'person', 1: 'bicycle', 2: 'traffic light'}")).toEqual(["person", "bicycle", "traffic light"]);
    expect(parseClassNames("{1: 'b', 0: 'a'}")).toEqual(["a", "b"]);
  });

  test("reads repr()'s quoting: double quotes around a single quote, escaped quotes, backslashes", () => {
    expect(parseClassNames(`{0: "it's", 1: 'say "hi"', 2: 'both \\' and "', 3: 'back\\\\slash'}`)).toEqual(["it's", 'say "hi"', `both ' and "`, "back\\slash"]);
  });

  test("reads \\x, \\u, \\U, octal and control escapes, and non-ASCII text as is", () => {
    expect(parseClassNames(String.raw`{0: 'caf\xe9', 1: '\u00e9t\u00e9', 2: '\U0001F600', 3: 'tab\there', 4: '\101', 5: 'naïve 猫'}`)).toEqual([
      "café",
      "été",
      "😀",
      "tab\there",
      "A",
      "naïve 猫",
    ]);
  });

  test("keeps unknown escapes as Python does, and reads raw strings", () => {
    expect(parseClassNames(String.raw`['a\qb', r'c\d']`)).toEqual(["a\\qb", "c\\d"]);
  });

  test("round-trips the names our Ultralytics-style fixtures write", () => {
    const names = ["plain", "it's", 'say "hi"', `both ' and "`, "back\\slash", "ünïcødé", "comma, inside"];
    expect(parseClassNames(ultralyticsMetadata(names, 640, 1).names!)).toEqual(names);
  });

  test("reads lists, tuples, JSON and string keys, with trailing commas and free whitespace", () => {
    expect(parseClassNames("['a', 'b',]")).toEqual(["a", "b"]);
    expect(parseClassNames("('a', 'b')")).toEqual(["a", "b"]);
    expect(parseClassNames('{"0": "a", "1": "b"}')).toEqual(["a", "b"]);
    expect(parseClassNames('  {\n 0 : "a" ,\n 1:"b" }  ')).toEqual(["a", "b"]);
  });

  test("refuses what is not a contiguous list of names, saying why", () => {
    expect(() => parseClassNames("{0: 'a', 2: 'c'}")).toThrow(/keys must be the class ids 0\.\.1; found 2/);
    expect(() => parseClassNames("{}")).toThrow(/empty/);
    expect(() => parseClassNames("{0: 'a', 1: 5}")).toThrow(/entry 1 is not a string/);
    expect(() => parseClassNames("{0: ''}")).toThrow(/empty name/);
    expect(() => parseClassNames("{0: 'a\\nb'}")).toThrow(/line break/);
    expect(() => parseClassNames("{0: 'a'")).toThrow(/not a Python dict or list literal/);
    expect(() => parseClassNames("{0: 'unterminated}")).toThrow(/unterminated string/);
    expect(() => parseClassNames("'just a string'")).toThrow(/neither a dict nor a list/);
  });
});

describe("parsePythonLiteral", () => {
  test("reads numbers, booleans and None", () => {
    expect(parsePythonLiteral("[1, -2.5, 1e3, True, False, None]")).toEqual([1, -2.5, 1000, true, false, null]);
  });
});

describe("parseImageSize", () => {
  test("reads [height, width], a tuple or one side", () => {
    expect(parseImageSize("[640, 640]")).toEqual({ width: 640, height: 640 });
    expect(parseImageSize("[480, 640]")).toEqual({ width: 640, height: 480 });
    expect(parseImageSize("(320, 416)")).toEqual({ width: 416, height: 320 });
    expect(parseImageSize("512")).toEqual({ width: 512, height: 512 });
  });

  test("refuses anything else", () => {
    for (const bad of ["[640, 640, 3]", "[0, 640]", "[640.5, 640]", "'640'", "[]", "wide"]) expect(() => parseImageSize(bad)).toThrow(/imgsz/);
  });
});

describe("parseTask", () => {
  test("maps Ultralytics and Roboflow task names", () => {
    expect(parseTask("detect")).toBe("object-detection");
    expect(parseTask("segment")).toBe("instance-segmentation");
    expect(parseTask(" Classify ")).toBe("classification");
    expect(parseTask("object-detection")).toBe("object-detection");
    expect(parseTask("instance-segmentation")).toBe("instance-segmentation");
  });

  test("says which tasks are not served and which are unknown", () => {
    expect(parseTask("pose")).toBe("keypoint-detection");
    expect(() => parseTask("obb")).toThrow(/task "obb" \(oriented bounding boxes\) is not supported/);
    expect(() => parseTask("obb")).toThrow(/oriented bounding boxes/);
    expect(() => parseTask("depth")).toThrow(/unknown task "depth"; expected detect/);
  });
});

describe("modelTypeFromDescription", () => {
  test("reads the model an Ultralytics description names, in the reference's spelling", () => {
    expect(modelTypeFromDescription("Ultralytics YOLOv8n model trained on coco.yaml")).toBe("yolov8n");
    expect(modelTypeFromDescription("Ultralytics YOLO11s-seg model trained on coco.yaml")).toBe("yolov11s-seg");
    expect(modelTypeFromDescription("Ultralytics YOLO12m model")).toBe("yolov12m");
    expect(modelTypeFromDescription("Ultralytics YOLOv10n model trained on coco.yaml")).toBe("yolov10n");
    expect(modelTypeFromDescription("Ultralytics YOLO26n model trained on coco.yaml")).toBe("yolo26n");
    expect(modelTypeFromDescription("Ultralytics YOLOv8n-cls model trained on imagenet")).toBe("yolov8n");
  });

  test("is null for other descriptions", () => {
    expect(modelTypeFromDescription(undefined)).toBeNull();
    expect(modelTypeFromDescription("Synthetic detector")).toBeNull();
    expect(modelTypeFromDescription("Ultralytics RT-DETR model")).toBeNull();
  });
});

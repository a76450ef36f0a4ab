// Tests of keypoints: gathering triplets from an output, mapping them to the original image (docs/model-families.md §4.5), the response lists (§4.6) and keypoints_metadata.json (§4.1).
import { describe, expect, test } from "bun:test";
import type { RescaleGeometry } from "../../../src/vision/boxes.ts";
import { gatherKeypoints, keypointNamesOf, keypointPredictions, parseKeypointsMetadata, rescaleKeypoints } from "../../../src/vision/keypoints.ts";
import { allocateDetectionCandidates } from "../../../src/vision/nms.ts";

const stretch = (imageWidth: number, imageHeight: number, extra: Partial<RescaleGeometry> = {}): RescaleGeometry => ({
  inputWidth: 640,
  inputHeight: 640,
  imageWidth,
  imageHeight,
  resize: "stretch",
  staticCrop: null,
  ...extra,
});

describe("gatherKeypoints", () => {
  test("reads each candidate's triplets through the layout, in the order asked", () => {
    // Channel-major, 2 keypoints over 3 anchors after 5 leading rows: value v of anchor a at (5 + v) * 3 + a.
    const anchors = 3;
    const output = Float32Array.from({ length: (5 + 6) * anchors }, (_, i) => i);
    const candidates = allocateDetectionCandidates(2);
    candidates.row[0] = 2;
    candidates.row[1] = 0;
    const gathered = gatherKeypoints(output, { start: 5 * anchors, rowStep: 1, valueStep: anchors, keypoints: 2 }, candidates, Int32Array.of(1, 0));
    expect(Array.from(gathered)).toEqual([15, 18, 21, 24, 27, 30, 17, 20, 23, 26, 29, 32]);
  });
});

describe("rescaleKeypoints", () => {
  test("stretch: scales by the image over the input size, rounds half to even, keeps confidences", () => {
    // 1280x320 image: x * 2, y * 0.5.
    const keypoints = Float64Array.of(100.25, 101, 0.7, 0.25, 3, 0.1, 10, 5, 0.5);
    rescaleKeypoints(keypoints, stretch(1280, 320));
    expect(Array.from(keypoints)).toEqual([200, 50, 0.7, 0, 2, 0.1, 20, 2, 0.5]);
  });

  test("clips to the image before rounding", () => {
    const keypoints = Float64Array.of(-5, 700, 0.9, 641, -0.2, 0.8);
    rescaleKeypoints(keypoints, stretch(640, 480));
    expect(Array.from(keypoints)).toEqual([0, 480, 0.9, 640, 0, 0.8]);
  });

  test("letterbox: truncated resized size, (x - pad) / s", () => {
    // 1000x300 into 640: s = 0.64, int(300 * 0.64) = 192, pad_y = (640 - 192) / 2 = 224, pad_x = 0.
    const keypoints = Float64Array.of(320, 320, 1, 0, 224, 1, 640, 416, 1);
    rescaleKeypoints(keypoints, { ...stretch(1000, 300), resize: "letterbox" });
    expect(Array.from(keypoints)).toEqual([500, 150, 1, 0, 0, 1, 1000, 300, 1]);
  });

  test("letterbox truncates where boxes round: 333x500 into 640 pads x by 99.5, not 99", () => {
    // s = 1.28, 333 * 1.28 = 426.24 -> 426 (boxes: round -> 426 too); 500 -> 640. 334x500: 427.52 -> 427 (boxes 428).
    const keypoints = Float64Array.of(106.5 + 128, 0, 1);
    rescaleKeypoints(keypoints, { ...stretch(334, 500), resize: "letterbox" });
    // pad_x = (640 - 427) / 2 = 106.5; (234.5 - 106.5) / 1.28 = 100.
    expect(keypoints[0]).toBe(100);
  });

  test("static crop: sizes of the cropped region, then the shift", () => {
    // 1000x800 cropped to x 10..60 %, y 25..75 %: shift (100, 200), size 500x400, stretched from 640.
    const keypoints = Float64Array.of(320, 320, 0.3, 640, 640, 0.4);
    rescaleKeypoints(keypoints, stretch(1000, 800, { staticCrop: { xMin: 10, yMin: 25, xMax: 60, yMax: 75 } }));
    expect(Array.from(keypoints)).toEqual([350, 400, 0.3, 600, 600, 0.4]);
  });

  test("refuses values that are not whole triplets", () => {
    expect(() => rescaleKeypoints(new Float64Array(4), stretch(640, 640))).toThrow("not whole");
  });
});

describe("keypointPredictions", () => {
  const values = [10, 20, 0.9, 30, 40, 0.05, 50, 60, 0.5, 0, 0, 0];

  test("emits x, y, confidence, class_id, class in that order, named by index", () => {
    const predictions = keypointPredictions(values, ["nose", "left_eye", "right_eye", "chin"], 0);
    expect(predictions.map((p) => Object.keys(p))).toEqual(Array(4).fill(["x", "y", "confidence", "class_id", "class"]));
    expect(predictions[1]).toEqual({ x: 30, y: 40, confidence: 0.05, class_id: 1, class: "left_eye" });
    expect(predictions[3]).toEqual({ x: 0, y: 0, confidence: 0, class_id: 3, class: "chin" });
  });

  test("stops at the first keypoint without a name (padding of multi-class exports)", () => {
    expect(keypointPredictions(values, ["a", "b"], 0).map((p) => p.class)).toEqual(["a", "b"]);
  });

  test("skips keypoints below the threshold, keeping those exactly at it", () => {
    expect(keypointPredictions(values, ["a", "b", "c", "d"], 0.5).map((p) => p.class_id)).toEqual([0, 2]);
  });
});

describe("parseKeypointsMetadata", () => {
  const FILE = "/cache/pose/1/keypoints_metadata.json";

  test("reads names per class id, K_max, and edges given as pairs or as {from, to}", () => {
    const metadata = parseKeypointsMetadata(
      [
        {
          object_class_id: 0,
          object_class_name: "star",
          keypoints: { "1": "b", "0": "a", "2": "c" },
          edges: [
            [0, 2],
            [2, 1],
          ],
        },
        { object_class_id: 3, keypoints: { "0": "head", "1": "tail" }, edges: [{ from: 1, to: 0 }] },
      ],
      FILE,
    );
    expect(metadata.maxKeypoints).toBe(3);
    expect(metadata.classes.get(0)).toEqual({
      names: ["a", "b", "c"],
      edges: [
        [0, 2],
        [2, 1],
      ],
    });
    expect(metadata.classes.get(3)).toEqual({ names: ["head", "tail"], edges: [[1, 0]] });
    expect(keypointNamesOf(metadata, 3)).toEqual(["head", "tail"]);
    expect(() => keypointNamesOf(metadata, 1)).toThrow("keypoints_metadata.json has no entry for object class 1");
  });

  test("leaves out edges it cannot use instead of refusing the model", () => {
    const metadata = parseKeypointsMetadata(
      [
        { object_class_id: 0, keypoints: { "0": "a", "1": "b" }, edges: [[0, 5], [0, 1, 2], { from: "0", to: 1 }, [1, 0]] },
        { object_class_id: 1, keypoints: { "0": "a" }, edges: "none" },
      ],
      FILE,
    );
    expect(metadata.classes.get(0)!.edges).toEqual([[1, 0]]);
    expect(metadata.classes.get(1)!.edges).toEqual([]);
  });

  test("an empty list is no classes", () => {
    expect(parseKeypointsMetadata([], FILE)).toEqual({ classes: new Map(), maxKeypoints: 0 });
  });

  test.each([
    [{ object_class_id: 0 }, "is malformed: expected a JSON list"],
    [[3], "entry 0 is 3, not an object"],
    [[{ object_class_id: "0", keypoints: {} }], 'entry 0 has object_class_id "0", not a non-negative integer'],
    [[{ object_class_id: 0, keypoints: ["a"] }], "has keypoints a list, not an object of index -> name"],
    [[{ object_class_id: 0, keypoints: { "0": "a", "2": "c" } }], 'has keypoint key "2"; keys must be 0 … 1'],
    [[{ object_class_id: 0, keypoints: { "00": "a" } }], 'has keypoint key "00"'],
    [[{ object_class_id: 0, keypoints: { "0": 7 } }], "names keypoint 0 with 7, not a string"],
    [
      [
        { object_class_id: 1, keypoints: {} },
        { object_class_id: 1, keypoints: {} },
      ],
      "object_class_id 1 appears more than once",
    ],
  ])("names the file and the fault: %j", (raw, message) => {
    expect(() => parseKeypointsMetadata(raw, FILE)).toThrow(`${FILE} is malformed`);
    expect(() => parseKeypointsMetadata(raw, FILE)).toThrow(message);
  });
});

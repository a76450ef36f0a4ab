// Tests of keypoint drawing: OpenCV's filled circles at rounded positions in the class colour (docs/model-families.md §4.7), and our skeleton edges.
import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import type { Rgb } from "../../../src/vision/bitmap-font.ts";
import type { RgbImage } from "../../../src/vision/decode.ts";
import { drawKeypoints, drawPredictions } from "../../../src/vision/draw.ts";

const RED: Rgb = [255, 0, 0];

function blank(width: number, height: number): RgbImage {
  return { data: new Uint8Array(width * height * 3), width, height };
}

/** Rows of the image as strings: '#' where the pixel is red, '.' where it is black. */
function picture(image: RgbImage): string[] {
  return Array.from({ length: image.height }, (_, y) => Array.from({ length: image.width }, (_, x) => (image.data[(y * image.width + x) * 3] === 255 ? "#" : ".")).join(""));
}

describe("drawKeypoints", () => {
  test("radius 1 is OpenCV's plus sign, radius 0 a single pixel", () => {
    const image = blank(7, 5);
    drawKeypoints(image, [{ x: 1, y: 1, class_id: 0 }], [], 1, RED);
    drawKeypoints(image, [{ x: 5, y: 3, class_id: 0 }], [], 0, RED);
    expect(picture(image)).toEqual([".#.....", "###....", ".#.....", ".....#.", "......."]);
  });

  test("radius 3 follows OpenCV's midpoint circle", () => {
    const image = blank(9, 9);
    drawKeypoints(image, [{ x: 4, y: 4, class_id: 0 }], [], 3, RED);
    expect(picture(image)).toEqual([".........", "....#....", "..#####..", "..#####..", ".#######.", "..#####..", "..#####..", "....#....", "........."]);
  });

  test("positions round half to even, and circles are clipped at the image's edges", () => {
    const image = blank(5, 3);
    drawKeypoints(
      image,
      [
        { x: 0.5, y: 2.5, class_id: 0 },
        { x: 4.5, y: -0.4, class_id: 1 },
      ],
      [],
      1,
      RED,
    );
    // (0.5, 2.5) -> (0, 2); (4.5, -0.4) -> (4, 0).
    expect(picture(image)).toEqual(["...##", "#...#", "##..."]);
  });

  test("skeleton edges join the keypoints present, under the dots", () => {
    const image = blank(9, 5);
    const keypoints = [
      { x: 1, y: 2, class_id: 0 },
      { x: 7, y: 2, class_id: 2 },
    ];
    // Edge 0-2 is drawn; 0-1 and 1-2 name keypoint 1, which this prediction does not have.
    drawKeypoints(
      image,
      keypoints,
      [
        [0, 1],
        [0, 2],
        [1, 2],
      ],
      0,
      RED,
    );
    expect(picture(image)).toEqual([".........", ".........", ".#######.", ".........", "........."]);
  });

  test("a negative stroke width draws single pixels", () => {
    const image = blank(3, 3);
    drawKeypoints(image, [{ x: 1, y: 1, class_id: 0 }], [], -1, RED);
    expect(picture(image)).toEqual(["...", ".#.", "..."]);
  });
});

describe("drawPredictions with keypoints", () => {
  test("draws each prediction's keypoints in its class colour", async () => {
    const image = blank(64, 64);
    const jpeg = await drawPredictions(
      image,
      [
        {
          x: 32,
          y: 32,
          width: 40,
          height: 40,
          class: "star",
          class_id: 0,
          confidence: 0.9,
          keypoints: [
            { x: 20, y: 24, class_id: 0 },
            { x: 44, y: 40, class_id: 1 },
          ],
        },
      ],
      { colors: { star: "#00FF00" }, strokeWidth: 3, labels: false, skeletons: new Map([[0, [[0, 1]]]]) },
    );
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    const green = (x: number, y: number) => data[(y * info.width + x) * 3 + 1]!;
    // Dots at the keypoints, the edge between them, and nothing far from any drawing.
    expect(green(20, 24)).toBeGreaterThan(200);
    expect(green(44, 40)).toBeGreaterThan(200);
    expect(green(32, 32)).toBeGreaterThan(200);
    expect(green(40, 22)).toBeLessThan(40);
  });
});

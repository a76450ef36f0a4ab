// Tests of the OpenCV-compatible outer contour tracing (RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) and the reference's polygon choice.
// Expected vertices are worked by hand from OpenCV's border following (start at the first foreground
// pixel in raster order, go counter-clockwise on screen, i.e. down the left side first, keep the
// pixels where the direction changes) and agree with cv2.findContours (OpenCV 4.6) on every case.
import { describe, expect, test } from "bun:test";
import { findExternalContours, maskToPolygon } from "../../../src/vision/contours.ts";

/** A mask drawn as rows of text: "X" is foreground. */
function mask(...rows: string[]): [Uint8Array, number, number] {
  const width = rows[0]!.length;
  const data = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (data[y * width + x] = ch === "X" ? 255 : 0)));
  return [data, width, rows.length];
}

/** Contours as [x, y] pairs, for readable expectations. */
function contoursOf(...rows: string[]): number[][][] {
  return findExternalContours(...mask(...rows)).map((contour) => {
    const points: number[][] = [];
    for (let k = 0; k < contour.length; k += 2) points.push([contour[k]!, contour[k + 1]!]);
    return points;
  });
}

describe("findExternalContours", () => {
  test("a single pixel is a one-point contour at its own position (x = column, y = row)", () => {
    expect(contoursOf("....", "..X.", "....")).toEqual([[[2, 1]]]);
  });

  test("a horizontal line keeps its two end points: out along the line, back along the same pixels", () => {
    expect(contoursOf("......", "......", ".XXXX.", "......")).toEqual([
      [
        [1, 2],
        [4, 2],
      ],
    ]);
  });

  test("a vertical line keeps its two end points, top first", () => {
    expect(contoursOf(".X.", ".X.", ".X.", ".X.")).toEqual([
      [
        [1, 0],
        [1, 3],
      ],
    ]);
  });

  test("a rectangle gives its 4 corners, counter-clockwise on screen from the top-left: down the left side first", () => {
    expect(contoursOf("......", ".XXXX.", ".XXXX.", ".XXXX.", "......")).toEqual([
      [
        [1, 1],
        [1, 3],
        [4, 3],
        [4, 1],
      ],
    ]);
  });

  test("a one-pixel-thick L is walked around both of its sides, so the inner corner pixels are vertices too", () => {
    // Down the stem (0,0)→(0,2), right along the foot to (2,2), back left to (1,2), then diagonally up to (0,1).
    expect(contoursOf("X..", "X..", "XXX")).toEqual([
      [
        [0, 0],
        [0, 2],
        [2, 2],
        [1, 2],
        [0, 1],
      ],
    ]);
  });

  test("a thick L cuts its concave corner diagonally: the corner pixel itself is not a vertex", () => {
    // From (2,2) the next border pixel counter-clockwise is (1,1), so (1,2) is skipped.
    expect(contoursOf("XX...", "XX...", "XXXXX", "XXXXX")).toEqual([
      [
        [0, 0],
        [0, 3],
        [4, 3],
        [4, 2],
        [2, 2],
        [1, 1],
        [1, 0],
      ],
    ]);
  });

  test("a diagonal staircase keeps only the ends of each diagonal run", () => {
    expect(contoursOf("X..", ".X.", "..X")).toEqual([
      [
        [0, 0],
        [2, 2],
      ],
    ]);
    expect(contoursOf("..X", ".X.", "X..")).toEqual([
      [
        [2, 0],
        [0, 2],
      ],
    ]);
    // Up the right side (3,2)→(2,1)→(1,0) is one diagonal run.
    expect(contoursOf("XX..", "XXX.", ".XXX")).toEqual([
      [
        [0, 0],
        [0, 1],
        [1, 2],
        [3, 2],
        [1, 0],
      ],
    ]);
  });

  test("8-connected pixels are one shape: a plus sign's arms join diagonally", () => {
    expect(contoursOf(".X.", "XXX", ".X.")).toEqual([
      [
        [1, 0],
        [0, 1],
        [1, 2],
        [2, 1],
      ],
    ]);
  });

  test("separate shapes come out in reverse raster order of their first pixels, as OpenCV lists them", () => {
    expect(contoursOf("XX...", "XX...", ".....", "....X")).toEqual([
      [[4, 3]],
      [
        [0, 0],
        [0, 1],
        [1, 1],
        [1, 0],
      ],
    ]);
  });

  test("holes and shapes nested inside holes are not contours", () => {
    expect(contoursOf("XXXXX", "X...X", "X.X.X", "X...X", "XXXXX")).toEqual([
      [
        [0, 0],
        [0, 4],
        [4, 4],
        [4, 0],
      ],
    ]);
  });

  test("a shape to the right of another shape's hole, on the same rows, is still found", () => {
    expect(contoursOf("XXXXX..", "X...X..", "X...X.X", "X...X..", "XXXXX..")).toEqual([
      [[6, 2]],
      [
        [0, 0],
        [0, 4],
        [4, 4],
        [4, 0],
      ],
    ]);
  });

  test("shapes touching the mask's edges are traced as if the mask were padded with background", () => {
    expect(contoursOf("XXX", "XXX")).toEqual([
      [
        [0, 0],
        [0, 1],
        [2, 1],
        [2, 0],
      ],
    ]);
  });

  test("an empty mask has no contours", () => {
    expect(contoursOf("...", "...")).toEqual([]);
  });

  test("any non-zero value is foreground", () => {
    expect(findExternalContours(Uint8Array.of(0, 1, 0, 0, 127, 0), 3, 2).map((c) => Array.from(c))).toEqual([[1, 0, 1, 1]]);
  });

  test("a mask shorter than width × height is rejected", () => {
    expect(() => findExternalContours(new Uint8Array(5), 3, 2)).toThrow(RangeError);
  });
});

describe("maskToPolygon", () => {
  test("keeps the contour with the most vertices, not the largest area", () => {
    // A big square (4 vertices) and a small L (5 vertices): the L wins.
    const polygon = maskToPolygon(...mask("XXXX.....", "XXXX..X..", "XXXX..X..", "XXXX..XXX"));
    expect(Array.from(polygon)).toEqual([6, 1, 6, 3, 8, 3, 7, 3, 6, 2]);
  });

  test("on a tie keeps the first contour in OpenCV's order, which is the shape found last in raster order", () => {
    const polygon = maskToPolygon(...mask("XX...", "XX...", ".....", "...XX", "...XX"));
    expect(Array.from(polygon)).toEqual([3, 3, 3, 4, 4, 4, 4, 3]);
  });

  test("is empty when the mask is", () => {
    expect(maskToPolygon(...mask("....", "....")).length).toBe(0);
  });
});

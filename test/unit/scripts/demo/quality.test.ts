import { describe, expect, test } from "bun:test";
import { boxIou, maskIous, matchDetections, type Prediction } from "../../../../scripts/demo/quality.ts";
import { rasteriseRings } from "../../../../scripts/demo/raster.ts";
import { ownerMap, placedShape, sceneInstances, type Scene, type SceneSpec } from "../../../../scripts/demo/scenes.ts";

const prediction = (cls: string, x1: number, y1: number, x2: number, y2: number, confidence = 0.9): Prediction => ({
  class: cls,
  confidence,
  x: (x1 + x2) / 2,
  y: (y1 + y2) / 2,
  width: x2 - x1,
  height: y2 - y1,
});

describe("matchDetections", () => {
  const shapes = [
    { className: "circle", box: [0, 0, 10, 10] as [number, number, number, number] },
    { className: "square", box: [20, 0, 30, 10] as [number, number, number, number] },
  ];

  test("matches a box of the right class at IoU >= 0.5", () => {
    const result = matchDetections(shapes, [prediction("circle", 0, 0, 10, 12), prediction("square", 20, 0, 30, 10)]);
    expect(result.matches.map((m) => [m.instance, m.prediction])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(result.falsePositives).toBe(0);
    expect(result.falseNegatives).toBe(0);
  });

  test("counts a box of the wrong class, or too far off, as a false positive and its shape as missed", () => {
    expect(matchDetections(shapes, [prediction("square", 0, 0, 10, 10)])).toMatchObject({ falsePositives: 1, falseNegatives: 2 });
    expect(matchDetections(shapes, [prediction("circle", 5, 5, 15, 15)])).toMatchObject({ falsePositives: 1, falseNegatives: 2 });
  });

  test("lets the most confident of two boxes on one shape take it; the other is a false positive", () => {
    const result = matchDetections(shapes, [prediction("circle", 0, 0, 10, 11, 0.5), prediction("circle", 1, 1, 10, 10, 0.8)]);
    expect(result.matches).toEqual([{ instance: 0, prediction: 1, iou: boxIou([1, 1, 10, 10], [0, 0, 10, 10]) }]);
    expect(result.falsePositives).toBe(1);
  });
});

describe("maskIous", () => {
  const spec: SceneSpec = {
    width: 200,
    height: 200,
    background: { kind: "solid", colour: "#000000" },
    texture: null,
    noise: 0,
    blur: 0,
    jpegQuality: 90,
    shapes: [placedShape(3, 100, 100, 120, 1, { style: "filled", colour: "#ffffff", strokeWidth: 0 })],
  };
  const owner = ownerMap(spec);
  const scene: Scene = { spec, owner, jpeg: new Uint8Array(), instances: sceneInstances(spec, owner) };
  const outline = spec.shapes[0]!.rings[0]!;
  const polygon = Array.from({ length: outline.length / 2 }, (_, k) => ({ x: outline[2 * k]!, y: outline[2 * k + 1]! }));

  test("scores a hex nut's outline as a perfect polygon; against the exact mask the hole counts as a miss", () => {
    const ious = maskIous(scene, 0, polygon);
    expect(ious.outline).toBe(1);
    const insideOutline = rasteriseRings([outline], spec.width, spec.height).reduce((sum, v) => sum + v, 0);
    const nut = owner.reduce((sum, v) => sum + (v === 1 ? 1 : 0), 0);
    expect(ious.exact).toBeCloseTo(nut / insideOutline, 6);
    expect(ious.exact).toBeLessThan(0.95);
  });

  test("scores an empty polygon 0", () => {
    expect(maskIous(scene, 0, [])).toEqual({ outline: 0, exact: 0 });
  });
});

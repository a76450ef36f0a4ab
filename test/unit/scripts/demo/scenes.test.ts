import { describe, expect, test } from "bun:test";
import {
  classificationSceneSpec,
  detectionSceneSpec,
  HELD_OUT_SEED_BASE,
  hullArea,
  MAX_BLOB_SOLIDITY,
  ownerMap,
  renderDetectionScene,
  ringArea,
  sceneInstances,
  SHAPE_CLASSES,
} from "../../../../scripts/demo/scenes.ts";

describe("detection scenes", () => {
  test("are a function of their seed, down to the JPEG bytes", async () => {
    const [a, b] = [await renderDetectionScene(12), await renderDetectionScene(12)];
    expect(a.spec).toEqual(b.spec);
    expect(Buffer.from(a.jpeg).equals(Buffer.from(b.jpeg))).toBe(true);
    expect(detectionSceneSpec(13)).not.toEqual(a.spec);
  });

  test("keep shapes inside the image, between 20 and 300 px, and mostly visible", () => {
    for (let seed = HELD_OUT_SEED_BASE; seed < HELD_OUT_SEED_BASE + 30; seed++) {
      const spec = detectionSceneSpec(seed);
      const owner = ownerMap(spec);
      const instances = sceneInstances(spec, owner);
      expect(spec.shapes.length).toBeGreaterThan(0);
      for (const instance of instances) {
        const [x1, y1, x2, y2] = instance.box;
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x2).toBeLessThanOrEqual(spec.width);
        expect(y2).toBeLessThanOrEqual(spec.height);
        expect(Math.max(x2 - x1, y2 - y1)).toBeGreaterThanOrEqual(14);
        expect(Math.max(x2 - x1, y2 - y1)).toBeLessThanOrEqual(300 * Math.SQRT2);
      }
    }
  });

  test("label each shape with the bounds of the pixels it owns, a hex nut's hole excluded", () => {
    const seed = Array.from({ length: 200 }, (_, i) => i).find((s) => detectionSceneSpec(s).shapes.some((shape) => shape.classId === 3))!;
    const spec = detectionSceneSpec(seed);
    const owner = ownerMap(spec);
    for (const instance of sceneInstances(spec, owner)) {
      let inside = 0;
      for (let y = instance.box[1]; y < instance.box[3]; y++)
        for (let x = instance.box[0]; x < instance.box[2]; x++) if (owner[y * spec.width + x] === instance.shape + 1) inside++;
      const all = owner.reduce((sum, v) => sum + (v === instance.shape + 1 ? 1 : 0), 0);
      expect(inside).toBe(all);
      if (instance.className === "hex-nut") {
        const [x1, y1, x2, y2] = instance.box;
        expect(owner[Math.floor((y1 + y2) / 2) * spec.width + Math.floor((x1 + x2) / 2)]).not.toBe(instance.shape + 1);
      }
    }
  });
});

describe("classification scenes", () => {
  test("hold one shape near the centre, every class appearing", () => {
    const classes = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const spec = classificationSceneSpec(seed);
      expect(spec.shapes).toHaveLength(1);
      const ring = spec.shapes[0]!.rings[0]!;
      const xs = ring.filter((_, k) => k % 2 === 0);
      const ys = ring.filter((_, k) => k % 2 === 1);
      expect(Math.abs((Math.min(...xs) + Math.max(...xs)) / 2 - spec.width / 2)).toBeLessThan(0.1 * Math.min(spec.width, spec.height));
      expect(Math.abs((Math.min(...ys) + Math.max(...ys)) / 2 - spec.height / 2)).toBeLessThan(0.1 * Math.min(spec.width, spec.height));
      classes.add(spec.shapes[0]!.classId);
    }
    expect(classes.size).toBe(SHAPE_CLASSES.length);
  });
});

describe("shapes", () => {
  test("measure polygon and convex hull areas", () => {
    const square = [0, 0, 4, 0, 4, 4, 0, 4];
    expect(ringArea(square)).toBe(16);
    expect(hullArea(square)).toBe(16);
    // An L: three of the square's four quarters.
    const l = [0, 0, 4, 0, 4, 2, 2, 2, 2, 4, 0, 4];
    expect(ringArea(l)).toBe(12);
    expect(hullArea(l)).toBe(14);
  });

  test("give every blob a dent, and leave the other classes convex", () => {
    for (let seed = 0; seed < 60; seed++) {
      for (const shape of detectionSceneSpec(seed).shapes) {
        const solidity = ringArea(shape.rings[0]!) / hullArea(shape.rings[0]!);
        if (SHAPE_CLASSES[shape.classId] === "blob") expect(solidity).toBeLessThanOrEqual(MAX_BLOB_SOLIDITY);
        else expect(solidity).toBeGreaterThan(0.99);
      }
    }
  });
});

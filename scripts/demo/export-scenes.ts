// Writes the demo models' training scenes for scripts/demo/train.py, each one as the server will see it: the
// JPEG decoded and stretched to the model's input size by the server's own code (src/vision), labels alongside.
//   bun scripts/demo/export-scenes.ts <dir> [--detect N] [--classify N] [--detect-size 320] [--classify-size 128]
// <dir>/detect:   images.u8 (N x S x S x 3, RGB), masks.u8 (N x S/4 x S/4: 0 background, k = instance k-1), labels.json
// <dir>/classify: images.u8 (N x C x C x 3, RGB), labels.json (class ids)
// Seeds 0..N-1 of each stream (scenes.ts); held-out scenes start at HELD_OUT_SEED_BASE, far above.
import { existsSync } from "node:fs";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "../../src/vision/decode.ts";
import { resizeRgb } from "../../src/vision/resize.ts";
import { HELD_OUT_SEED_BASE, renderClassificationScene, renderDetectionScene, SHAPE_CLASSES, type Scene } from "./scenes.ts";

/** Model masks are a quarter of the input side, as YOLOv8-seg's prototypes are. */
const MASK_RATIO = 4;

/** The owner map at mask resolution: each cell takes the value (background or instance) covering most of its pixels. */
export function downsampleOwner(scene: Scene, side: number, instanceOf: Map<number, number>): Uint8Array {
  const { width, height } = scene.spec;
  const values = scene.spec.shapes.length + 1;
  const counts = new Uint32Array(side * side * values);
  for (let y = 0, i = 0; y < height; y++) {
    const row = Math.floor(((y + 0.5) * side) / height) * side;
    for (let x = 0; x < width; x++, i++) counts[(row + Math.floor(((x + 0.5) * side) / width)) * values + scene.owner[i]!]!++;
  }
  const mask = new Uint8Array(side * side);
  for (let cell = 0; cell < side * side; cell++) {
    let best = 0;
    for (let v = 1; v < values; v++) if (counts[cell * values + v]! > counts[cell * values + best]!) best = v;
    mask[cell] = best === 0 ? 0 : (instanceOf.get(best - 1) ?? -1) + 1;
  }
  return mask;
}

async function modelInput(jpeg: Uint8Array, side: number): Promise<Uint8Array> {
  return resizeRgb(await decodeImage(jpeg, { autoOrient: true }), side, side).data;
}

/** Appends scenes [start, count) to the pack files; labels.json is rewritten every 200 scenes, so an interrupted export resumes. */
async function exportDetection(dir: string, count: number, side: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const labelsPath = join(dir, "labels.json");
  const labels: unknown[] = existsSync(labelsPath) ? JSON.parse(await readFile(labelsPath, "utf8")).scenes : [];
  const maskSide = side / MASK_RATIO;
  const images = await open(join(dir, "images.u8"), labels.length === 0 ? "w" : "r+");
  const masks = await open(join(dir, "masks.u8"), labels.length === 0 ? "w" : "r+");
  const save = () => writeFile(labelsPath, JSON.stringify({ size: side, maskSize: maskSide, classes: SHAPE_CLASSES, scenes: labels }));
  const resumedAt = labels.length;
  const started = performance.now();
  for (let seed = labels.length; seed < count; seed++) {
    const scene = await renderDetectionScene(seed);
    const { width, height } = scene.spec;
    // Instances keep the drawing order; shapes with no visible pixel have no instance.
    const instanceOf = new Map(scene.instances.map((instance, k) => [instance.shape, k]));
    await images.write(await modelInput(scene.jpeg, side), 0, side * side * 3, seed * side * side * 3);
    await masks.write(downsampleOwner(scene, maskSide, instanceOf), 0, maskSide * maskSide, seed * maskSide * maskSide);
    labels.push({
      seed,
      width,
      height,
      instances: scene.instances.map((instance) => [instance.classId, instance.box[0] / width, instance.box[1] / height, instance.box[2] / width, instance.box[3] / height]),
    });
    if (labels.length % 200 === 0 || seed === count - 1) {
      await save();
      console.log(`detect ${labels.length}/${count} (${((performance.now() - started) / (labels.length - resumedAt) / 1000).toFixed(2)} s/scene)`);
    }
  }
  await images.close();
  await masks.close();
  if (labels.length >= count) await save();
}

async function exportClassification(dir: string, count: number, side: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const labelsPath = join(dir, "labels.json");
  const labels: number[] = existsSync(labelsPath) ? JSON.parse(await readFile(labelsPath, "utf8")).classIds : [];
  const images = await open(join(dir, "images.u8"), labels.length === 0 ? "w" : "r+");
  const save = () => writeFile(labelsPath, JSON.stringify({ size: side, classes: SHAPE_CLASSES, classIds: labels }));
  for (let seed = labels.length; seed < count; seed++) {
    const scene = await renderClassificationScene(seed);
    await images.write(await modelInput(scene.jpeg, side), 0, side * side * 3, seed * side * side * 3);
    labels.push(scene.classId);
    if (labels.length % 500 === 0 || seed === count - 1) {
      await save();
      console.log(`classify ${labels.length}/${count}`);
    }
  }
  await images.close();
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      detect: { type: "string", default: "2400" },
      classify: { type: "string", default: "5000" },
      "detect-size": { type: "string", default: "320" },
      "classify-size": { type: "string", default: "128" },
    },
  });
  const out = positionals[0];
  if (!out) throw new Error("usage: bun scripts/demo/export-scenes.ts <dir> [--detect N] [--classify N] [--detect-size 320] [--classify-size 128]");
  const detectCount = Number(values.detect);
  const classifyCount = Number(values.classify);
  if (detectCount + classifyCount > HELD_OUT_SEED_BASE) throw new Error(`training seeds must stay below ${HELD_OUT_SEED_BASE}`);
  // A count of 0 leaves that task's files alone (so the two can be exported by two processes at once).
  if (classifyCount > 0) await exportClassification(join(out, "classify"), classifyCount, Number(values["classify-size"]));
  if (detectCount > 0) await exportDetection(join(out, "detect"), detectCount, Number(values["detect-size"]));
}

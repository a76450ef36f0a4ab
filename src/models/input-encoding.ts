// Input encoding: how a model's arena slots hold its input, and what a session that reads pixels must do to them
// (docs/compatibility.md §4.1).
//
// The reference hands the model float32 CHW tensors. Stored as such, one 640x640 image takes 4.9 MB of arena. A model
// rewritten to take pixels (onnx/pixel-input.ts) converts them itself, so a slot can hold them in fewer bytes, as long
// as nothing the reference computes is lost: the letterbox resizes 8-bit images, so its 8-bit pixels are exact; "Stretch
// to" resizes in float, so its pixels need a fraction of a level (16 bits, 8.8 fixed point) unless INPUT_ENCODING=uint8
// trades that for half the bytes again.
import type { Normalisation } from "../vision/resize.ts";
import type { ResizeMethod } from "../vision/preprocess-config.ts";
import { familySelectedBy } from "./families/table.ts";
import type { ModelPackage } from "./package.ts";
import { TASK_TYPES, type TaskType } from "./task.ts";

/** What a slot's input holds: the model's float32 tensor, or CHW pixels in 8 bits or 8.8 fixed point. */
export type InputElement = "float32" | "uint8" | "uint16";

/** INPUT_ENCODING: "compact" (exact: uint8 for the letterbox, uint16 for Stretch to), "uint8" everywhere, or "float32". */
export type InputEncodingSetting = "compact" | "uint8" | "float32";

/** What a pixel-input session is built for: the element it reads and the normalisation it applies. */
export interface PixelEncoding extends Normalisation {
  element: "uint8" | "uint16";
}

/** One 8-bit level in each pixel element: 1 for uint8, 256 for uint16 (8.8 fixed point). */
export const LEVEL_SCALE: Record<PixelEncoding["element"], number> = { uint8: 1, uint16: 256 };

/**
 * The pixel encoding a model with this input and resize method gets under `setting`, or null for float32 inputs: a
 * family that normalises before resizing (RF-DETR) cannot take resized pixels.
 */
export function pixelEncodingFor(setting: InputEncodingSetting, input: Normalisation & { normalisesBeforeResizing?: boolean }, resize: ResizeMethod): PixelEncoding | null {
  if (setting === "float32" || input.normalisesBeforeResizing) return null;
  const element = setting === "uint8" || resize === "letterbox" ? "uint8" : "uint16";
  return { element, mean: [input.mean[0], input.mean[1], input.mean[2]], std: [input.std[0], input.std[1], input.std[2]] };
}

/**
 * pixelEncodingFor as far as a package tells before any session exists: the family its model type names, else the
 * plain 0-1 scaling of every detection-like family. The session's outputs have the last word (ModelHost loads again
 * when they name a family that normalises otherwise).
 */
export function expectedPixelEncoding(setting: InputEncodingSetting, pkg: ModelPackage): PixelEncoding | null {
  const task = TASK_TYPES.includes(pkg.taskType as TaskType) ? (pkg.taskType as TaskType) : null;
  const family = task ? familySelectedBy(task, pkg.modelType) : null;
  const input = family
    ? { ...family.normalisation(pkg.modelType), normalisesBeforeResizing: family.normalisesBeforeResizing }
    : { mean: [0, 0, 0] as const, std: [1, 1, 1] as const };
  return pixelEncodingFor(setting, input, pkg.preprocessing.resize.method);
}

/** Whether two encodings are the same (null: float32 inputs). */
export function sameEncoding(a: PixelEncoding | null, b: PixelEncoding | null): boolean {
  if (a === null || b === null) return a === b;
  return a.element === b.element && a.mean.every((m, c) => m === b.mean[c]) && a.std.every((s, c) => s === b.std[c]);
}

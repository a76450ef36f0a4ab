// The model's PREPROCESSING settings (environment.json), parsed once into what preprocessing needs.

export type ContrastMethod = "Contrast Stretching" | "Histogram Equalization" | "Adaptive Equalization";

export type ResizeMethod = "stretch" | "letterbox";

/** Static crop bounds in percent of the decoded image's width/height. */
export interface StaticCrop {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

export interface ResizeConfig {
  method: ResizeMethod;
  /** Letterbox padding colour (R, G, B): black 0, grey 114, white 255. */
  padRgb: [number, number, number];
  /** PREPROCESSING.resize.width/height, used when the model's input size is symbolic. */
  width?: number;
  height?: number;
}

export interface PreprocessConfig {
  /** The `auto-orient` key is present (like the reference, its `enabled` value is not read). */
  autoOrient: boolean;
  /** Present and enabled. */
  staticCrop: StaticCrop | null;
  /** Present and enabled. */
  contrast: ContrastMethod | null;
  /** Present and enabled. */
  grayscale: boolean;
  resize: ResizeConfig;
}

const CONTRAST_METHODS: readonly ContrastMethod[] = ["Contrast Stretching", "Histogram Equalization", "Adaptive Equalization"];

type Rgb = readonly [number, number, number];

const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [114, 114, 114];
const WHITE: Rgb = [255, 255, 255];

/**
 * Resize formats the reference knows (docs/compatibility.md §3.2): three letterbox colours; the other Roboflow
 * letterbox-like formats are served as black edges; anything else is a stretch.
 */
const LETTERBOX_PADDING: ReadonlyMap<string, Rgb> = new Map<string, Rgb>([
  ["Fit (black edges) in", BLACK],
  ["Fit (grey edges) in", GREY],
  ["Fit (white edges) in", WHITE],
  ["Fit (reflect edges) in", BLACK],
  ["Fit within", BLACK],
  ["Fill (with center crop) in", BLACK],
]);

/** Parses environment.json's PREPROCESSING (an object or a JSON string of one); throws Error when it is unusable. */
export function parsePreprocessing(raw: unknown): PreprocessConfig {
  const settings = preprocessingObject(raw);
  return {
    autoOrient: "auto-orient" in settings,
    staticCrop: isEnabled(settings, "static-crop") ? staticCrop(settings["static-crop"] as Record<string, unknown>) : null,
    contrast: isEnabled(settings, "contrast") ? contrastMethod(settings["contrast"] as Record<string, unknown>) : null,
    grayscale: isEnabled(settings, "grayscale"),
    resize: resizeConfig(settings["resize"]),
  };
}

function preprocessingObject(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null) throw new Error("PREPROCESSING is missing from environment.json.");
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error("PREPROCESSING in environment.json is a string that is not valid JSON.");
    }
  }
  if (!isObject(value)) throw new Error("PREPROCESSING in environment.json must be an object (or a JSON string of one).");
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The reference's `key in preproc and preproc[key]["enabled"]`, with Python truthiness. */
function isEnabled(settings: Record<string, unknown>, key: string): boolean {
  if (!(key in settings)) return false;
  const step = settings[key];
  if (!isObject(step) || !("enabled" in step)) throw new Error(`PREPROCESSING["${key}"] must be an object with an "enabled" key.`);
  return isTruthy(step["enabled"]);
}

function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

function staticCrop(step: Record<string, unknown>): StaticCrop {
  const bound = (key: string): number => {
    const value = step[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(`PREPROCESSING["static-crop"].${key} must be a number (percent of the image).`);
    }
    return value;
  };
  return { xMin: bound("x_min"), yMin: bound("y_min"), xMax: bound("x_max"), yMax: bound("y_max") };
}

function contrastMethod(step: Record<string, unknown>): ContrastMethod {
  const type = step["type"];
  const method = CONTRAST_METHODS.find((known) => known === type);
  if (method === undefined) {
    throw new Error(`PREPROCESSING["contrast"].type ${JSON.stringify(type)} is not one of ${CONTRAST_METHODS.join(", ")}.`);
  }
  return method;
}

function resizeConfig(step: unknown): ResizeConfig {
  // Like the reference's `if preproc.get("resize")`: an absent or empty resize means stretch.
  if (!isObject(step) || !isTruthy(step)) return { method: "stretch", padRgb: [...BLACK] };
  const format = step["format"] ?? "Stretch to";
  const padding = typeof format === "string" ? LETTERBOX_PADDING.get(format) : undefined;
  const config: ResizeConfig = padding ? { method: "letterbox", padRgb: [...padding] } : { method: "stretch", padRgb: [...BLACK] };
  const width = step["width"];
  const height = step["height"];
  if (isPositiveInteger(width)) config.width = width;
  if (isPositiveInteger(height)) config.height = height;
  return config;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

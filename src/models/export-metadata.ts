// Export metadata: what an exported ONNX model's metadata_props say (Ultralytics `names` as a Python dict literal, `imgsz`, `task`, `description`).
import type { TaskType } from "./task.ts";

/** Metadata that cannot be read: the message says which key and why. */
export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetadataError";
  }
}

/** Square or rectangular model input size in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

const SIMPLE_ESCAPES: Record<string, string> = { "\\": "\\", "'": "'", '"': '"', n: "\n", r: "\r", t: "\t", a: "\x07", b: "\b", f: "\f", v: "\v" };

/** Reads Python literals: dicts, lists, tuples, str (every escape repr() writes), int, float, True/False/None. */
class PythonLiteralReader {
  private at = 0;

  constructor(private readonly text: string) {}

  read(): unknown {
    const value = this.value();
    this.space();
    if (this.at < this.text.length) this.fail("unexpected text after the value");
    return value;
  }

  private fail(what: string): never {
    throw new MetadataError(`${what} at character ${this.at + 1}`);
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private value(): unknown {
    this.space();
    const c = this.text[this.at];
    if (c === undefined) this.fail("unexpected end");
    if (c === "{") return this.dict();
    if (c === "[") return this.sequence("]");
    if (c === "(") return this.sequence(")");
    if (c === "'" || c === '"') return this.string();
    if (/[rRuU]/.test(c) && /['"]/.test(this.text[this.at + 1] ?? "")) return this.string();
    const word = /^(True|False|None)\b/.exec(this.text.slice(this.at));
    if (word) {
      this.at += word[1]!.length;
      return word[1] === "True" ? true : word[1] === "False" ? false : null;
    }
    const number = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(this.text.slice(this.at));
    if (number) {
      this.at += number[0].length;
      return Number(number[0]);
    }
    this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  private dict(): Map<unknown, unknown> {
    const entries = new Map<unknown, unknown>();
    this.at++;
    for (;;) {
      this.space();
      if (this.text[this.at] === "}") {
        this.at++;
        return entries;
      }
      const key = this.value();
      this.space();
      if (this.text[this.at] !== ":") this.fail("expected ':'");
      this.at++;
      entries.set(key, this.value());
      this.space();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== "}") this.fail("expected ',' or '}'");
    }
  }

  private sequence(close: "]" | ")"): unknown[] {
    const items: unknown[] = [];
    this.at++;
    for (;;) {
      this.space();
      if (this.text[this.at] === close) {
        this.at++;
        return items;
      }
      items.push(this.value());
      this.space();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private string(): string {
    let raw = false;
    while (/[rRuU]/.test(this.text[this.at]!)) raw ||= /[rR]/.test(this.text[this.at++]!);
    const quote = this.text[this.at++]!;
    let out = "";
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) this.fail("unterminated string");
      if (c === quote) return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.at++];
      if (e === undefined) this.fail("unterminated string");
      if (raw) {
        out += `\\${e}`;
      } else if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
      } else if (e === "\n") {
        // A backslash-newline continues the line.
      } else if (e === "x" || e === "u" || e === "U") {
        const digits = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = this.text.slice(this.at, this.at + digits);
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) this.fail(`bad \\${e} escape`);
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) this.fail(`bad \\${e} escape`);
        out += String.fromCodePoint(code);
        this.at += digits;
      } else if (/[0-7]/.test(e)) {
        let octal = e;
        while (octal.length < 3 && /[0-7]/.test(this.text[this.at] ?? "")) octal += this.text[this.at++];
        out += String.fromCodePoint(parseInt(octal, 8));
      } else {
        // Python keeps unknown escapes as they are, backslash included.
        out += `\\${e}`;
      }
    }
  }
}

/** Parses one Python literal (as repr() writes it); dicts become Maps (keys keep their type). */
export function parsePythonLiteral(text: string): unknown {
  return new PythonLiteralReader(text).read();
}

/**
 * Class names from an export's `names`: a Python dict literal `{0: 'person', 1: "it's"}` (Ultralytics),
 * a list literal `['person', 'car']`, or the same in JSON. Dict keys must be the integers 0..n-1
 * (in any order; string keys holding integers are accepted); names must be non-empty strings.
 */
export function parseClassNames(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = parsePythonLiteral(text.trim());
  } catch (error) {
    throw new MetadataError(`\`names\` is not a Python dict or list literal: ${(error as Error).message}`);
  }
  let names: unknown[];
  if (Array.isArray(parsed)) {
    names = parsed;
  } else if (parsed instanceof Map) {
    names = new Array(parsed.size);
    for (const [key, value] of parsed) {
      const index = typeof key === "number" ? key : typeof key === "string" && /^\d+$/.test(key) ? Number(key) : NaN;
      if (!Number.isInteger(index) || index < 0 || index >= parsed.size) {
        throw new MetadataError(`\`names\` keys must be the class ids 0..${parsed.size - 1}; found ${JSON.stringify(key)}`);
      }
      names[index] = value;
    }
  } else {
    throw new MetadataError("`names` is neither a dict nor a list");
  }
  if (names.length === 0) throw new MetadataError("`names` is empty");
  return names.map((name, i) => {
    if (typeof name !== "string") throw new MetadataError(`\`names\` entry ${i} is not a string`);
    return validateClassName(name, i);
  });
}

/** A class name usable in class_names.txt (one name per line): non-empty, no line breaks. */
export function validateClassName(name: string, index: number): string {
  if (name.length === 0) throw new MetadataError(`class ${index} has an empty name`);
  if (/[\r\n]/.test(name)) throw new MetadataError(`class ${index} (${JSON.stringify(name)}) has a line break in its name`);
  return name;
}

/** An export's `imgsz`: `[h, w]` (Ultralytics order), `(h, w)` or a single side. */
export function parseImageSize(text: string): ImageSize {
  let parsed: unknown;
  try {
    parsed = parsePythonLiteral(text.trim());
  } catch (error) {
    throw new MetadataError(`\`imgsz\` is not a size: ${(error as Error).message}`);
  }
  const sides = Array.isArray(parsed) ? parsed : [parsed];
  const valid = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 16384;
  if ((sides.length !== 1 && sides.length !== 2) || !sides.every(valid)) throw new MetadataError(`\`imgsz\` ${JSON.stringify(text)} is not [height, width] or one side`);
  return sides.length === 1 ? { width: sides[0], height: sides[0] } : { height: sides[0], width: sides[1] };
}

const TASK_NAMES: Record<string, TaskType> = {
  detect: "object-detection",
  "object-detection": "object-detection",
  segment: "instance-segmentation",
  "instance-segmentation": "instance-segmentation",
  classify: "classification",
  classification: "classification",
  pose: "keypoint-detection",
  "keypoint-detection": "keypoint-detection",
};

/** Ultralytics tasks this server cannot serve, with what they are. */
const UNSUPPORTED_TASKS: Record<string, string> = {
  obb: "oriented bounding boxes",
};

/** A task as Ultralytics (`detect`, `segment`, `pose`, `classify`) or Roboflow (`object-detection`, …) names it. */
export function parseTask(text: string): TaskType {
  const key = text.trim().toLowerCase();
  const task = TASK_NAMES[key];
  if (task) return task;
  const known = "detect / object-detection, segment / instance-segmentation, pose / keypoint-detection, classify / classification";
  if (key in UNSUPPORTED_TASKS) throw new MetadataError(`task "${text}" (${UNSUPPORTED_TASKS[key]}) is not supported by this server; it serves ${known}`);
  throw new MetadataError(`unknown task "${text}"; expected ${known}`);
}

/**
 * The model type an Ultralytics `description` names ("Ultralytics YOLOv8n model trained on …",
 * "Ultralytics YOLO11s-seg model …"), in the reference's spelling: `yolov8n`, `yolov11s-seg`,
 * `yolo26n` (YOLO11 and YOLO12 become yolov11/yolov12; the reference spells YOLO26 without the v).
 * The `-cls` suffix is dropped (the reference's classification model types are `yolov8n`…). Null when none.
 */
export function modelTypeFromDescription(description: string | undefined): string | null {
  const match = description ? /\bUltralytics\s+(YOLO[A-Za-z0-9.-]*)/i.exec(description) : null;
  if (!match) return null;
  let type = match[1]!.toLowerCase().replace(/-cls$/, "");
  if (/^yolo(11|12)/.test(type)) type = `yolov${type.slice(4)}`;
  if (/^yolov26/.test(type)) type = `yolo${type.slice(5)}`;
  return /^yolo(v\d|\d|-?nas)/.test(type) ? type : null;
}

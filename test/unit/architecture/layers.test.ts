// Specification of the architecture's layers: imports point one way (http -> pipeline -> workers -> models -> vision ->
// native-bindings), and nothing the server runs imports the tests (README "Code map").
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../../..");

/**
 * Layers from the top; a file may import its own layer and any below it. `src/main.ts` and `src/config.ts` wire the
 * server together; `src/errors.ts`, `src/python-rounding.ts`, `src/deadline.ts` and `src/single-flight.ts` are leaves every layer may use.
 */
const LAYERS: [string, RegExp][] = [
  ["entry", /^src\/(main|config)\.ts$/],
  ["demo", /^src\/demo\//],
  ["http", /^src\/http\//],
  ["pipeline", /^src\/pipeline\//],
  ["workers", /^src\/workers\//],
  ["models", /^src\/models\//],
  ["vision", /^src\/vision\//],
  ["native-bindings", /^native-bindings\//],
  ["leaves", /^src\/(errors|python-rounding|deadline|single-flight)\.ts$/],
];

function layerOf(path: string): number {
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(path));
  if (index < 0) throw new Error(`${path} belongs to no layer: add it to LAYERS`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Every relative module a file imports or re-exports (type-only imports included: they are dependencies too), and the workers it starts. */
export function importsOf(text: string): string[] {
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?(?:from\s*)?["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  const workers = [...text.matchAll(/new URL\(\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return [...specifiers, ...workers];
}

/** `from -> to` for every import in src/ and native-bindings/ that points up a layer or into the tests. */
function violations(): string[] {
  const found: string[] = [];
  for (const file of [...sources("src"), ...sources("native-bindings")]) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const specifier of importsOf(text)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
      if (!target.startsWith("src/") && !target.startsWith("native-bindings/")) {
        found.push(`${file} -> ${target} (outside what the server runs)`);
      } else if (layerOf(target) < layerOf(file)) {
        found.push(`${file} -> ${target} (${LAYERS[layerOf(file)]![0]} may not import ${LAYERS[layerOf(target)]![0]})`);
      }
    }
  }
  return found;
}

describe("layers", () => {
  test("every import in src/ and native-bindings/ points down a layer or stays in its own, and none reaches test/ or bench/", () => {
    expect(violations()).toEqual([]);
  });

  test("the scan sees static, type-only, re-export and worker imports", () => {
    const text = [
      'import { a } from "../pipeline/x.ts";',
      'import type { B } from "./y.ts";',
      'export { c } from "../../test/z.ts";',
      "import {\n  d,\n  e,\n} from '../models/w.ts';",
      'const url = new URL("../workers/v.worker.ts", import.meta.url);',
      'import sharp from "sharp";',
    ].join("\n");
    expect(importsOf(text)).toEqual(["../pipeline/x.ts", "./y.ts", "../../test/z.ts", "../models/w.ts", "../workers/v.worker.ts"]);
  });
});

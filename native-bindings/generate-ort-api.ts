// Generator of native-bindings/ort-api.ts: parses `struct OrtApi` in onnxruntime_c_api.h into member → slot index.
// Run `bun native-bindings/generate-ort-api.ts` after upgrading ONNX Runtime, and commit the result.
import { join } from "node:path";
import { locateOrtHeaderDir } from "./locate.ts";

/** Replaces comments with blanks, keeping newlines so that line-based preprocessor handling still works. */
function stripComments(source: string): string {
  let result = "";
  let i = 0;
  while (i < source.length) {
    const two = source.slice(i, i + 2);
    if (two === "//") {
      const end = source.indexOf("\n", i);
      i = end === -1 ? source.length : end;
    } else if (two === "/*") {
      const end = source.indexOf("*/", i + 2);
      if (end === -1) throw new Error("unterminated /* comment in header");
      result += source.slice(i, end + 2).replace(/[^\n]/g, " ");
      i = end + 2;
    } else if (source[i] === '"' || source[i] === "'") {
      // Literals are copied whole so that a "//" inside one is not taken for a comment.
      const quote = source[i]!;
      let j = i + 1;
      while (j < source.length && source[j] !== quote) j += source[j] === "\\" ? 2 : 1;
      result += source.slice(i, j + 1);
      i = j + 1;
    } else {
      result += source[i];
      i += 1;
    }
  }
  return result;
}

/** Drops preprocessor directives (with their backslash continuations): they never declare a slot. */
function stripPreprocessorLines(source: string): string {
  return source.replace(/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*$/gm, "");
}

/** The text between the braces of `struct OrtApi { ... }`. */
function structBody(source: string): string {
  const open = /\bstruct\s+OrtApi\s*\{/.exec(source);
  if (!open) throw new Error("struct OrtApi { ... } not found in header");
  const start = open.index + open[0].length;
  let depth = 1;
  for (let i = start; i < source.length; i++) {
    if (source[i] === "{") depth += 1;
    else if (source[i] === "}" && --depth === 0) return source.slice(start, i);
  }
  throw new Error("struct OrtApi has no closing brace");
}

/** Splits on a separator that is not nested inside parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth += 1;
    else if (ch === ")") depth -= 1;
    if (ch === separator && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** The arguments of a macro invocation `NAME(a, b, ...)` found at the start of `declaration`. */
function macroArguments(declaration: string, macro: string): string[] {
  const open = declaration.indexOf("(", macro.length);
  let depth = 0;
  let close = open;
  do {
    if (declaration[close] === "(") depth += 1;
    else if (declaration[close] === ")") depth -= 1;
    close += 1;
  } while (depth > 0 && close < declaration.length);
  return splitTopLevel(declaration.slice(open + 1, close - 1), ",").map((arg) => arg.trim());
}

/** The member name one OrtApi declaration contributes, in any of the forms the header uses. */
function memberName(declaration: string): string {
  const macro = /^(ORT_API2_STATUS|ORT_CLASS_RELEASE2?|ORT_API_T|ORT_API)\s*\(/.exec(declaration)?.[1];
  switch (macro) {
    case "ORT_API2_STATUS":
      return macroArguments(declaration, macro)[0]!;
    case "ORT_CLASS_RELEASE":
    case "ORT_CLASS_RELEASE2":
      return `Release${macroArguments(declaration, macro)[0]}`;
    case "ORT_API_T":
    case "ORT_API":
      return macroArguments(declaration, macro)[1]!;
  }
  // A plain function pointer: `RetType(ORT_API_CALL* Name)(...)`.
  const pointer = /\(\s*ORT_API_CALL\s*\*\s*(\w+)\s*\)\s*\(/.exec(declaration);
  if (pointer) return pointer[1]!;
  throw new Error(`unrecognised OrtApi member declaration: ${declaration}`);
}

/** Every OrtApi member name in declaration order; a member's index is its slot in the function table. */
export function parseOrtApiMembers(header: string): string[] {
  const body = stripPreprocessorLines(structBody(stripComments(header)));
  const declarations = splitTopLevel(body, ";")
    .map((declaration) => declaration.replace(/\s+/g, " ").trim())
    .filter((declaration) => declaration.length > 0);
  const members = declarations.map(memberName);
  for (const member of members) {
    if (!/^\w+$/.test(member)) throw new Error(`malformed OrtApi member name: ${member}`);
  }
  const duplicate = members.find((member, index) => members.indexOf(member) !== index);
  if (duplicate) throw new Error(`OrtApi member declared twice: ${duplicate}`);
  return members;
}

/** The header's `#define ORT_API_VERSION n`. */
export function parseOrtApiVersion(header: string): number {
  const match = /^\s*#define\s+ORT_API_VERSION\s+(\d+)/m.exec(header);
  if (!match) throw new Error("#define ORT_API_VERSION not found in header");
  return Number(match[1]);
}

/** The source text of ort-api.ts for the given members and API version. */
export function renderOrtApiModule(members: string[], version: number): string {
  const lines = [
    "// OrtApi slot table: the index of each function pointer in ONNX Runtime's `struct OrtApi`.",
    "// Generated by native-bindings/generate-ort-api.ts from onnxruntime_c_api.h; do not edit by hand.",
    "",
    "/** The ORT_API_VERSION of the header this table was generated from; pass it to OrtApiBase.GetApi. */",
    `export const ORT_API_VERSION = ${version};`,
    "",
    "/** Member name → slot index; the member's function pointer sits at byte offset slot * sizeof(void*). */",
    "export const OrtApiSlot = {",
    ...members.map((member, slot) => `  ${member}: ${slot},`),
    "} as const;",
    "",
    "export type OrtApiMember = keyof typeof OrtApiSlot;",
    "",
  ];
  return lines.join("\n");
}

export function ortApiHeaderPath(): string {
  return join(locateOrtHeaderDir(), "onnxruntime_c_api.h");
}

export const ORT_API_MODULE_PATH = join(import.meta.dir, "ort-api.ts");

if (import.meta.main) {
  const headerPath = ortApiHeaderPath();
  const header = await Bun.file(headerPath).text();
  const members = parseOrtApiMembers(header);
  const version = parseOrtApiVersion(header);
  await Bun.write(ORT_API_MODULE_PATH, renderOrtApiModule(members, version));
  console.log(`wrote ${ORT_API_MODULE_PATH}: ${members.length} OrtApi members, ORT_API_VERSION ${version} (from ${headerPath})`);
}

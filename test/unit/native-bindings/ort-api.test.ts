// Tests of the generated OrtApi slot table (native-bindings/ort-api.ts) and of the header parser that writes it.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ORT_API_MODULE_PATH, ortApiHeaderPath, parseOrtApiMembers, parseOrtApiVersion, renderOrtApiModule } from "../../../native-bindings/generate-ort-api.ts";
import { locateOrtHeaderDir } from "../../../native-bindings/locate.ts";
import { ORT_API_VERSION, OrtApiSlot } from "../../../native-bindings/ort-api.ts";

const header = await Bun.file(ortApiHeaderPath()).text();
const compiler = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");

interface CompilerView {
  slots: Map<string, number>;
  totalSlots: number;
  version: number;
}

let compilerView: CompilerView | undefined;

/** What the C compiler says about OrtApi: each table member's slot, the struct's size in slots, and ORT_API_VERSION. */
function slotsFromCompiler(cc: string): CompilerView {
  compilerView ??= compileOffsetsProgram(cc);
  return compilerView;
}

function compileOffsetsProgram(cc: string): CompilerView {
  const dir = mkdtempSync(join(tmpdir(), "ort-api-offsets-"));
  try {
    const source = [
      "#include <stddef.h>",
      "#include <stdio.h>",
      '#include "onnxruntime_c_api.h"',
      "int main(void) {",
      ...Object.keys(OrtApiSlot).map((member) => `  printf("%s %zu\\n", "${member}", offsetof(OrtApi, ${member}) / sizeof(void*));`),
      '  printf("sizeof(OrtApi) %zu\\n", sizeof(OrtApi) / sizeof(void*));',
      '  printf("ORT_API_VERSION %d\\n", ORT_API_VERSION);',
      "  return 0;",
      "}",
    ].join("\n");
    const sourcePath = join(dir, "offsets.c");
    const binaryPath = join(dir, "offsets");
    writeFileSync(sourcePath, source);
    const compile = Bun.spawnSync([cc, "-std=c11", "-I", locateOrtHeaderDir(), sourcePath, "-o", binaryPath]);
    if (compile.exitCode !== 0) throw new Error(`C compilation failed:\n${compile.stderr.toString()}`);
    const lines = Bun.spawnSync([binaryPath]).stdout.toString().trim().split("\n");
    const values = new Map(
      lines.map((line) => {
        const [name, value] = line.split(" ");
        return [name!, Number(value)] as const;
      }),
    );
    const totalSlots = values.get("sizeof(OrtApi)")!;
    const version = values.get("ORT_API_VERSION")!;
    values.delete("sizeof(OrtApi)");
    values.delete("ORT_API_VERSION");
    return { slots: values, totalSlots, version };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("OrtApi slot table", () => {
  if (compiler === null) {
    test.skip("matches offsetof(OrtApi, member) / sizeof(void*) from a C compiler (skipped: no cc, gcc or clang on PATH)", () => {});
  } else {
    test("matches offsetof(OrtApi, member) / sizeof(void*) from a C compiler for every member", () => {
      const fromC = slotsFromCompiler(compiler);
      expect(Object.fromEntries(fromC.slots)).toEqual({ ...OrtApiSlot });
      expect(fromC.version).toBe(ORT_API_VERSION);
    });

    test("covers the whole struct: no member of OrtApi is missing from the table", () => {
      expect(slotsFromCompiler(compiler).totalSlots).toBe(Object.keys(OrtApiSlot).length);
    });
  }

  test("was generated for the installed header's ORT_API_VERSION", () => {
    expect(ORT_API_VERSION).toBe(parseOrtApiVersion(header));
  });

  test("is exactly what the generator writes for the installed header (regenerate after upgrading ORT)", async () => {
    const committed = await Bun.file(ORT_API_MODULE_PATH).text();
    expect(committed).toBe(renderOrtApiModule(parseOrtApiMembers(header), parseOrtApiVersion(header)));
  });

  test("numbers slots densely from zero in declaration order", () => {
    const slots: number[] = Object.values(OrtApiSlot);
    expect(slots).toEqual(slots.map((_, index) => index));
    expect(OrtApiSlot.CreateStatus).toBe(0);
  });
});

describe("OrtApi header parser", () => {
  const synthetic = `
    #define ORT_API_VERSION 7
    struct OrtApiBase { int notAMember; };
    struct OrtApi {
      /** \\brief a doc comment that mentions ORT_API2_STATUS(NotASlot, int x); */
      ORT_API2_STATUS(CreateThing, _In_ const char* name, // trailing comment; with a semicolon
                      _Outptr_ OrtThing** out);
      // ORT_CLASS_RELEASE(Commented);
    #ifdef _WIN32
      ORT_CLASS_RELEASE(Thing);
    #endif
      ORT_CLASS_RELEASE2(OtherThing);
      const char*(ORT_API_CALL* GetName)(_In_ const OrtThing* thing)NO_EXCEPTION ORT_ALL_ARGS_NONNULL;
      ORT_API_T(const OrtMemoryInfo*, GetMemoryInfo, _In_ const OrtThing* thing, size_t index);
      ORT_API(void, Log, const char* message);
      /* block comment
         ORT_API2_STATUS(AlsoNotASlot); */
      void(ORT_API_CALL* ClearThing)(_Inout_ OrtThing* thing);
    };`;

  test("takes every member form in order and ignores comments and preprocessor lines", () => {
    expect(parseOrtApiMembers(synthetic)).toEqual(["CreateThing", "ReleaseThing", "ReleaseOtherThing", "GetName", "GetMemoryInfo", "Log", "ClearThing"]);
  });

  test("reads the ORT_API_VERSION define", () => {
    expect(parseOrtApiVersion(synthetic)).toBe(7);
  });

  test("rejects a member declaration it does not recognise instead of miscounting slots", () => {
    expect(() => parseOrtApiMembers("struct OrtApi { int (*Unknown)(void); };")).toThrow(/unrecognised OrtApi member/);
  });
});

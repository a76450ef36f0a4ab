// Specification of the container image, checked without a Docker engine: the Dockerfile lints clean, each stage gets
// every file its commands need from the build context, and the runtime images run the server safely.
//
// hadolint is neither on npm nor in Debian's archive: it runs only where it is on PATH. dockerfile-utils (the
// linter behind VS Code's Dockerfile support, from npm) always runs, with the rules below that hadolint would add.
import { describe, expect, test } from "bun:test";
import { validate } from "dockerfile-utils";
import { existsSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const IGNORED = readFileSync(join(ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"))
  .map((line) => line.replace(/^\//, ""));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Docker's own reading of the file: comments dropped, continuation lines joined, one instruction per line. */
function parseInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    if (line.trimEnd().endsWith("\\")) {
      pending += `${line.trimEnd().slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    if (whole) logical.push(whole);
  }
  return logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword!.toUpperCase(), args: rest.join(" ") };
  });
}

const INSTRUCTIONS = parseInstructions(DOCKERFILE);
/** ARG defaults declared before the first FROM, which FROM lines may use. */
const GLOBAL_ARGS = Object.fromEntries(
  INSTRUCTIONS.slice(
    0,
    INSTRUCTIONS.findIndex((i) => i.keyword === "FROM"),
  )
    .filter((i) => i.keyword === "ARG")
    .map((i) => i.args.split("=") as [string, string]),
);
const STAGES: Stage[] = INSTRUCTIONS.reduce<Stage[]>((stages, instruction) => {
  if (instruction.keyword === "FROM") {
    const [image, , name] = instruction.args.split(/\s+/);
    const base = image!.replace(/\$\{(\w+)\}/g, (_, arg: string) => GLOBAL_ARGS[arg] ?? "");
    stages.push({ name: name ?? "", base, instructions: [] });
  } else if (stages.length > 0) {
    stages.at(-1)!.instructions.push(instruction);
  }
  return stages;
}, []);

function stage(name: string): Stage {
  const found = STAGES.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage ${name}`);
  return found;
}

function isIgnored(path: string): boolean {
  const parts = path.split("/");
  return IGNORED.some((pattern) => parts.some((_, i) => new Bun.Glob(pattern).match(parts.slice(0, i + 1).join("/"))));
}

/** COPY instructions from the build context: their sources (repository paths) and destination. */
function contextCopies(s: Stage): { sources: string[]; dest: string }[] {
  return s.instructions
    .filter((i) => i.keyword === "COPY" && !i.args.includes("--from="))
    .map((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      return { sources: words.slice(0, -1).map((w) => normalize(w).replace(/\/$/, "")), dest: words.at(-1)! };
    });
}

/** Repository files a stage (and the stages it is built on) received from the build context. */
function hasFile(s: Stage, file: string): boolean {
  const copied = contextCopies(s).some(({ sources }) => sources.some((source) => file === source || file.startsWith(`${source}/`)));
  if (copied && !isIgnored(file)) return true;
  const parent = STAGES.find((candidate) => candidate.name === s.base);
  return parent ? hasFile(parent, file) : false;
}

/** Every repository file `entry` needs at run time (static imports and worker URLs), and the npm packages it imports. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const code = readFileSync(join(ROOT, file), "utf8");
    const workerUrls = [...code.matchAll(/new URL\("(\.[^"]+)", import\.meta\.url\)/g)].map((m) => m[1]!);
    const imports = transpiler.scanImports(code).map((i) => i.path);
    for (const specifier of [...imports, ...workerUrls]) {
      if (specifier.startsWith(".")) {
        const resolved = relative(ROOT, join(ROOT, dirname(file), specifier));
        visit(existsSync(join(ROOT, resolved)) && statSync(join(ROOT, resolved)).isFile() ? resolved : `${resolved}.ts`);
      } else if (!specifier.startsWith("node:") && !specifier.startsWith("bun:") && !builtinModules.includes(specifier)) {
        const parts = specifier.split("/");
        packages.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
      }
    }
  };
  visit(entry);
  return { files, packages };
}

/** The file a `bun <file>` command (exec-form JSON or shell form) runs. */
function bunScript(command: string): string {
  const words = command.startsWith("[") ? (JSON.parse(command) as string[]) : command.split(/\s+/);
  expect(words[0]).toBe("bun");
  return words[1]!;
}

const RUNTIME_STAGES = ["gpu", "cpu"];

describe("Dockerfile", () => {
  test("lints clean with dockerfile-utils", () => {
    expect(validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test("lints clean with hadolint where it is installed", () => {
    if (!Bun.which("hadolint")) {
      console.log("hadolint is not installed (not on npm or in Debian): skipped; dockerfile-utils and the checks below ran");
      return;
    }
    const run = Bun.spawnSync(["hadolint", join(ROOT, "Dockerfile")]);
    expect(run.stdout.toString() + run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
  });

  test("builds on pinned base images, never a moving latest tag", () => {
    for (const s of STAGES) {
      if (STAGES.some((other) => other.name === s.base)) continue;
      expect(s.base).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.base).not.toMatch(/:latest$/);
    }
    expect(stage("gpu").base).toMatch(/^nvidia\/cuda:13\.[\d.]+-cudnn-runtime-/);
  });

  test("copies from the build context only files that exist and that .dockerignore keeps", () => {
    for (const s of STAGES) {
      for (const { sources } of contextCopies(s)) {
        for (const source of sources) {
          expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
          expect({ source, ignored: isIgnored(source) }).toEqual({ source, ignored: false });
        }
      }
    }
  });

  test("leaves the test suites and fixture builders out: the server imports none of them", () => {
    for (const path of ["test/fixtures/build.ts", "test/fixtures/models", "test/unit", "test/integration", "node_modules", ".git"]) expect(isIgnored(path)).toBe(true);
    for (const s of STAGES) for (const { sources } of contextCopies(s)) for (const source of sources) expect(source.startsWith("test")).toBe(false);
  });

  test("installs production dependencies from the lockfile, and the GPU providers through setup:gpu", () => {
    const install = stage("deps")
      .instructions.filter((i) => i.keyword === "RUN")
      .map((i) => i.args);
    expect(install).toContain("bun install --frozen-lockfile --production");
    expect(stage("deps").instructions).toContainEqual({ keyword: "WORKDIR", args: "/app" });
    const setup = stage("gpu-deps").instructions.find((i) => i.keyword === "RUN")!;
    expect(setup.args).toBe(`bun ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts["setup:gpu"].split(" ")[1]}`);
    const { files } = closure(bunScript(setup.args));
    for (const file of files) expect({ file, copied: hasFile(stage("gpu-deps"), file) }).toEqual({ file, copied: true });
  });

  for (const name of RUNTIME_STAGES) {
    describe(`${name} image`, () => {
      const s = stage(name);
      const last = (keyword: string) => s.instructions.filter((i) => i.keyword === keyword).at(-1)?.args ?? "";

      test("contains every file the server and its health check load, and only production packages", () => {
        const healthcheck = last("HEALTHCHECK").replace(/^.*?CMD\s+/, "");
        for (const entry of [bunScript(last("CMD")), bunScript(healthcheck)]) {
          const { files, packages } = closure(entry);
          for (const file of files) expect({ file, copied: hasFile(s, file) }).toEqual({ file, copied: true });
          for (const pkg of packages) expect({ pkg, dependency: pkg in PACKAGE.dependencies }).toEqual({ pkg, dependency: true });
        }
        expect(bunScript(last("CMD"))).toBe("src/main.ts");
      });

      test("contains the files the server reads at run time: the demo models and the page at / with its example picture", () => {
        const assets = [
          "src/demo/models/detect.onnx",
          "src/demo/models/segment.onnx",
          "src/demo/models/classify.onnx",
          "src/http/playground/index.html",
          "src/http/playground/playground.js",
          "examples/shapes.jpg",
        ];
        for (const file of assets) expect({ file, copied: hasFile(s, file) }).toEqual({ file, copied: true });
      });

      test("takes node_modules from a stage that installed them in /app", () => {
        const copy = s.instructions.find((i) => i.keyword === "COPY" && i.args.includes("node_modules"))!;
        expect(copy.args).toMatch(name === "gpu" ? /^--from=gpu-deps \/app\/node_modules / : /^--from=deps \/app\/node_modules /);
      });

      test("runs as a non-root user, serves port 9001, checks /healthz and keeps models in a volume", () => {
        expect(last("USER")).toBe("inference");
        expect(s.instructions.findIndex((i) => i.keyword === "USER")).toBeGreaterThan(s.instructions.findLastIndex((i) => i.keyword === "RUN"));
        expect(last("EXPOSE")).toBe("9001");
        expect(last("HEALTHCHECK")).toContain('CMD ["bun", "scripts/healthcheck.ts"]');
        expect(readFileSync(join(ROOT, "scripts/healthcheck.ts"), "utf8")).toContain("/healthz");
        expect(last("VOLUME")).toBe('["/tmp/cache"]');
        expect(last("ENV")).toContain("MODEL_CACHE_DIR=/tmp/cache");
        expect(last("ENV")).toContain("HOST=0.0.0.0");
      });

      test("installs system packages the lean way (no recommends, no apt lists left behind)", () => {
        for (const run of s.instructions.filter((i) => i.keyword === "RUN" && i.args.includes("apt-get install"))) {
          expect(run.args).toContain("--no-install-recommends");
          expect(run.args).toContain("rm -rf /var/lib/apt/lists/*");
        }
      });
    });
  }

  test("the GPU image prefers CUDA and the CPU image uses the CPU provider", () => {
    const env = (name: string) =>
      stage(name)
        .instructions.filter((i) => i.keyword === "ENV")
        .map((i) => i.args)
        .join(" ");
    expect(env("gpu")).toContain("EXECUTION_PROVIDERS=cuda,cpu");
    expect(env("cpu")).toContain("EXECUTION_PROVIDERS=cpu");
  });

  test("the GPU image loads the GPU build of ONNX Runtime that setup:gpu assembled in the node_modules it copies", () => {
    const env = stage("gpu")
      .instructions.filter((i) => i.keyword === "ENV")
      .map((i) => i.args)
      .join(" ");
    const libPath = /ORT_LIB_PATH=(\S+)/.exec(env)?.[1];
    expect(readFileSync(join(ROOT, "scripts/setup-gpu.ts"), "utf8")).toContain("?? GPU_RUNTIME_DIR");
    expect(readFileSync(join(ROOT, "native-bindings/locate.ts"), "utf8")).toContain('join(import.meta.dir, "..", "node_modules", ".onnxruntime-gpu")');
    expect(libPath).toBe("/app/node_modules/.onnxruntime-gpu");
    expect(stage("cpu").instructions.some((i) => i.args.includes("ORT_LIB_PATH"))).toBe(false);
  });

  test("pins TensorRT at 10.14.1 or later for CUDA 13, what ONNX Runtime 1.29's TensorRT provider is built against", () => {
    const pinned = stage("gpu")
      .instructions.find((i) => i.keyword === "ARG" && i.args.startsWith("TENSORRT_VERSION="))!
      .args.split("=")[1]!;
    const [version, cuda] = pinned.split("-1+cuda");
    const [major, minor, patch] = version!.split(".").map(Number);
    expect(major).toBe(10);
    expect(minor! * 1000 + patch!).toBeGreaterThanOrEqual(14 * 1000 + 1);
    expect(cuda).toMatch(/^13\./);
  });
});

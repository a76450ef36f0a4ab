// Specification of the GPU check's CPU-side steps: packing into parts (bench/gpu/pack.ts), and receiving, checking and
// unpacking them with the runner (bench/gpu/gpu-check.sh) in a stand-in for the GPU machine's copy of the repository.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN_IN_PAYLOAD, PART_BYTES, SUMS_FILE, callSequence, excludedModules, pack, partFiles } from "../../../bench/gpu/pack.ts";

const ROOT = join(import.meta.dir, "../../..");
const RUNNER = join(ROOT, "bench/gpu/gpu-check.sh");

let dir: string;
let source: string;
let parts: string[];
/** Incompressible bytes, so that the payload spans several small parts. */
const payload = crypto.getRandomValues(new Uint8Array(200_000));

/** A stand-in for the GPU machine's copy of the repository: the runner, and the parts carried so far. */
function device(name: string, carried: string[]): string {
  const root = join(dir, name);
  mkdirSync(join(root, "bench/gpu"), { recursive: true });
  mkdirSync(join(root, ".gpu-parts"), { recursive: true });
  copyFileSync(RUNNER, join(root, "bench/gpu/gpu-check.sh"));
  for (const file of carried) copyFileSync(join(dir, "parts", file), join(root, ".gpu-parts", file));
  return root;
}

function runner(root: string, command: string, env: Record<string, string> = {}): { exitCode: number; output: string } {
  const run = Bun.spawnSync(["bash", join(root, "bench/gpu/gpu-check.sh"), command], { env: { ...process.env, ...env } });
  return { exitCode: run.exitCode, output: run.stdout.toString() + run.stderr.toString() };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gpu-check-"));
  source = join(dir, "source");
  mkdirSync(join(source, "node_modules/kept/lib"), { recursive: true });
  mkdirSync(join(source, "node_modules/dev-only"), { recursive: true });
  mkdirSync(join(source, "node_modules/.bin"), { recursive: true });
  writeFileSync(join(source, "node_modules/kept/lib/blob.bin"), payload);
  writeFileSync(join(source, "node_modules/kept/package.json"), '{"name":"kept"}');
  writeFileSync(join(source, "node_modules/dev-only/package.json"), '{"name":"dev-only"}');
  symlinkSync("../kept/lib/blob.bin", join(source, "node_modules/.bin/kept"));
  // The Bun binary's stand-in: answers --version, logs every other call with the GPU_CHECK settings it got, and for
  // `run bench --tasks <task> --out <dir>` writes the report and results a benchmark run would.
  writeFileSync(
    join(dir, "fake-bun"),
    [
      "#!/bin/bash",
      'if [ "$1" = --version ]; then echo 9.9.9; exit 0; fi',
      'echo "GPU_CHECK=${GPU_CHECK:-} EXECUTION_PROVIDERS=${EXECUTION_PROVIDERS:-} $*" >> "$FAKE_BUN_LOG"',
      'if [ "$1 $2" = "run bench" ]; then',
      '  task=""; out=""; while [ $# -gt 0 ]; do case "$1" in --tasks) task=$2 ;; --out) out=$2 ;; esac; shift; done',
      `  mkdir -p "$out"; echo "## $task report" > "$out/latest.md"; printf '{"task": "%s"}\\n' "$task" > "$out/latest.json"`,
      "fi",
      "",
    ].join("\n"),
  );
  chmodSync(join(dir, "fake-bun"), 0o755);
  parts = pack({
    root: source,
    paths: ["node_modules"],
    excludes: ["node_modules/dev-only"],
    extras: [{ from: join(dir, "fake-bun"), to: BUN_IN_PAYLOAD }],
    outDir: join(dir, "parts"),
    partBytes: 64 * 1024,
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pack", () => {
  test("splits one compressed stream into numbered parts no larger than asked, with their SHA-256 sums", () => {
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts).toEqual(partFiles(join(dir, "parts")));
    expect(parts[0]).toBe("payload.tar.xz.part-00");
    for (const part of parts) expect(statSync(join(dir, "parts", part)).size).toBeLessThanOrEqual(64 * 1024);
    const sums = readFileSync(join(dir, "parts", SUMS_FILE), "utf8")
      .trim()
      .split("\n");
    expect(sums.map((line) => line.split(/\s+/)[1])).toEqual(parts);
  });

  test("leaves out the packages only development needs, and the npm package's CPU-only libraries, but nothing the server needs", () => {
    const excluded = excludedModules();
    for (const devOnly of ["kubernetes-models", "dockerfile-utils", "bun-types"]) expect(excluded).toContain(`node_modules/${devOnly}`);
    expect(excluded).toContain("node_modules/com.github.asus4.onnxruntime/Plugins");
    const dependencies = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies);
    for (const needed of [...dependencies, "@img/sharp-linux-x64", "@img/sharp-libvips-linux-x64", ".onnxruntime-gpu"]) {
      expect(excluded.some((path) => `node_modules/${needed}`.startsWith(path))).toBe(false);
    }
  });

  test("carries one part per call with the sums, each call within the 64 MiB a call may carry with the working tree", () => {
    const calls = callSequence(["payload.tar.xz.part-00", "payload.tar.xz.part-01", "payload.tar.xz.part-02"]);
    expect(calls).toEqual([
      '1. carry [".gpu-parts/SHA256SUMS",".gpu-parts/payload.tar.xz.part-00"], command "bash bench/gpu/gpu-check.sh receive", timeout_s 120',
      '2. carry [".gpu-parts/SHA256SUMS",".gpu-parts/payload.tar.xz.part-01"], command "bash bench/gpu/gpu-check.sh receive", timeout_s 120',
      '3. carry [".gpu-parts/SHA256SUMS",".gpu-parts/payload.tar.xz.part-02"], command "bash bench/gpu/gpu-check.sh run", timeout_s 560',
    ]);
    const tracked = Bun.spawnSync(["git", "ls-files", "-z"], { cwd: ROOT }).stdout.toString().split("\0").filter(Boolean);
    const treeBytes = tracked.reduce((sum, file) => sum + (existsSync(join(ROOT, file)) ? statSync(join(ROOT, file)).size : 0), 0);
    expect(PART_BYTES + 4096 + treeBytes).toBeLessThan(64 * 2 ** 20);
  });
});

describe("gpu-check.sh", () => {
  test("receive: checks the parts as they arrive and says how many are still to come", () => {
    const root = device("arriving", [SUMS_FILE, parts[0]!]);
    expect(runner(root, "receive")).toEqual({ exitCode: 0, output: `1 of ${parts.length} parts received and intact\n` });
    for (const part of parts.slice(1)) copyFileSync(join(dir, "parts", part), join(root, ".gpu-parts", part));
    const all = runner(root, "receive");
    expect(all.exitCode).toBe(0);
    expect(all.output).toContain(`${parts.length} of ${parts.length} parts received and intact\nall parts are here`);
  });

  test("receive: refuses a part damaged on the way, and parts without their sums", () => {
    const root = device("damaged", [SUMS_FILE, parts[0]!]);
    const path = join(root, ".gpu-parts", parts[0]!);
    const bytes = readFileSync(path);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(path, bytes);
    expect(runner(root, "receive")).toMatchObject({ exitCode: 1, output: expect.stringContaining("a part is corrupt: carry it again") });
    expect(runner(device("no-sums", [parts[0]!]), "receive")).toMatchObject({ exitCode: 1, output: expect.stringContaining("carry it with every part") });
  });

  test("unpack: waits for every part, then restores the payload exactly, once", () => {
    const root = device("unpacking", [SUMS_FILE, ...parts.slice(0, -1)]);
    expect(runner(root, "unpack")).toMatchObject({ exitCode: 1, output: expect.stringContaining(`cannot unpack yet: ${parts.at(-1)} has not arrived`) });
    copyFileSync(join(dir, "parts", parts.at(-1)!), join(root, ".gpu-parts", parts.at(-1)!));
    const unpacked = runner(root, "unpack");
    expect(unpacked.exitCode).toBe(0);
    expect(unpacked.output).toContain("unpacked: 9.9.9 in .gpu-check/bin");
    expect(new Uint8Array(readFileSync(join(root, "node_modules/kept/lib/blob.bin")))).toEqual(payload);
    expect(lstatSync(join(root, "node_modules/.bin/kept")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, "node_modules/.bin/kept"))).toBe("../kept/lib/blob.bin");
    expect(existsSync(join(root, "node_modules/dev-only"))).toBe(false);
    expect(statSync(join(root, BUN_IN_PAYLOAD)).mode & 0o111).not.toBe(0);
    expect(runner(root, "unpack").output).toContain("already unpacked");
  });

  test("run: unpacks, runs the GPU tests and one benchmark per task (the soak with the first), and leaves every result in $OUT", () => {
    const root = device("running", [SUMS_FILE, ...parts]);
    const out = join(dir, "out");
    const log = join(dir, "fake-bun.log");
    const run = runner(root, "run", { OUT: out, FAKE_BUN_LOG: log, GPU_CHECK_TASKS: "object-detection classification", GPU_CHECK_SECONDS: "400" });
    expect(run.output).toContain("bench classification exit 0");
    const calls = readFileSync(log, "utf8").trim().split("\n");
    expect(calls[0]).toBe("GPU_CHECK= EXECUTION_PROVIDERS= run fixtures");
    expect(calls[1]).toBe("GPU_CHECK=1 EXECUTION_PROVIDERS= test --timeout 120000 test/gpu");
    expect(calls.slice(2).map((call) => call.replace(/--out \S+/, "--out <dir>"))).toEqual([
      "GPU_CHECK= EXECUTION_PROVIDERS=cuda,cpu run bench --tasks object-detection --out <dir> --concurrency 1,8,32,128 --seconds 4 --warmup 1 --bare-seconds 2 --baseline-concurrency 1,32 --soak-requests 3000 --skip open-loop",
      "GPU_CHECK= EXECUTION_PROVIDERS=cuda,cpu run bench --tasks classification --out <dir> --concurrency 1,8,32,128 --seconds 4 --warmup 1 --bare-seconds 2 --baseline-concurrency 1,32 --soak-requests 3000 --skip open-loop,soak",
    ]);
    expect(readdirSync(out).sort()).toEqual(["bench-report.md", "bench-results.json", "bench.log", "fixtures.log", "summary.md", "tests.log"]);
    expect(readFileSync(join(out, "bench-report.md"), "utf8")).toBe("## object-detection report\n## classification report\n");
    expect(JSON.parse(readFileSync(join(out, "bench-results.json"), "utf8"))).toEqual({
      "object-detection": { task: "object-detection" },
      classification: { task: "classification" },
    });
    expect(readFileSync(join(out, "summary.md"), "utf8")).toMatch(/^# GPU check .*\n[\s\S]*libcudnn\.so\.9 [\s\S]*test\/gpu exit 0; total \d+ s\n$/);
  });

  test("libraries: finds PyTorch's CUDA 13, cuDNN and TensorRT folders on Python's path", () => {
    const site = join(dir, "site-packages");
    for (const folder of ["nvidia/cu13/lib", "nvidia/cudnn/lib", "tensorrt_libs", "nvidia/nccl/lib"]) mkdirSync(join(site, folder), { recursive: true });
    const found = runner(device("libraries", []), "libraries", { PYTHONPATH: site });
    expect(found).toEqual({ exitCode: 0, output: `${["nvidia/cu13/lib", "nvidia/cudnn/lib", "tensorrt_libs"].map((folder) => join(site, folder)).join(":")}\n` });
  });

  test("parses, and passes shellcheck where it is installed", () => {
    expect(Bun.spawnSync(["bash", "-n", RUNNER]).exitCode).toBe(0);
    if (!Bun.which("shellcheck")) {
      console.log("shellcheck is not installed (apt-get install shellcheck): skipped");
      return;
    }
    const run = Bun.spawnSync(["shellcheck", RUNNER]);
    expect(run.stdout.toString()).toBe("");
    expect(run.exitCode).toBe(0);
  });
});

// Packs what a borrowed GPU machine needs for the GPU check into compressed parts of at most 48 MiB (bench/gpu/README.md).
//
// The machine has Python with PyTorch's CUDA 13 and cuDNN libraries, but no Bun, no npm and no network, and each call
// to it carries at most 64 MiB of ignored files. So the payload (the Bun binary, node_modules with the GPU runtime
// `bun run setup:gpu` assembled, less the packages only development needs) is one tar.xz stream split into parts in
// .gpu-parts/, with SHA256SUMS; bench/gpu/gpu-check.sh checks the parts as they arrive and unpacks them once all
// are there. The fixture models are not packed: `bun run fixtures` rebuilds them there, byte for byte, in a second.
//   bun bench/gpu/pack.ts                   pack into .gpu-parts/ (a few minutes of xz on 2 cores)
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

export const REPO_ROOT = join(import.meta.dir, "../..");
export const PARTS_DIR = join(REPO_ROOT, ".gpu-parts");
/** Largest part: a call to the GPU machine carries at most 64 MiB, the working tree included (~10 MiB with the demo models; a test checks the sum). */
export const PART_BYTES = 48 * 2 ** 20;
export const PART_PREFIX = "payload.tar.xz.part-";
export const SUMS_FILE = "SHA256SUMS";
/** Where the Bun binary lands on the GPU machine, relative to the repository root (gpu-check.sh puts it on PATH). */
export const BUN_IN_PAYLOAD = ".gpu-check/bin/bun";

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function readPackage(dir: string): PackageJson | null {
  const path = join(dir, "package.json");
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as PackageJson) : null;
}

/** Every installed package `roots` need, themselves included (a flat node_modules, as Bun installs it). */
function closure(nodeModules: string, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const manifest = readPackage(join(nodeModules, name));
    if (!manifest) return;
    seen.add(name);
    const peers = Object.keys(manifest.peerDependencies ?? {}).filter((name) => !manifest.peerDependenciesMeta?.[name]?.optional);
    for (const dependency of [...Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }), ...peers]) visit(dependency);
  };
  for (const root of roots) visit(root);
  return seen;
}

/**
 * The node_modules paths the GPU machine does without: packages only the development dependencies need (the
 * TypeScript compiler, the Kubernetes schemas, ...) and the npm ONNX Runtime package's libraries (the GPU runtime
 * replaces them; its package.json stays, for the version the tests read). Paths relative to the repository root.
 */
export function excludedModules(root: string = REPO_ROOT): string[] {
  const nodeModules = join(root, "node_modules");
  const manifest = readPackage(root) ?? {};
  const production = closure(nodeModules, Object.keys(manifest.dependencies ?? {}));
  const development = closure(nodeModules, Object.keys(manifest.devDependencies ?? {}));
  const devOnly = [...development].filter((name) => !production.has(name)).sort();
  return [...devOnly.map((name) => `node_modules/${name}`), "node_modules/com.github.asus4.onnxruntime/Plugins", "node_modules/.cache"];
}

export interface PackPlan {
  /** Directory paths are taken from here. */
  root: string;
  /** Paths under `root` to pack (directories whole). */
  paths: string[];
  /** Paths under `root` to leave out. */
  excludes: string[];
  /** Files from elsewhere and the payload path each lands at. */
  extras: { from: string; to: string }[];
  outDir: string;
  partBytes: number;
}

/** The parts in `dir`, in order. */
export function partFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.startsWith(PART_PREFIX))
        .sort()
    : [];
}

/** tar | xz | split into `outDir`, then SHA256SUMS; returns the parts' names. Replaces what `outDir` held. */
export function pack(plan: PackPlan): string[] {
  rmSync(plan.outDir, { recursive: true, force: true });
  mkdirSync(plan.outDir, { recursive: true });
  const staging = mkdtempSync(join(tmpdir(), "gpu-pack-"));
  try {
    for (const extra of plan.extras) {
      mkdirSync(join(staging, extra.to, ".."), { recursive: true });
      copyFileSync(extra.from, join(staging, extra.to));
      // Keep the executable bit (copyFileSync copies the mode on Linux; make sure).
      Bun.spawnSync(["chmod", "--reference", extra.from, join(staging, extra.to)]);
    }
    const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
    const excludes = plan.excludes.map((path) => `--exclude=${quote(path)}`).join(" ");
    const extraPaths = plan.extras.map((extra) => quote(extra.to)).join(" ");
    const script = [
      "set -euo pipefail",
      `tar --anchored ${excludes} -C ${quote(plan.root)} -cf - ${plan.paths.map(quote).join(" ")}${extraPaths ? ` -C ${quote(staging)} ${extraPaths}` : ""} | xz -T2 -6 | split -b ${plan.partBytes} -d -a 2 - ${quote(join(plan.outDir, PART_PREFIX))}`,
    ].join("\n");
    const packed = Bun.spawnSync(["bash", "-c", script], { stdout: "inherit", stderr: "inherit" });
    if (packed.exitCode !== 0) throw new Error(`packing failed (exit ${packed.exitCode})`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const parts = partFiles(plan.outDir);
  const sums = Bun.spawnSync(["sha256sum", ...parts], { cwd: plan.outDir });
  if (sums.exitCode !== 0) throw new Error(`sha256sum failed: ${sums.stderr.toString()}`);
  writeFileSync(join(plan.outDir, SUMS_FILE), sums.stdout.toString());
  return parts;
}

/** The run-tool calls that carry the parts and start the check (bench/gpu/README.md). */
export function callSequence(parts: readonly string[]): string[] {
  const carry = (part: string) => JSON.stringify([`.gpu-parts/${SUMS_FILE}`, `.gpu-parts/${part}`]);
  return parts.map((part, i) =>
    i < parts.length - 1
      ? `${i + 1}. carry ${carry(part)}, command "bash bench/gpu/gpu-check.sh receive", timeout_s 120`
      : `${i + 1}. carry ${carry(part)}, command "bash bench/gpu/gpu-check.sh run", timeout_s 560`,
  );
}

if (import.meta.main) {
  const gpuRuntime = join(REPO_ROOT, "node_modules/.onnxruntime-gpu/libonnxruntime.so");
  if (!existsSync(gpuRuntime)) {
    console.error(`pack: ${relative(REPO_ROOT, gpuRuntime)} is missing: run \`bun run setup:gpu\` first`);
    process.exit(1);
  }
  const began = performance.now();
  const parts = pack({
    root: REPO_ROOT,
    paths: ["node_modules"],
    excludes: excludedModules(),
    extras: [{ from: process.execPath, to: BUN_IN_PAYLOAD }],
    outDir: PARTS_DIR,
    partBytes: PART_BYTES,
  });
  const sizes = parts.map((part) => `${part} ${(statSync(join(PARTS_DIR, part)).size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`packed ${parts.length} parts in ${((performance.now() - began) / 1000).toFixed(0)} s into ${relative(REPO_ROOT, PARTS_DIR)}/:\n  ${sizes.join("\n  ")}`);
  console.log(`Calls, back to back (the machine is given back after about 30 s idle, and the parts with it):\n${callSequence(parts).join("\n")}`);
}

// GPU runtime installer (`bun run setup:gpu`): assembles a GPU-capable ONNX Runtime in one folder, node_modules/.onnxruntime-gpu.
//
// The npm package com.github.asus4.onnxruntime ships a CPU-only libonnxruntime for Linux: it lists only the CPU
// provider, and its provider-host interface lacks what the CUDA provider's kernels call back into, so loading the CUDA
// provider library into it would crash at the first run instead of falling back. onnxruntime-node ships the official
// core built for the CUDA and TensorRT providers (bin/napi-v6/linux/x64/libonnxruntime.so.1, the same C API); the
// provider libraries of the same ONNX Runtime version come from com.github.asus4.onnxruntime.linux-x64-gpu (whose version
// matches the core package's). Both are large (~110 and ~180 MB), so neither is a dependency: this script installs them
// into a temporary folder with Bun, never running their install scripts (onnxruntime-node's downloads from GitHub),
// copies the four libraries out, and checks that the new core loads and lists the CUDA and TensorRT providers.
//   bun run setup:gpu                     fetch both packages from the npm registry and assemble the folder
//   bun run setup:gpu --from <dir>        use packages already extracted in <dir>/<package name> (e.g. a node_modules)
//   bun run setup:gpu --target <dir>      assemble into <dir> instead (then point ORT_LIB_PATH at it)
// The locator (native-bindings/locate.ts) loads the folder's library whenever it exists; ORT_LIB_PATH overrides it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { GPU_RUNTIME_DIR, locateCpuOrtLibrary } from "../native-bindings/locate.ts";
import { OrtRuntime } from "../native-bindings/ort.ts";

export const CORE_PACKAGE = "com.github.asus4.onnxruntime";
export const GPU_PACKAGE = "com.github.asus4.onnxruntime.linux-x64-gpu";
export const NODE_PACKAGE = "onnxruntime-node";
/** The GPU-capable core inside onnxruntime-node. */
export const NODE_CORE_PATH = "bin/napi-v6/linux/x64/libonnxruntime.so.1";
/** The provider libraries the GPU package ships, all of which ORT loads from libonnxruntime's folder. */
export const PROVIDER_LIBRARIES = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"];
const PROVIDER_FOLDER = "Plugins/Linux/x64";
/** What the GPU runtime folder holds: the core under the name the locator looks for, and the providers. */
export const GPU_RUNTIME_FILES = ["libonnxruntime.so", ...PROVIDER_LIBRARIES];
/** Written into the folder: what it was assembled from. */
export const MANIFEST_FILE = "setup-gpu.json";

/**
 * The libraries the providers load from the host, by the provider that needs them (README "Docker and GPUs").
 * cuDNN, cuFFT and NVRTC are loaded lazily, at the first node that needs them: a missing one fails a first run.
 */
export const HOST_LIBRARIES: { library: string; from: string; neededBy: string }[] = [
  { library: "libcuda.so.1", from: "the NVIDIA driver", neededBy: "CUDA" },
  ...["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcufft.so.12", "libnvrtc.so.13"].map((library) => ({
    library,
    from: "CUDA 13",
    neededBy: "CUDA",
  })),
  { library: "libcudnn.so.9", from: "cuDNN 9", neededBy: "CUDA" },
  ...["libnvinfer.so.10", "libnvonnxparser.so.10"].map((library) => ({ library, from: "TensorRT 10.14.1 or later", neededBy: "TensorRT" })),
];

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
}

function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
}

/** The installed core package's version (the GPU package must equal it). */
export function coreVersion(): string {
  const version = readPackageJson(dirname(Bun.resolveSync(`${CORE_PACKAGE}/package.json`, import.meta.dir))).version;
  if (!version) throw new Error(`${CORE_PACKAGE} has no version in its package.json`);
  return version;
}

/** The ONNX Runtime version of the installed core package's library (onnxruntime-node must be that version). */
export function ortVersion(): string {
  const runtime = OrtRuntime.load(locateCpuOrtLibrary());
  try {
    return runtime.version;
  } finally {
    runtime.release();
  }
}

export interface GpuRuntimeSources {
  /** Extracted onnxruntime-node package. */
  nodePackageDir: string;
  /** Extracted com.github.asus4.onnxruntime.linux-x64-gpu package. */
  gpuPackageDir: string;
}

/**
 * Copies the GPU-capable core and the provider libraries into `targetDir`, replacing what was there only once every
 * file is in place. Refuses, leaving `targetDir` as it was, packages of other names or versions than
 * `versions` (the GPU package at the core package's version, onnxruntime-node at the ONNX Runtime version) or
 * packages lacking a library.
 */
export function assembleGpuRuntime(sources: GpuRuntimeSources, targetDir: string, versions: { corePackage: string; onnxruntime: string }): string[] {
  const gpu = readPackageJson(sources.gpuPackageDir);
  if (gpu.name !== GPU_PACKAGE) throw new Error(`${sources.gpuPackageDir} holds ${gpu.name ?? "an unnamed package"}, not ${GPU_PACKAGE}`);
  const wanted = gpu.dependencies?.[CORE_PACKAGE];
  if (gpu.version !== versions.corePackage || (wanted !== undefined && wanted !== versions.corePackage)) {
    throw new Error(`version mismatch: ${GPU_PACKAGE} ${gpu.version} (for ${CORE_PACKAGE} ${wanted ?? "?"}) does not match the installed ${CORE_PACKAGE} ${versions.corePackage}`);
  }
  const node = readPackageJson(sources.nodePackageDir);
  if (node.name !== NODE_PACKAGE) throw new Error(`${sources.nodePackageDir} holds ${node.name ?? "an unnamed package"}, not ${NODE_PACKAGE}`);
  if (node.version !== versions.onnxruntime) {
    throw new Error(
      `version mismatch: ${NODE_PACKAGE} ${node.version} is not ONNX Runtime ${versions.onnxruntime}, the version of ${CORE_PACKAGE} ${versions.corePackage}'s library and its GPU providers`,
    );
  }
  const copies = [
    { from: join(sources.nodePackageDir, NODE_CORE_PATH), to: "libonnxruntime.so" },
    ...PROVIDER_LIBRARIES.map((name) => ({ from: join(sources.gpuPackageDir, PROVIDER_FOLDER, name), to: name })),
  ];
  const missing = copies.filter((copy) => !existsSync(copy.from)).map((copy) => copy.from);
  if (missing.length > 0) throw new Error(`the packages lack ${missing.join(", ")}`);
  // Assemble beside the target, then swap: a failed or interrupted run never leaves a half-filled folder to load.
  const staging = `${targetDir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const copy of copies) copyFileSync(copy.from, join(staging, copy.to));
  writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify({ onnxruntime: versions.onnxruntime, [NODE_PACKAGE]: node.version, [GPU_PACKAGE]: gpu.version }, null, 2)}\n`);
  rmSync(targetDir, { recursive: true, force: true });
  renameSync(staging, targetDir);
  return copies.map((copy) => join(targetDir, copy.to));
}

/** Loads the assembled core: it must be ONNX Runtime `version` and list the CUDA and TensorRT providers. Returns the providers it lists. */
export function verifyGpuRuntime(targetDir: string, version: string): string[] {
  const runtime = OrtRuntime.load(join(targetDir, "libonnxruntime.so"));
  try {
    const providers = runtime.availableProviders();
    if (runtime.version !== version) throw new Error(`${targetDir} holds ONNX Runtime ${runtime.version}, not ${version}`);
    for (const needed of ["CUDAExecutionProvider", "TensorrtExecutionProvider"]) {
      if (!providers.includes(needed)) throw new Error(`${targetDir}/libonnxruntime.so does not list ${needed} (it lists ${providers.join(", ")})`);
    }
    return providers;
  } finally {
    runtime.release();
  }
}

/** The folders the dynamic loader searches: LD_LIBRARY_PATH, then what ldconfig knows (by library name). */
function hostLibraryFinder(): (library: string) => string | null {
  const dirs = (process.env.LD_LIBRARY_PATH ?? "").split(delimiter).filter(Boolean);
  const ldconfig = Bun.spawnSync(["sh", "-c", "ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null"]).stdout.toString();
  return (library) => {
    const dir = dirs.find((candidate) => existsSync(join(candidate, library)));
    if (dir) return join(dir, library);
    return new RegExp(`^\\s*${library.replaceAll(".", "\\.")} .*=> (\\S+)`, "m").exec(ldconfig)?.[1] ?? null;
  };
}

/** Installs both packages at the given versions into a temporary folder with Bun, running none of their scripts. */
function fetchPackages(versions: { corePackage: string; onnxruntime: string }): { tempDir: string; sources: GpuRuntimeSources } {
  const tempDir = mkdtempSync(join(tmpdir(), "setup-gpu-"));
  writeFileSync(join(tempDir, "package.json"), JSON.stringify({ private: true, dependencies: { [NODE_PACKAGE]: versions.onnxruntime, [GPU_PACKAGE]: versions.corePackage } }));
  const install = Bun.spawnSync([process.execPath, "install", "--production", "--ignore-scripts", "--no-save"], { cwd: tempDir, stdout: "inherit", stderr: "inherit" });
  if (install.exitCode !== 0) throw new Error(`bun install ${NODE_PACKAGE}@${versions.onnxruntime} ${GPU_PACKAGE}@${versions.corePackage} failed (exit ${install.exitCode})`);
  const modules = join(tempDir, "node_modules");
  return { tempDir, sources: { nodePackageDir: join(modules, NODE_PACKAGE), gpuPackageDir: join(modules, GPU_PACKAGE) } };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (import.meta.main) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    console.error(`setup:gpu: the GPU runtime is for Linux x64 only (this is ${process.platform} ${process.arch})`);
    process.exit(1);
  }
  const from = argument("--from");
  const targetDir = argument("--target") ?? GPU_RUNTIME_DIR;
  let fetched: { tempDir: string; sources: GpuRuntimeSources } | null = null;
  try {
    const versions = { corePackage: coreVersion(), onnxruntime: ortVersion() };
    fetched = from ? null : fetchPackages(versions);
    const sources = fetched?.sources ?? { nodePackageDir: join(from!, NODE_PACKAGE), gpuPackageDir: join(from!, GPU_PACKAGE) };
    for (const installed of assembleGpuRuntime(sources, targetDir, versions)) console.log(`installed ${installed}`);
    console.log(`ONNX Runtime ${versions.onnxruntime} in ${targetDir} lists ${verifyGpuRuntime(targetDir, versions.onnxruntime).join(", ")}`);
    const find = hostLibraryFinder();
    console.log("Libraries the GPU providers load from this host:");
    for (const { library, from: source, neededBy } of HOST_LIBRARIES)
      console.log(`  ${library.padEnd(24)} ${source.padEnd(26)} ${neededBy.padEnd(9)} ${find(library) ?? "not found"}`);
    console.log(
      "Missing ones: install them, or add their folders to LD_LIBRARY_PATH (PyTorch's pip packages: site-packages/nvidia/cu13/lib, site-packages/nvidia/cudnn/lib, site-packages/tensorrt_libs).",
    );
  } catch (error) {
    console.error(`setup:gpu: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    if (fetched) rmSync(fetched.tempDir, { recursive: true, force: true });
  }
}

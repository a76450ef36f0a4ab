// GPU provider installer (`bun run setup:gpu`): puts ONNX Runtime's CUDA and TensorRT provider libraries next to libonnxruntime.so.
//
// They come from the npm package com.github.asus4.onnxruntime.linux-x64-gpu at exactly the installed core
// package's version (ORT refuses provider libraries of another version). It is ~180 MB, so it is not a dependency:
// this script installs it into a temporary folder with Bun and copies the libraries out.
//   bun run setup:gpu                      install for the libonnxruntime.so in use (ORT_LIB_PATH honoured)
//   bun run setup:gpu --from <folder>      use an already extracted package (e.g. from `npm pack`)
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { locateOrtLibrary } from "../native-bindings/locate.ts";

export const CORE_PACKAGE = "com.github.asus4.onnxruntime";
export const GPU_PACKAGE = "com.github.asus4.onnxruntime.linux-x64-gpu";
/** The provider libraries the GPU package ships, all of which ORT loads from libonnxruntime's folder. */
export const PROVIDER_LIBRARIES = ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so", "libonnxruntime_providers_shared.so"];
const LIBRARY_FOLDER = "Plugins/Linux/x64";

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
}

function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
}

/** The installed core package's version (the GPU package must match it exactly). */
export function coreVersion(): string {
  const version = readPackageJson(dirname(Bun.resolveSync(`${CORE_PACKAGE}/package.json`, import.meta.dir))).version;
  if (!version) throw new Error(`${CORE_PACKAGE} has no version in its package.json`);
  return version;
}

/**
 * Copies the provider libraries of the extracted GPU package in `packageDir` into `targetDir` (the folder of
 * libonnxruntime.so). Refuses, copying nothing, when the package is not the GPU package of `version`.
 */
export function installGpuProviders(packageDir: string, targetDir: string, version: string): string[] {
  const pkg = readPackageJson(packageDir);
  if (pkg.name !== GPU_PACKAGE) throw new Error(`${packageDir} holds ${pkg.name ?? "an unnamed package"}, not ${GPU_PACKAGE}`);
  const wanted = pkg.dependencies?.[CORE_PACKAGE];
  if (pkg.version !== version || (wanted !== undefined && wanted !== version)) {
    throw new Error(`version mismatch: ${GPU_PACKAGE} ${pkg.version} (for ${CORE_PACKAGE} ${wanted ?? "?"}) does not match the installed ${CORE_PACKAGE} ${version}`);
  }
  const sources = PROVIDER_LIBRARIES.map((name) => join(packageDir, LIBRARY_FOLDER, name));
  const missing = sources.filter((source) => !existsSync(source));
  if (missing.length > 0) throw new Error(`${GPU_PACKAGE} ${pkg.version} lacks ${missing.join(", ")}`);
  return sources.map((source, i) => {
    const target = join(targetDir, PROVIDER_LIBRARIES[i]!);
    // Package managers hard-link installed files to their cache: replace the link, never write through it.
    if (existsSync(target)) unlinkSync(target);
    copyFileSync(source, target);
    return target;
  });
}

/** Installs the GPU package at `version` into a temporary folder with Bun; returns that folder and the package's. */
function fetchGpuPackage(version: string): { tempDir: string; packageDir: string } {
  const tempDir = mkdtempSync(join(tmpdir(), "setup-gpu-"));
  writeFileSync(join(tempDir, "package.json"), JSON.stringify({ private: true, dependencies: { [GPU_PACKAGE]: version } }));
  const install = Bun.spawnSync([process.execPath, "install", "--production", "--ignore-scripts", "--no-save"], { cwd: tempDir, stdout: "inherit", stderr: "inherit" });
  if (install.exitCode !== 0) throw new Error(`bun install ${GPU_PACKAGE}@${version} failed (exit ${install.exitCode})`);
  return { tempDir, packageDir: join(tempDir, "node_modules", GPU_PACKAGE) };
}

if (import.meta.main) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    console.error(`setup:gpu: ${GPU_PACKAGE} is for Linux x64 only (this is ${process.platform} ${process.arch})`);
    process.exit(1);
  }
  const fromIndex = process.argv.indexOf("--from");
  const version = coreVersion();
  const targetDir = dirname(locateOrtLibrary());
  const fetched = fromIndex >= 0 ? null : fetchGpuPackage(version);
  try {
    const packageDir = fromIndex >= 0 ? process.argv[fromIndex + 1]! : fetched!.packageDir;
    for (const installed of installGpuProviders(packageDir, targetDir, version)) console.log(`installed ${installed}`);
    console.log("CUDA 13 (cuBLAS, cuRAND, cuDNN 9) must be on the library path; TensorRT also needs TensorRT 10 and a GPU build of libonnxruntime.");
  } catch (error) {
    console.error(`setup:gpu: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    if (fetched) rmSync(fetched.tempDir, { recursive: true, force: true });
  }
}

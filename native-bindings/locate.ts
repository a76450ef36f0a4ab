// Locating ONNX Runtime on disk: the shared library to dlopen and the C API headers it was built from.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** The npm package that ships prebuilt ONNX Runtime binaries and headers (its Linux library is a CPU-only build). */
const PACKAGE_NAME = "com.github.asus4.onnxruntime";

/**
 * Where `bun run setup:gpu` assembles the GPU-capable ONNX Runtime: onnxruntime-node's libonnxruntime (built with
 * the CUDA and TensorRT providers) beside the provider libraries of the same version (README "Docker and GPUs").
 */
export const GPU_RUNTIME_DIR = join(import.meta.dir, "..", "node_modules", ".onnxruntime-gpu");

/** Library file name and plugin folder inside the package, per platform. */
function platformLibrary(): { fileName: string; pluginDir: string } {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  switch (process.platform) {
    case "darwin":
      return { fileName: "libonnxruntime.dylib", pluginDir: join("macOS", arch) };
    case "win32":
      return { fileName: "onnxruntime.dll", pluginDir: join("Windows", arch) };
    default:
      return { fileName: "libonnxruntime.so", pluginDir: join("Linux", arch) };
  }
}

function packageRoot(): string | undefined {
  try {
    return dirname(Bun.resolveSync(`${PACKAGE_NAME}/package.json`, import.meta.dir));
  } catch {
    return undefined;
  }
}

/**
 * The ONNX Runtime shared library to load. `override` (default: env ORT_LIB_PATH) may name the library file itself
 * or a directory holding it. Otherwise the GPU-capable library `bun run setup:gpu` installed in GPU_RUNTIME_DIR when
 * it is there (it runs the CPU provider as fast as the npm package's: BENCHMARKS.md "GPU check"), else the CPU-only
 * library bundled in the npm package.
 */
export function locateOrtLibrary(override: string | undefined = process.env.ORT_LIB_PATH): string {
  const { fileName } = platformLibrary();
  if (override) {
    const isDirectory = existsSync(override) && statSync(override).isDirectory();
    return existingLibrary([isDirectory ? join(override, fileName) : override]);
  }
  const gpuRuntime = join(GPU_RUNTIME_DIR, fileName);
  return isFile(gpuRuntime) ? gpuRuntime : locateCpuOrtLibrary();
}

/** The npm package's own library: a CPU-only build, the one the CPU image runs. */
export function locateCpuOrtLibrary(): string {
  const { fileName, pluginDir } = platformLibrary();
  const root = packageRoot();
  return existingLibrary(root ? [join(root, "Plugins", pluginDir, fileName)] : []);
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function existingLibrary(candidates: string[]): string {
  const found = candidates.find(isFile);
  if (found) return found;
  const tried = candidates.length > 0 ? candidates.join(", ") : `(package ${PACKAGE_NAME} is not installed)`;
  throw new Error(`ONNX Runtime library ${platformLibrary().fileName} not found; tried: ${tried}. Set ORT_LIB_PATH to the file or its directory.`);
}

/** The directory holding onnxruntime_c_api.h shipped with the same package (inside an Apple framework). */
export function locateOrtHeaderDir(): string {
  const root = packageRoot();
  if (!root) throw new Error(`ONNX Runtime headers not found: package ${PACKAGE_NAME} is not installed`);
  const pattern = "Plugins/**/Headers/onnxruntime_c_api.h";
  // Every framework slice carries identical headers; sorting makes the choice deterministic.
  const matches = [...new Bun.Glob(pattern).scanSync({ cwd: root, followSymlinks: true })].sort();
  const first = matches[0];
  if (!first) throw new Error(`ONNX Runtime headers not found: no match for ${join(root, pattern)}`);
  return dirname(join(root, first));
}

// Locating ONNX Runtime on disk: the shared library to dlopen and the C API headers it was built from.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** The npm package that ships prebuilt ONNX Runtime binaries and headers. */
const PACKAGE_NAME = "com.github.asus4.onnxruntime";

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
 * The ONNX Runtime shared library to load. `override` (default: env ORT_LIB_PATH) may name the
 * library file itself or a directory holding it; otherwise the library bundled in the npm package.
 */
export function locateOrtLibrary(override: string | undefined = process.env.ORT_LIB_PATH): string {
  const { fileName, pluginDir } = platformLibrary();
  const candidates: string[] = [];
  if (override) {
    const isDirectory = existsSync(override) && statSync(override).isDirectory();
    candidates.push(isDirectory ? join(override, fileName) : override);
  } else {
    const root = packageRoot();
    if (root) candidates.push(join(root, "Plugins", pluginDir, fileName));
  }
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
  if (found) return found;
  const tried = candidates.length > 0 ? candidates.join(", ") : `(package ${PACKAGE_NAME} is not installed)`;
  throw new Error(`ONNX Runtime library ${fileName} not found; tried: ${tried}. Set ORT_LIB_PATH to the file or its directory.`);
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

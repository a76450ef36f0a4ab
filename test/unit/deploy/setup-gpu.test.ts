// Specification of `bun run setup:gpu`: onnxruntime-node's GPU-capable core and the GPU package's provider libraries, of
// one ONNX Runtime version, assembled in one folder; and the folder it installed here, where it did.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GPU_RUNTIME_DIR } from "../../../native-bindings/locate.ts";
import {
  CORE_PACKAGE,
  GPU_PACKAGE,
  GPU_RUNTIME_FILES,
  HOST_LIBRARIES,
  MANIFEST_FILE,
  NODE_CORE_PATH,
  NODE_PACKAGE,
  PROVIDER_LIBRARIES,
  assembleGpuRuntime,
  coreVersion,
  ortVersion,
  verifyGpuRuntime,
} from "../../../scripts/setup-gpu.ts";

let dir: string;
let sources: { nodePackageDir: string; gpuPackageDir: string };
let targetDir: string;
const versions = { corePackage: "0.4.9", onnxruntime: "1.29.0" };

/** Writes an extracted package whose files hold their own names. */
function writePackage(packageDir: string, manifest: object, files: string[]): void {
  rmSync(packageDir, { recursive: true, force: true });
  mkdirSync(packageDir, { recursive: true });
  writeFileSync(join(packageDir, "package.json"), JSON.stringify(manifest));
  for (const file of files) {
    mkdirSync(dirname(join(packageDir, file)), { recursive: true });
    writeFileSync(join(packageDir, file), `from ${file}`);
  }
}

const gpuFiles = (libraries = PROVIDER_LIBRARIES) => libraries.map((name) => `Plugins/Linux/x64/${name}`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "setup-gpu-"));
  sources = { nodePackageDir: join(dir, NODE_PACKAGE), gpuPackageDir: join(dir, GPU_PACKAGE) };
  targetDir = join(dir, "node_modules", ".onnxruntime-gpu");
  writePackage(sources.nodePackageDir, { name: NODE_PACKAGE, version: "1.29.0" }, [NODE_CORE_PATH]);
  writePackage(sources.gpuPackageDir, { name: GPU_PACKAGE, version: "0.4.9", dependencies: { [CORE_PACKAGE]: "0.4.9" } }, gpuFiles());
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("assembleGpuRuntime", () => {
  test("puts onnxruntime-node's core, as libonnxruntime.so, beside the GPU package's provider libraries, and notes the versions", () => {
    const installed = assembleGpuRuntime(sources, targetDir, versions);
    expect(installed).toEqual(GPU_RUNTIME_FILES.map((name) => join(targetDir, name)));
    expect(readFileSync(join(targetDir, "libonnxruntime.so"), "utf8")).toBe(`from ${NODE_CORE_PATH}`);
    for (const name of PROVIDER_LIBRARIES) expect(readFileSync(join(targetDir, name), "utf8")).toBe(`from Plugins/Linux/x64/${name}`);
    expect(JSON.parse(readFileSync(join(targetDir, MANIFEST_FILE), "utf8"))).toEqual({ onnxruntime: "1.29.0", [NODE_PACKAGE]: "1.29.0", [GPU_PACKAGE]: "0.4.9" });
  });

  test("replaces a folder assembled before, leaving nothing of it or of the staging folder", () => {
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(join(targetDir, "libonnxruntime_providers_stale.so"), "old");
    assembleGpuRuntime(sources, targetDir, versions);
    expect(readdirSync(targetDir).sort()).toEqual([...GPU_RUNTIME_FILES, MANIFEST_FILE].sort());
    expect(readdirSync(dirname(targetDir))).toEqual([".onnxruntime-gpu"]);
  });

  test("refuses a GPU package of another version than the core package, leaving the folder as it was", () => {
    mkdirSync(targetDir, { recursive: true });
    writeFileSync(join(targetDir, "libonnxruntime.so"), "working");
    writePackage(sources.gpuPackageDir, { name: GPU_PACKAGE, version: "0.4.8", dependencies: { [CORE_PACKAGE]: "0.4.8" } }, gpuFiles());
    expect(() => assembleGpuRuntime(sources, targetDir, versions)).toThrow(/version mismatch: .*0\.4\.8.* does not match the installed com\.github\.asus4\.onnxruntime 0\.4\.9/);
    writePackage(sources.gpuPackageDir, { name: GPU_PACKAGE, version: "0.4.9", dependencies: { [CORE_PACKAGE]: "0.4.8" } }, gpuFiles());
    expect(() => assembleGpuRuntime(sources, targetDir, versions)).toThrow(/version mismatch/);
    expect(readdirSync(targetDir)).toEqual(["libonnxruntime.so"]);
    expect(readFileSync(join(targetDir, "libonnxruntime.so"), "utf8")).toBe("working");
  });

  test("refuses onnxruntime-node of another ONNX Runtime version than the providers'", () => {
    writePackage(sources.nodePackageDir, { name: NODE_PACKAGE, version: "1.31.1" }, [NODE_CORE_PATH]);
    expect(() => assembleGpuRuntime(sources, targetDir, versions)).toThrow(/version mismatch: onnxruntime-node 1\.31\.1 is not ONNX Runtime 1\.29\.0/);
    expect(existsSync(targetDir)).toBe(false);
  });

  test("refuses other packages, or packages missing a library", () => {
    writePackage(sources.gpuPackageDir, { name: CORE_PACKAGE, version: "0.4.9" }, gpuFiles());
    expect(() => assembleGpuRuntime(sources, targetDir, versions)).toThrow(/not com\.github\.asus4\.onnxruntime\.linux-x64-gpu/);
    writePackage(sources.gpuPackageDir, { name: GPU_PACKAGE, version: "0.4.9" }, gpuFiles(["libonnxruntime_providers_cuda.so"]));
    expect(() => assembleGpuRuntime(sources, targetDir, versions)).toThrow(/lack .*libonnxruntime_providers_shared\.so, .*libonnxruntime_providers_tensorrt\.so/);
    writePackage(sources.gpuPackageDir, { name: GPU_PACKAGE, version: "0.4.9" }, gpuFiles());
    writePackage(sources.nodePackageDir, { name: NODE_PACKAGE, version: "1.29.0" }, ["bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib"]);
    expect(() => assembleGpuRuntime(sources, targetDir, versions)).toThrow(/lack .*linux\/x64\/libonnxruntime\.so\.1/);
    expect(existsSync(targetDir)).toBe(false);
  });
});

describe("verifyGpuRuntime", () => {
  test("refuses a folder whose library is not an ONNX Runtime", () => {
    assembleGpuRuntime(sources, targetDir, versions);
    expect(() => verifyGpuRuntime(targetDir, "1.29.0")).toThrow();
  });

  test.skipIf(!existsSync(join(GPU_RUNTIME_DIR, "libonnxruntime.so")))(
    "accepts the folder setup:gpu installed here: the npm package's ONNX Runtime version, CUDA and TensorRT listed",
    () => {
      const providers = verifyGpuRuntime(GPU_RUNTIME_DIR, ortVersion());
      expect(providers).toEqual(expect.arrayContaining(["CUDAExecutionProvider", "TensorrtExecutionProvider"]));
      expect(readdirSync(GPU_RUNTIME_DIR).sort()).toEqual([...GPU_RUNTIME_FILES, MANIFEST_FILE].sort());
      expect(JSON.parse(readFileSync(join(GPU_RUNTIME_DIR, MANIFEST_FILE), "utf8"))).toMatchObject({ onnxruntime: ortVersion(), [GPU_PACKAGE]: coreVersion() });
    },
  );
});

test("reads the installed core package's version and ONNX Runtime's, which the two packages must equal", () => {
  expect(coreVersion()).toBe("0.4.9");
  expect(ortVersion()).toBe("1.29.0");
});

test("names every library the GPU providers load from the host: CUDA 13's, cuDNN 9 and TensorRT 10", () => {
  expect(HOST_LIBRARIES.map((entry) => entry.library)).toEqual([
    "libcuda.so.1",
    "libcudart.so.13",
    "libcublas.so.13",
    "libcublasLt.so.13",
    "libcurand.so.10",
    "libcufft.so.12",
    "libnvrtc.so.13",
    "libcudnn.so.9",
    "libnvinfer.so.10",
    "libnvonnxparser.so.10",
  ]);
  // The README's list of what a GPU host needs names each of them.
  const readme = readFileSync(join(import.meta.dir, "../../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Docker and GPUs"), readme.indexOf("## Running many replicas"));
  for (const { library } of HOST_LIBRARIES) expect({ library, named: section.includes(library) }).toEqual({ library, named: true });
});

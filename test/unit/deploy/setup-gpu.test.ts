// Specification of `bun run setup:gpu`'s copying step: the GPU package's provider libraries land next to libonnxruntime.so, only at the matching version.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CORE_PACKAGE, GPU_PACKAGE, PROVIDER_LIBRARIES, coreVersion, installGpuProviders } from "../../../scripts/setup-gpu.ts";

let dir: string;
let packageDir: string;
let targetDir: string;

/** Writes an extracted GPU package whose libraries hold their own names. */
function writePackage(manifest: object, libraries = PROVIDER_LIBRARIES): void {
  mkdirSync(join(packageDir, "Plugins/Linux/x64"), { recursive: true });
  writeFileSync(join(packageDir, "package.json"), JSON.stringify(manifest));
  for (const name of libraries) writeFileSync(join(packageDir, "Plugins/Linux/x64", name), `gpu ${name}`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "setup-gpu-"));
  packageDir = join(dir, "package");
  targetDir = join(dir, "ort");
  mkdirSync(targetDir);
  writeFileSync(join(targetDir, "libonnxruntime.so"), "core");
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("installGpuProviders", () => {
  test("copies the CUDA, TensorRT and shared provider libraries next to libonnxruntime.so", () => {
    writePackage({ name: GPU_PACKAGE, version: "0.4.9", dependencies: { [CORE_PACKAGE]: "0.4.9" } });
    const installed = installGpuProviders(packageDir, targetDir, "0.4.9");
    expect(installed).toEqual(PROVIDER_LIBRARIES.map((name) => join(targetDir, name)));
    for (const name of PROVIDER_LIBRARIES) expect(readFileSync(join(targetDir, name), "utf8")).toBe(`gpu ${name}`);
  });

  test("replaces a hard-linked library instead of writing through the link into the package manager's cache", () => {
    writePackage({ name: GPU_PACKAGE, version: "0.4.9" });
    const cached = join(dir, "cache-copy.so");
    writeFileSync(cached, "core shared");
    linkSync(cached, join(targetDir, "libonnxruntime_providers_shared.so"));
    installGpuProviders(packageDir, targetDir, "0.4.9");
    expect(readFileSync(cached, "utf8")).toBe("core shared");
    expect(readFileSync(join(targetDir, "libonnxruntime_providers_shared.so"), "utf8")).toBe("gpu libonnxruntime_providers_shared.so");
  });

  test("refuses a GPU package of another version, copying nothing", () => {
    writePackage({ name: GPU_PACKAGE, version: "0.4.8", dependencies: { [CORE_PACKAGE]: "0.4.8" } });
    expect(() => installGpuProviders(packageDir, targetDir, "0.4.9")).toThrow(/version mismatch/);
    writePackage({ name: GPU_PACKAGE, version: "0.4.9", dependencies: { [CORE_PACKAGE]: "0.4.8" } });
    expect(() => installGpuProviders(packageDir, targetDir, "0.4.9")).toThrow(/version mismatch/);
    for (const name of PROVIDER_LIBRARIES) expect(existsSync(join(targetDir, name))).toBe(false);
  });

  test("refuses another package, or one missing a provider library", () => {
    writePackage({ name: CORE_PACKAGE, version: "0.4.9" });
    expect(() => installGpuProviders(packageDir, targetDir, "0.4.9")).toThrow(/not com\.github\.asus4\.onnxruntime\.linux-x64-gpu/);
    rmSync(packageDir, { recursive: true });
    writePackage({ name: GPU_PACKAGE, version: "0.4.9" }, ["libonnxruntime_providers_cuda.so"]);
    expect(() => installGpuProviders(packageDir, targetDir, "0.4.9")).toThrow(/lacks .*libonnxruntime_providers_tensorrt\.so/);
  });
});

test("reads the installed core package's version, which the GPU package must equal", () => {
  expect(coreVersion()).toBe("0.4.9");
});

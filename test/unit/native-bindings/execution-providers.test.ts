// Specification of GPU execution provider selection (TensorRT, CUDA) and its fallback, checked without a GPU.
//
// A copy of libonnxruntime sits in a temporary folder beside provider libraries that cannot load (empty files):
// ORT then really tries to load them, fails, and the session must fall back in the order asked for.
import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { locateOrtLibrary } from "../../../native-bindings/locate.ts";
import { OrtRuntime, parseExecutionProviders, tensorRtProviderOptions } from "../../../native-bindings/ort.ts";
import { OnnxGraph } from "../../fixtures/onnx/graph.ts";

let dir: string;
let modelPath: string;
/** ONNX Runtime loaded from a folder whose CUDA and TensorRT provider libraries are broken. */
let brokenGpu: OrtRuntime;
/** ONNX Runtime loaded from a folder with no GPU provider library at all. */
let cpuOnly: OrtRuntime;

function runtimeIn(folder: string, providerLibraries: string[]): OrtRuntime {
  const library = locateOrtLibrary();
  copyFileSync(library, join(folder, "libonnxruntime.so"));
  copyFileSync(join(dirname(library), "libonnxruntime_providers_shared.so"), join(folder, "libonnxruntime_providers_shared.so"));
  for (const name of providerLibraries) writeFileSync(join(folder, name), "");
  return OrtRuntime.load(join(folder, "libonnxruntime.so"));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ort-providers-"));
  const g = new OnnxGraph("identity");
  g.op("Identity", [g.input("x", ["batch", 2])], {}, "y");
  g.output("y", ["batch", 2]);
  modelPath = join(dir, "identity.onnx");
  writeFileSync(modelPath, g.toBytes({ opset: 17 }));
  const broken = join(dir, "broken-gpu");
  const plain = join(dir, "cpu-only");
  mkdirSync(broken);
  mkdirSync(plain);
  brokenGpu = runtimeIn(broken, ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"]);
  cpuOnly = runtimeIn(plain, []);
});

afterAll(() => {
  brokenGpu?.release();
  cpuOnly?.release();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` with console.warn captured; returns what was warned. */
function warnings(body: () => void): string[] {
  const warn = spyOn(console, "warn").mockImplementation(() => {});
  try {
    body();
    return warn.mock.calls.map((call) => String(call[0]));
  } finally {
    warn.mockRestore();
  }
}

describe("execution provider fallback", () => {
  test("tries TensorRT, then CUDA, then CPU, warning about each GPU provider that failed to start", () => {
    let active = "";
    const warned = warnings(() => {
      const session = brokenGpu.createSession(modelPath, { executionProviders: ["tensorrt", "cuda", "cpu"], tensorrt: { fp16: true } });
      active = session.activeProvider;
      session.release();
    });
    expect(active).toBe("cpu");
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatch(/^TensorRT execution provider failed .*; trying CUDA: .*built without TensorRT/);
    // ORT really tried to load the CUDA provider library as an EP plugin (the npm package's libonnxruntime is CPU-only).
    expect(warned[1]).toMatch(/^CUDA execution provider failed .*; trying CPU: Failed to load library .*libonnxruntime_providers_cuda\.so/);
  });

  test("falls back silently when no GPU provider library is installed", () => {
    let active = "";
    const warned = warnings(() => {
      const session = cpuOnly.createSession(modelPath, { executionProviders: ["tensorrt", "cuda", "cpu"] });
      active = session.activeProvider;
      session.release();
    });
    expect(active).toBe("cpu");
    expect(warned).toEqual([]);
  });

  test("refuses, naming every reason, when no provider asked for can start and CPU was not allowed", () => {
    expect(() => brokenGpu.createSession(modelPath, { executionProviders: ["tensorrt", "cuda"] })).toThrow(
      /TensorRT, CUDA execution provider requested for .* but unavailable: TensorRT: .*built without TensorRT.*; CUDA: Failed to load library/,
    );
    expect(() => cpuOnly.createSession(modelPath, { executionProviders: ["cuda"] })).toThrow(/libonnxruntime_providers_cuda\.so does not exist \(bun run setup:gpu installs it\)/);
  });

  test("uses CPU when CPU comes first, without touching the GPU providers", () => {
    const warned = warnings(() => {
      const session = brokenGpu.createSession(modelPath, { executionProviders: ["cpu", "cuda"] });
      expect(session.activeProvider).toBe("cpu");
      session.release();
    });
    expect(warned).toEqual([]);
  });
});

describe("parseExecutionProviders", () => {
  test("accepts tensorrt, cuda and cpu in any order of preference", () => {
    expect(parseExecutionProviders(["tensorrt", "cuda", "cpu"])).toEqual(["tensorrt", "cuda", "cpu"]);
    expect(parseExecutionProviders(["cpu"])).toEqual(["cpu"]);
  });

  test("rejects an empty list and unknown providers", () => {
    expect(() => parseExecutionProviders([])).toThrow(/executionProviders/);
    expect(() => parseExecutionProviders(["cuda", "rocm"])).toThrow(/rocm/);
  });
});

describe("tensorRtProviderOptions", () => {
  test("selects the device and leaves fp16 and the engine cache off by default", () => {
    expect(tensorRtProviderOptions(1, {})).toEqual({ device_id: "1", trt_fp16_enable: "0" });
  });

  test("keeps engines and the timing cache in the engine cache folder", () => {
    expect(tensorRtProviderOptions(0, { engineCachePath: "/cache/.tensorrt", fp16: true })).toEqual({
      device_id: "0",
      trt_fp16_enable: "1",
      trt_engine_cache_enable: "1",
      trt_engine_cache_path: "/cache/.tensorrt",
      trt_timing_cache_enable: "1",
      trt_timing_cache_path: "/cache/.tensorrt",
    });
  });

  test("writes optimisation profiles in ORT's name:AxBxC syntax", () => {
    const options = tensorRtProviderOptions(0, {
      profile: {
        min: { images: [1, 3, 640, 640] },
        opt: { images: [32, 3, 640, 640] },
        max: { images: [32, 3, 640, 640], mask: [32, 1] },
      },
    });
    expect(options.trt_profile_min_shapes).toBe("images:1x3x640x640");
    expect(options.trt_profile_opt_shapes).toBe("images:32x3x640x640");
    expect(options.trt_profile_max_shapes).toBe("images:32x3x640x640,mask:32x1");
  });
});

// Specification of GPU execution provider selection (TensorRT, CUDA) and its fallback, checked without a GPU.
//
// Copies of a libonnxruntime sit in temporary folders beside provider libraries that cannot load (empty files): ORT then
// really tries to load them, fails, and the session must fall back in the order asked for. The GPU runtime
// `bun run setup:gpu` installs is tested as installed (its tests are skipped, saying so, where it is not).
import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GPU_RUNTIME_DIR, locateCpuOrtLibrary } from "../../../native-bindings/locate.ts";
import { cudaProviderOptions, OrtRuntime, parseExecutionProviders, sessionConfigEntries, tensorRtProviderOptions } from "../../../native-bindings/ort.ts";
import { OnnxGraph } from "../../fixtures/onnx/graph.ts";

const GPU_CORE = join(GPU_RUNTIME_DIR, "libonnxruntime.so");
const gpuRuntimeInstalled = existsSync(GPU_CORE);
if (!gpuRuntimeInstalled) console.log(`${GPU_CORE} is not installed (bun run setup:gpu): the tests of the GPU runtime are skipped`);

let dir: string;
let modelPath: string;
const runtimes: OrtRuntime[] = [];

/** ONNX Runtime loaded from a copy of `core` in a folder of its own, beside empty (unloadable) provider libraries. */
function runtimeIn(name: string, core: string, brokenProviders: string[]): OrtRuntime {
  const folder = join(dir, name);
  mkdirSync(folder);
  copyFileSync(core, join(folder, "libonnxruntime.so"));
  copyFileSync(join(dirname(core), "libonnxruntime_providers_shared.so"), join(folder, "libonnxruntime_providers_shared.so"));
  for (const library of brokenProviders) writeFileSync(join(folder, library), "");
  const runtime = OrtRuntime.load(join(folder, "libonnxruntime.so"));
  runtimes.push(runtime);
  return runtime;
}

const BROKEN = ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ort-providers-"));
  const g = new OnnxGraph("identity");
  g.op("Identity", [g.input("x", ["batch", 2])], {}, "y");
  g.output("y", ["batch", 2]);
  modelPath = join(dir, "identity.onnx");
  writeFileSync(modelPath, g.toBytes({ opset: 17 }));
});

afterAll(() => {
  for (const runtime of runtimes) runtime.release();
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

describe.skipIf(!gpuRuntimeInstalled)("the GPU runtime bun run setup:gpu installs", () => {
  let gpu: OrtRuntime;
  beforeAll(() => {
    gpu = OrtRuntime.load(GPU_CORE);
    runtimes.push(gpu);
  });

  test("loads through our bindings, at the npm package's ONNX Runtime version, and lists the CUDA and TensorRT providers", () => {
    const cpu = OrtRuntime.load(locateCpuOrtLibrary());
    const cpuVersion = cpu.version;
    cpu.release();
    expect(gpu.version).toBe(cpuVersion);
    expect(gpu.availableProviders()).toEqual(expect.arrayContaining(["CUDAExecutionProvider", "TensorrtExecutionProvider", "CPUExecutionProvider"]));
  });

  test("falls back to the CPU when asked for CUDA where it cannot run, logging ORT's message and keeping it as the reason", () => {
    let session: ReturnType<OrtRuntime["createSession"]> | undefined;
    const warned = warnings(() => {
      session = gpu.createSession(modelPath, { executionProviders: ["cuda", "cpu"] });
    });
    const { activeProvider, fallbacks } = session!;
    session!.release();
    if (activeProvider === "cuda") {
      console.log("CUDA runs on this machine: its fallback is checked by test/gpu instead");
      return;
    }
    expect(activeProvider).toBe("cpu");
    // ORT's own message: where its provider bridge failed and why (a missing CUDA library, no GPU, ...).
    expect(warned).toEqual([expect.stringMatching(/^CUDA execution provider failed for .*identity\.onnx; trying CPU: .*\[ONNXRuntimeError\]/)]);
    expect(fallbacks).toEqual([expect.stringMatching(/^CUDA: .*\[ONNXRuntimeError\]/)]);
  });

  test("tries TensorRT, then CUDA, then CPU, warning with ORT's message about each GPU provider library that fails to load", () => {
    const broken = runtimeIn("gpu-broken", GPU_CORE, BROKEN);
    let active = "";
    const warned = warnings(() => {
      const session = broken.createSession(modelPath, { executionProviders: ["tensorrt", "cuda", "cpu"], tensorrt: { fp16: true } });
      active = session.activeProvider;
      session.release();
    });
    expect(active).toBe("cpu");
    expect(warned).toEqual([
      expect.stringMatching(/^TensorRT execution provider failed .*; trying CUDA: .*Failed to load library .*libonnxruntime_providers_tensorrt\.so/),
      expect.stringMatching(/^CUDA execution provider failed .*; trying CPU: .*Failed to load library .*libonnxruntime_providers_cuda\.so/),
    ]);
  });

  test("refuses, naming every reason, when no provider asked for can start and CPU was not allowed", () => {
    const broken = runtimeIn("gpu-refusing", GPU_CORE, BROKEN);
    expect(() => warnings(() => broken.createSession(modelPath, { executionProviders: ["tensorrt", "cuda"] }))).toThrow(
      /TensorRT, CUDA execution provider requested for .* but unavailable: TensorRT: .*Failed to load library.*; CUDA: .*Failed to load library/,
    );
  });
});

describe("the npm package's CPU-only library", () => {
  test("never loads GPU provider libraries: it falls back at once, naming setup:gpu", () => {
    const cpuOnly = runtimeIn("cpu-core-with-providers", locateCpuOrtLibrary(), BROKEN);
    let session: ReturnType<OrtRuntime["createSession"]> | undefined;
    const warned = warnings(() => {
      session = cpuOnly.createSession(modelPath, { executionProviders: ["tensorrt", "cuda", "cpu"] });
    });
    expect(session!.activeProvider).toBe("cpu");
    session!.release();
    expect(warned).toEqual([
      expect.stringMatching(
        /^TensorRT execution provider failed .*; trying CUDA: .*is built without TensorRT \(it lists CPUExecutionProvider\); bun run setup:gpu installs a GPU build/,
      ),
      expect.stringMatching(/^CUDA execution provider failed .*; trying CPU: .*is built without CUDA/),
    ]);
    expect(warned.join("\n")).not.toContain("Failed to load library");
  });
});

describe("either library", () => {
  const cores = () => [locateCpuOrtLibrary(), ...(gpuRuntimeInstalled ? [GPU_CORE] : [])];

  test("falls back silently when no GPU provider library is installed, keeping the reason", () => {
    for (const [i, core] of cores().entries()) {
      const bare = runtimeIn(`no-providers-${i}`, core, []);
      let fallbacks: readonly string[] = [];
      const warned = warnings(() => {
        const session = bare.createSession(modelPath, { executionProviders: ["tensorrt", "cuda", "cpu"] });
        expect(session.activeProvider).toBe("cpu");
        fallbacks = session.fallbacks;
        session.release();
      });
      expect(warned).toEqual([]);
      expect(fallbacks).toEqual([
        expect.stringMatching(/^TensorRT: .*libonnxruntime_providers_tensorrt\.so does not exist \(bun run setup:gpu installs it\)$/),
        expect.stringMatching(/^CUDA: .*libonnxruntime_providers_cuda\.so does not exist/),
      ]);
      expect(() => bare.createSession(modelPath, { executionProviders: ["cuda"] })).toThrow(/libonnxruntime_providers_cuda\.so does not exist \(bun run setup:gpu installs it\)/);
    }
  });

  test("uses CPU when CPU comes first, without touching the GPU providers", () => {
    for (const [i, core] of cores().entries()) {
      const broken = runtimeIn(`cpu-first-${i}`, core, BROKEN);
      const warned = warnings(() => {
        const session = broken.createSession(modelPath, { executionProviders: ["cpu", "cuda"] });
        expect(session.activeProvider).toBe("cpu");
        expect(session.fallbacks).toEqual([]);
        session.release();
      });
      expect(warned).toEqual([]);
    }
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

describe("cudaProviderOptions", () => {
  test("selects the device and lets cuDNN's heuristics pick convolution algorithms by default", () => {
    expect(cudaProviderOptions(1)).toEqual({ device_id: "1", cudnn_conv_algo_search: "HEURISTIC" });
  });

  test("passes the algorithm search asked for", () => {
    expect(cudaProviderOptions(0, "EXHAUSTIVE")).toEqual({ device_id: "0", cudnn_conv_algo_search: "EXHAUSTIVE" });
  });
});

describe("sessionConfigEntries", () => {
  test("turns spinning off for both thread pools, and leaves ORT's default otherwise", () => {
    expect(sessionConfigEntries(false)).toEqual({ "session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0" });
    expect(sessionConfigEntries(true)).toEqual({});
  });

  test("a session whose threads do not spin opens and runs", () => {
    const runtime = OrtRuntime.load(locateCpuOrtLibrary());
    runtimes.push(runtime);
    const session = runtime.createSession(modelPath, { executionProviders: ["cpu"], intraOpThreads: 2, spinning: false });
    const [y] = session.runAllocating([{ name: "x", data: Float32Array.from([1, 2]), shape: [1, 2] }]);
    expect(Array.from(y!.data as Float32Array)).toEqual([1, 2]);
    session.release();
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

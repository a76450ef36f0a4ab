// Specification of the start-up check of the GPU execution providers and of what it means for the lane plan.
import { describe, expect, spyOn, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GPU_RUNTIME_DIR, locateCpuOrtLibrary } from "../../../native-bindings/locate.ts";
import { OrtRuntime } from "../../../native-bindings/ort.ts";
import { planInferenceLanes } from "../../../src/pipeline/inference-lanes.ts";
import {
  CHECK_INPUT_SHAPE,
  CHECK_OUTPUT_SHAPE,
  checkExecutionProviders,
  gpuProvidersAhead,
  providerCheckModel,
  resolveProviderCheck,
} from "../../../src/pipeline/provider-check.ts";

const GPU_CORE = join(GPU_RUNTIME_DIR, "libonnxruntime.so");

describe("resolveProviderCheck", () => {
  test("keeps every GPU where a GPU provider ran, and gives the workers the providers from the best that ran onwards", () => {
    const check = resolveProviderCheck(
      ["tensorrt", "cuda", "cpu"],
      [0, 1],
      [
        { deviceId: 0, provider: "cuda", fallbacks: ["TensorRT: libnvinfer.so.10: cannot open shared object file"] },
        { deviceId: 1, provider: "cuda", fallbacks: ["TensorRT: libnvinfer.so.10: cannot open shared object file"] },
      ],
    );
    expect(check).toEqual({
      providers: ["cuda", "cpu"],
      deviceIds: [0, 1],
      fallbacks: ["GPU 0: TensorRT: libnvinfer.so.10: cannot open shared object file", "GPU 1: TensorRT: libnvinfer.so.10: cannot open shared object file"],
    });
  });

  test("leaves out a GPU where no GPU provider ran (one the container does not see), saying why", () => {
    const check = resolveProviderCheck(
      ["cuda", "cpu"],
      [0, 7],
      [
        { deviceId: 0, provider: "cuda", fallbacks: [] },
        { deviceId: 7, provider: null, fallbacks: ["CUDA: CUDA failure 101: invalid device ordinal"] },
      ],
    );
    expect(check).toEqual({ providers: ["cuda", "cpu"], deviceIds: [0], fallbacks: ["GPU 7: CUDA: CUDA failure 101: invalid device ordinal"] });
  });

  test("after every GPU failed, plans the lanes as EXECUTION_PROVIDERS=cpu would on one CPU", () => {
    const check = resolveProviderCheck(
      ["cuda", "cpu"],
      [0, 1],
      [
        { deviceId: 0, provider: null, fallbacks: ["CUDA: failed at the first run: cuDNN library was not found"] },
        { deviceId: 1, provider: null, fallbacks: ["CUDA: failed at the first run: cuDNN library was not found"] },
      ],
    );
    expect(check.providers).toEqual(["cpu"]);
    expect(check.fallbacks).toHaveLength(2);
    const settings = { workersPerDevice: 0, intraOpThreads: 0, cores: 16 };
    const planned = planInferenceLanes({ ...settings, deviceIds: check.deviceIds, gpuProviders: gpuProvidersAhead(check.providers) });
    expect(planned).toEqual(planInferenceLanes({ ...settings, deviceIds: [0], gpuProviders: [] }));
    expect(planned).toEqual({ onGpu: false, workerDeviceIds: [0, 0, 0, 0], intraOpThreads: 4 });
  });

  test("refuses to start when nothing asked for runs and the CPU was not asked for", () => {
    expect(() => resolveProviderCheck(["cuda"], [0], [{ deviceId: 0, provider: null, fallbacks: ["CUDA: no CUDA-capable device is detected"] }])).toThrow(
      "EXECUTION_PROVIDERS=cuda: none of them runs here and cpu is not listed: GPU 0: CUDA: no CUDA-capable device is detected",
    );
  });

  test("keeps what was asked for when the CPU comes before every GPU provider, checking nothing", () => {
    expect(gpuProvidersAhead(["cpu", "cuda"])).toEqual([]);
    expect(resolveProviderCheck(["cpu", "cuda"], [0, 0], [])).toEqual({ providers: ["cpu", "cuda"], deviceIds: [0, 0], fallbacks: [] });
    expect(resolveProviderCheck(["cpu"], [0, 0], [])).toEqual({ providers: ["cpu"], deviceIds: [0, 0], fallbacks: [] });
  });
});

describe("providerCheckModel", () => {
  test("is a convolution ONNX Runtime opens, turning ones into ones", () => {
    const runtime = OrtRuntime.load(locateCpuOrtLibrary());
    try {
      const session = runtime.createSession({ name: "check", bytes: providerCheckModel() }, { executionProviders: ["cpu"] });
      const [y] = session.runAllocating([{ name: "x", data: new Float32Array(3 * 8 * 8).fill(1), shape: CHECK_INPUT_SHAPE }]);
      session.release();
      expect(y!.shape).toEqual(CHECK_OUTPUT_SHAPE);
      for (const value of y!.data as Float32Array) expect(value).toBeCloseTo(1, 5);
    } finally {
      runtime.release();
    }
  });
});

describe("checkExecutionProviders", () => {
  test("without a GPU provider library installed, plans for the CPU and says what to install", () => {
    const library = locateCpuOrtLibrary();
    const check = checkExecutionProviders(library, ["tensorrt", "cuda", "cpu"], [0], "HEURISTIC");
    expect(check.providers).toEqual(["cpu"]);
    expect(check.deviceIds).toEqual([0]);
    expect(check.fallbacks).toEqual([
      `TensorRT: no provider library beside ${library} (bun run setup:gpu installs it)`,
      `CUDA: no provider library beside ${library} (bun run setup:gpu installs it)`,
    ]);
    expect(checkExecutionProviders(library, ["tensorrt", "cuda", "cpu"], [0], "HEURISTIC")).toBe(check);
  });

  test.skipIf(!existsSync(GPU_CORE))("with the GPU runtime where CUDA cannot run, falls back to the CPU for every GPU, logging ORT's message", () => {
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      const check = checkExecutionProviders(GPU_CORE, ["cuda", "cpu"], [0, 1], "HEURISTIC");
      if (check.providers[0] === "cuda") {
        console.log("CUDA runs on this machine: test/gpu checks it");
        return;
      }
      expect(check).toEqual({
        providers: ["cpu"],
        deviceIds: [0],
        fallbacks: [expect.stringMatching(/^GPU 0: CUDA: .*\[ONNXRuntimeError\]/), expect.stringMatching(/^GPU 1: CUDA: .*\[ONNXRuntimeError\]/)],
      });
      const logged = warn.mock.calls.map((call) => String(call[0]));
      expect(logged.filter((line) => /^CUDA execution provider failed for the GPU provider check model on GPU [01]; trying CPU: .*\[ONNXRuntimeError\]/.test(line))).toHaveLength(
        2,
      );
    } finally {
      warn.mockRestore();
    }
  });
});

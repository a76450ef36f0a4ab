// Specification of the GPU path on a real GPU: run by bench/gpu/gpu-check.sh on a GPU machine (GPU_CHECK=1), skipped elsewhere.
//
// The runner puts PyTorch's CUDA 13 and cuDNN libraries on LD_LIBRARY_PATH and says where cuDNN is
// (GPU_CHECK_CUDNN_DIR, when it can be hidden), how many GPUs there are (GPU_CHECK_GPU_COUNT) and whether TensorRT's
// libraries were found (GPU_CHECK_TENSORRT=1). Timings are printed for BENCHMARKS.md; the assertions are about
// correctness and about not stalling (a new batch size must not cost seconds).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import sharp from "sharp";
import { GPU_RUNTIME_DIR, locateOrtLibrary } from "../../native-bindings/locate.ts";
import { OrtRuntime, type OrtSession } from "../../native-bindings/ort.ts";
import { loadConfig } from "../../src/config.ts";
import { plannedArenaSlots } from "../../src/pipeline/inference-lanes.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "../integration/server-process.ts";

const enabled = process.env.GPU_CHECK === "1";
if (!enabled) console.log("test/gpu runs on a GPU machine through bench/gpu/gpu-check.sh (GPU_CHECK=1): skipped");

const DETECTOR = join(FIXTURE_CACHE, "fixture-yolov8n/1/weights.onnx");
const PROBE_MODEL = "colour-probe/1";

/** A deterministic pseudo-random image batch in [0, 1). */
function inputBatch(batch: number, size = 640): Float32Array {
  const data = new Float32Array(batch * 3 * size * size);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = (state >>> 8) / 2 ** 24;
  }
  return data;
}

/** Largest |a - b| relative to the largest |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function runTimed(session: OrtSession, batch: number): { ms: number; output: Float32Array } {
  const began = performance.now();
  const [output] = session.runAllocating([{ name: session.inputs[0]!.name, data: inputBatch(batch), shape: [batch, 3, 640, 640] }]);
  return { ms: performance.now() - began, output: output!.data as Float32Array };
}

async function info(server: ServerProcess): Promise<{ execution_provider: string | null; execution_provider_fallback: string | null }> {
  return (await fetch(`${server.url}/info`)).json();
}

async function detect(
  server: ServerProcess,
  colour: string,
): Promise<{ status: number; predictions: { class: string; confidence: number; x: number; y: number; width: number; height: number }[] }> {
  const image = (
    await sharp({ create: { width: 320, height: 240, channels: 3, background: colour } })
      .jpeg({ quality: 95 })
      .toBuffer()
  ).toString("base64");
  const res = await server.post("/infer/object_detection", { model_id: PROBE_MODEL, image: { type: "base64", value: image } });
  return { status: res.status, predictions: res.status === 200 ? (await res.json()).predictions : [] };
}

describe.skipIf(!enabled)("the CUDA path", () => {
  let runtime: OrtRuntime;
  beforeAll(() => {
    runtime = OrtRuntime.load();
  });
  afterAll(() => runtime?.release());

  test("loads the GPU runtime setup:gpu assembled, which lists CUDA and TensorRT", () => {
    expect(runtime.libraryPath).toBe(join(GPU_RUNTIME_DIR, "libonnxruntime.so"));
    expect(runtime.availableProviders()).toEqual(expect.arrayContaining(["CUDAExecutionProvider", "TensorrtExecutionProvider"]));
  });

  test("the provider check runs CUDA on GPU 0, and the plan is one worker with one intra-op thread and (1 + 1) x MAX_BATCH_SIZE slots", () => {
    const began = performance.now();
    const plan = Pipeline.plan(loadConfig({ EXECUTION_PROVIDERS: "cuda,cpu" }).ort);
    console.log(`provider check: ${(performance.now() - began).toFixed(0)} ms, ${JSON.stringify(plan.providerCheck)}`);
    expect(plan.providerCheck).toEqual({ providers: ["cuda", "cpu"], deviceIds: [0], fallbacks: [] });
    expect(plan.lanes).toEqual({ onGpu: true, workerDeviceIds: [0], intraOpThreads: 1 });
    expect(plannedArenaSlots(plan.lanes, 32)).toBe(64);
    expect(plan.ort.ortLibPath).toBe(locateOrtLibrary());
  });

  test("a CUDA-only session runs YOLOv8n at batch 1, 8 and 32 and agrees with the CPU", () => {
    const cuda = runtime.createSession(DETECTOR, { executionProviders: ["cuda"], intraOpThreads: 1 });
    const cpu = runtime.createSession(DETECTOR, { executionProviders: ["cpu"] });
    try {
      expect(cuda.activeProvider).toBe("cuda");
      for (const batch of [1, 8, 32]) {
        const first = runTimed(cuda, batch);
        const again = runTimed(cuda, batch);
        const reference = runTimed(cpu, batch);
        const error = relativeError(again.output, reference.output);
        console.log(
          `YOLOv8n batch ${batch}: CUDA first run ${first.ms.toFixed(1)} ms, then ${again.ms.toFixed(1)} ms (${(again.ms / batch).toFixed(2)} ms/image); CPU ${reference.ms.toFixed(0)} ms; relative error ${error.toExponential(2)}`,
        );
        expect(error).toBeLessThan(1e-3);
      }
    } finally {
      cuda.release();
      cpu.release();
    }
  });

  test("with HEURISTIC algorithm search a new batch size costs milliseconds, not an EXHAUSTIVE search", () => {
    const timings: Record<string, number[]> = {};
    for (const search of ["HEURISTIC", "EXHAUSTIVE"] as const) {
      const session = runtime.createSession(DETECTOR, { executionProviders: ["cuda"], intraOpThreads: 1, cudnnConvAlgoSearch: search });
      try {
        runTimed(session, 1);
        timings[search] = [2, 3, 5].map((batch) => runTimed(session, batch).ms);
      } finally {
        session.release();
      }
    }
    console.log(
      `first run at new batch sizes 2, 3, 5: HEURISTIC ${timings.HEURISTIC!.map((ms) => ms.toFixed(0)).join("/")} ms, EXHAUSTIVE ${timings.EXHAUSTIVE!.map((ms) => ms.toFixed(0)).join("/")} ms`,
    );
    for (const ms of timings.HEURISTIC!) expect(ms).toBeLessThan(1000);
  });

  describe("a server asked for cuda,cpu", () => {
    let gpu: ServerProcess;
    let cpu: ServerProcess;
    beforeAll(async () => {
      const common = {
        MODEL_CACHE_DIR: FIXTURE_CACHE,
        PRELOAD_MODELS: PROBE_MODEL,
        ORT_LIB_PATH: "",
        INFERENCE_WORKERS_PER_DEVICE: "0",
        BATCH_SIZE_PROBE: "true",
        MAX_BATCH_SIZE: "16",
      };
      [gpu, cpu] = await Promise.all([
        startServerProcess({ ...common, EXECUTION_PROVIDERS: "cuda,cpu" }, 120_000),
        startServerProcess({ ...common, EXECUTION_PROVIDERS: "cpu" }, 120_000),
      ]);
    });
    afterAll(async () => {
      await Promise.all([gpu?.stop(), cpu?.stop()]);
    });

    test("runs on CUDA, says so, plans one worker on GPU 0, probes its batches, and answers as the CPU server does", async () => {
      console.log(
        gpu
          .output()
          .split("\n")
          .filter((line) => /listening|batch probe|loaded|execution provider/.test(line))
          .join("\n"),
      );
      expect(await info(gpu)).toEqual(expect.objectContaining({ execution_provider: "cuda", execution_provider_fallback: null }));
      expect(gpu.output()).toMatch(/1 inference worker on GPU 0, 1 intra-op thread each/);
      expect(gpu.output()).toMatch(/batch probe colour-probe\/1 \(cuda\)/);
      for (const colour of ["#e02020", "#20c040", "#2040e0"]) {
        const [onGpu, onCpu] = await Promise.all([detect(gpu, colour), detect(cpu, colour)]);
        expect(onGpu.status).toBe(200);
        expect(onGpu.predictions.map((p) => p.class)).toEqual(onCpu.predictions.map((p) => p.class));
        onGpu.predictions.forEach((p, i) => {
          const q = onCpu.predictions[i]!;
          expect(Math.abs(p.confidence - q.confidence)).toBeLessThan(1e-3);
          for (const key of ["x", "y", "width", "height"] as const) expect(Math.abs(p[key] - q[key])).toBeLessThanOrEqual(1);
        });
      }
    });
  });

  test.skipIf(!process.env.GPU_CHECK_CUDNN_DIR)("with cuDNN out of reach, the server falls back to the CPU at start-up, planned as for the CPU, and says why", async () => {
    const hidden = process.env.GPU_CHECK_CUDNN_DIR!;
    const libraryPath = (process.env.LD_LIBRARY_PATH ?? "")
      .split(":")
      .filter((dir) => dir && dir !== hidden)
      .join(":");
    const server = await startServerProcess(
      {
        MODEL_CACHE_DIR: FIXTURE_CACHE,
        PRELOAD_MODELS: PROBE_MODEL,
        ORT_LIB_PATH: "",
        INFERENCE_WORKERS_PER_DEVICE: "0",
        EXECUTION_PROVIDERS: "cuda,cpu",
        LD_LIBRARY_PATH: libraryPath,
      },
      120_000,
    );
    try {
      const reported = await info(server);
      console.log(`without cuDNN: ${JSON.stringify(reported)}`);
      expect(reported.execution_provider).toBe("cpu");
      expect(reported.execution_provider_fallback).toMatch(/^GPU 0: CUDA: /);
      expect(server.output()).toMatch(/inference workers? on the CPU/);
      expect((await detect(server, "#e02020")).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("a GPU listed in CUDA_DEVICES that the machine does not have is left out, with ORT's message", async () => {
    const missing = Number(process.env.GPU_CHECK_GPU_COUNT ?? 1);
    const server = await startServerProcess(
      { MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: PROBE_MODEL, ORT_LIB_PATH: "", EXECUTION_PROVIDERS: "cuda,cpu", CUDA_DEVICES: `0,${missing}` },
      120_000,
    );
    try {
      const reported = await info(server);
      console.log(`CUDA_DEVICES=0,${missing}: ${JSON.stringify(reported)}`);
      expect(reported.execution_provider).toBe("cuda");
      expect(reported.execution_provider_fallback).toMatch(new RegExp(`^GPU ${missing}: CUDA: `));
      expect(server.output()).toMatch(/1 inference worker on GPU 0,/);
      expect((await detect(server, "#20c040")).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test.skipIf(process.env.GPU_CHECK_TENSORRT !== "1")("TensorRT builds an engine for a model and agrees with CUDA", () => {
    const model = join(FIXTURE_CACHE, "fixture-yolov8n-cls/1/weights.onnx");
    const began = performance.now();
    const trt = runtime.createSession(model, {
      executionProviders: ["tensorrt", "cuda"],
      tensorrt: { profile: { min: { images: [1, 3, 224, 224] }, opt: { images: [8, 3, 224, 224] }, max: { images: [8, 3, 224, 224] } } },
    });
    const cuda = runtime.createSession(model, { executionProviders: ["cuda"] });
    try {
      const input = inputBatch(4, 224);
      const run = (session: OrtSession) => session.runAllocating([{ name: session.inputs[0]!.name, data: input, shape: [4, 3, 224, 224] }])[0]!.data as Float32Array;
      const onTrt = run(trt);
      console.log(`TensorRT session and first run: ${(performance.now() - began).toFixed(0)} ms (fallbacks: ${JSON.stringify(trt.fallbacks)})`);
      expect(trt.activeProvider).toBe("tensorrt");
      expect(relativeError(onTrt, run(cuda))).toBeLessThan(1e-2);
    } finally {
      trt.release();
      cuda.release();
    }
  });
});

// Specification of a server asked for CUDA on a machine where it cannot run: it starts on the CPU, planned as for a CPU,
// and its log and /info say why. Checked with the npm package's CPU-only library (no provider library installed) and,
// where `bun run setup:gpu` installed it, with the GPU runtime (its CUDA provider cannot load here: no GPU, no CUDA).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { GPU_RUNTIME_DIR, locateCpuOrtLibrary } from "../../native-bindings/locate.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const MODEL = "colour-probe/1";
const GPU_CORE = join(GPU_RUNTIME_DIR, "libonnxruntime.so");

async function info(server: ServerProcess): Promise<{ execution_provider: string | null; execution_provider_fallback: string | null }> {
  return (await fetch(`${server.url}/info`)).json();
}

/** Runs one detection: the server answers on whichever provider it fell back to. */
async function detects(server: ServerProcess): Promise<void> {
  const image = (
    await sharp({ create: { width: 96, height: 64, channels: 3, background: "#d22" } })
      .jpeg()
      .toBuffer()
  ).toString("base64");
  const res = await server.post("/infer/object_detection", { model_id: MODEL, image: { type: "base64", value: image } });
  expect(res.status).toBe(200);
}

describe("with the npm package's CPU-only library", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: MODEL, EXECUTION_PROVIDERS: "cuda,cpu", ORT_LIB_PATH: locateCpuOrtLibrary() });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("runs on the CPU and says that no CUDA provider library is installed", async () => {
    expect(await info(server)).toMatchObject({
      execution_provider: "cpu",
      execution_provider_fallback: `CUDA: no provider library beside ${locateCpuOrtLibrary()} (bun run setup:gpu installs it)`,
    });
    expect(server.output()).not.toContain("execution provider failed");
    await detects(server);
  });
});

describe.skipIf(!existsSync(GPU_CORE))("with the GPU runtime setup:gpu installed, on a machine where CUDA cannot run", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({
      MODEL_CACHE_DIR: FIXTURE_CACHE,
      PRELOAD_MODELS: MODEL,
      EXECUTION_PROVIDERS: "cuda,cpu",
      ORT_LIB_PATH: "",
      INFERENCE_WORKERS_PER_DEVICE: "0",
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("checks CUDA once at start-up, logs ORT's message, and plans the lanes as for the CPU", async () => {
    const { execution_provider, execution_provider_fallback } = await info(server);
    if (execution_provider === "cuda") {
      console.log("CUDA runs on this machine: test/gpu checks the GPU path");
      return;
    }
    expect(execution_provider).toBe("cpu");
    expect(execution_provider_fallback).toMatch(/^GPU 0: CUDA: .*\[ONNXRuntimeError\]/);
    const log = server.output();
    expect(log).toMatch(/CUDA execution provider failed for the GPU provider check model on GPU 0; trying CPU: .*\[ONNXRuntimeError\]/);
    expect(log).toMatch(/execution providers cpu; not the ones before them: GPU 0: CUDA: /);
    // The lanes are the CPU's (one per core, at most 4), not one worker for GPU 0.
    expect(log).toMatch(/listening on .* inference workers? on the CPU, \d+ intra-op threads? each/);
    // The workers were given the CPU alone: no model load tries CUDA again.
    expect(log).not.toMatch(/execution provider failed for .*weights\.onnx/);
    await detects(server);
  });
});

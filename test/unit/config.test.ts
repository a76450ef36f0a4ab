// Specification of configuration parsing.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";

describe("loadConfig", () => {
  test("defaults to port 9001 on all interfaces, batches of 32 and no batching wait", () => {
    const c = loadConfig({});
    expect(c.port).toBe(9001);
    expect(c.host).toBe("0.0.0.0");
    expect(c.maxBatchSize).toBe(32);
    expect(c.batchMaxWaitMs).toBe(0);
    expect(c.executionProviders).toEqual(["cuda", "cpu"]);
    expect(c.modelCacheDir).toBe("/tmp/cache");
    expect(c.numWorkers).toBeGreaterThanOrEqual(1);
  });

  test("sizes the arena at two batches by default so one batch fills while another runs", () => {
    expect(loadConfig({ MAX_BATCH_SIZE: "8" }).arenaSlots).toBe(16);
    expect(loadConfig({ MAX_BATCH_SIZE: "8", ARENA_SLOTS: "40" }).arenaSlots).toBe(40);
  });

  test("preloads the demo model unless told otherwise", () => {
    expect(loadConfig({}).preloadModels).toEqual(["demo-shapes/1"]);
    expect(loadConfig({ DEMO_MODEL_ID: "" }).preloadModels).toEqual([]);
    expect(loadConfig({ PRELOAD_MODELS: "a/1, b/2" }).preloadModels).toEqual(["a/1", "b/2"]);
  });

  test("rejects values that are not what a setting expects, naming the setting", () => {
    expect(() => loadConfig({ MAX_BATCH_SIZE: "0" })).toThrow(/MAX_BATCH_SIZE/);
    expect(() => loadConfig({ PORT: "http" })).toThrow(/PORT/);
    expect(() => loadConfig({ NUM_WORKERS: "1.5" })).toThrow(/NUM_WORKERS/);
    expect(() => loadConfig({ DISABLE_PREPROC_CONTRAST: "maybe" })).toThrow(/DISABLE_PREPROC_CONTRAST/);
    expect(() => loadConfig({ EXECUTION_PROVIDERS: "cuda,tpu" })).toThrow(/tpu/);
  });

  test("parses booleans and provider lists case-insensitively", () => {
    const c = loadConfig({ DISABLE_PREPROC_GRAYSCALE: "TRUE", EXECUTION_PROVIDERS: "CPU" });
    expect(c.disablePreprocGrayscale).toBe(true);
    expect(c.executionProviders).toEqual(["cpu"]);
  });
});

describe("GPU settings", () => {
  test("runs one inference worker on GPU 0 unless CUDA_DEVICES or CUDA_DEVICE_ID says otherwise", () => {
    expect(loadConfig({}).cudaDevices).toEqual([0]);
    expect(loadConfig({ CUDA_DEVICE_ID: "2" }).cudaDevices).toEqual([2]);
    expect(loadConfig({ CUDA_DEVICES: "0, 1" }).cudaDevices).toEqual([0, 1]);
    expect(loadConfig({ CUDA_DEVICES: "1,3", CUDA_DEVICE_ID: "0" }).cudaDevices).toEqual([1, 3]);
    expect(loadConfig({ CUDA_DEVICES: "1,3" }).cudaDeviceId).toBe(1);
  });

  test("allows a repeated ordinal (two workers sharing one GPU) and rejects what is not an ordinal", () => {
    expect(loadConfig({ CUDA_DEVICES: "0,0" }).cudaDevices).toEqual([0, 0]);
    expect(() => loadConfig({ CUDA_DEVICES: "0,gpu1" })).toThrow(/CUDA_DEVICES/);
    expect(() => loadConfig({ CUDA_DEVICES: "-1" })).toThrow(/CUDA_DEVICES/);
  });

  test("accepts TensorRT first in the provider list", () => {
    expect(loadConfig({ EXECUTION_PROVIDERS: "tensorrt,cuda,cpu" }).executionProviders).toEqual(["tensorrt", "cuda", "cpu"]);
  });

  test("keeps TensorRT engines in the model cache by default, float32 unless TENSORRT_FP16 is set", () => {
    const c = loadConfig({ MODEL_CACHE_DIR: "/models" });
    expect(c.tensorrtCachePath).toBe("/models/.tensorrt");
    expect(c.tensorrtFp16).toBe(false);
    expect(loadConfig({ TENSORRT_CACHE_PATH: "/engines", TENSORRT_FP16: "true" })).toMatchObject({ tensorrtCachePath: "/engines", tensorrtFp16: true });
    expect(loadConfig({ TENSORRT_CACHE_PATH: "" }).tensorrtCachePath).toBe("");
  });
});

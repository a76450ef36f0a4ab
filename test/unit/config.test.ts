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

  test("collects each image thread's garbage every 64 MiB unless GC_EVERY_MB says otherwise (0: never)", () => {
    expect(loadConfig({}).gcEveryBytes).toBe(64 * 2 ** 20);
    expect(loadConfig({ GC_EVERY_MB: "16" }).gcEveryBytes).toBe(16 * 2 ** 20);
    expect(loadConfig({ GC_EVERY_MB: "0" }).gcEveryBytes).toBe(0);
    expect(() => loadConfig({ GC_EVERY_MB: "-1" })).toThrow(/GC_EVERY_MB/);
  });

  test("preloads the demo models unless told otherwise", () => {
    expect(loadConfig({}).preloadModels).toEqual(["demo-shapes/1", "demo-shapes-seg/1", "demo-shapes-cls/1"]);
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

  test("leaves the inference workers per device to the lane plan unless INFERENCE_WORKERS_PER_DEVICE is set", () => {
    expect(loadConfig({}).inferenceWorkersPerDevice).toBe(0);
    expect(loadConfig({ INFERENCE_WORKERS_PER_DEVICE: "3" }).inferenceWorkersPerDevice).toBe(3);
    expect(() => loadConfig({ INFERENCE_WORKERS_PER_DEVICE: "-1" })).toThrow(/INFERENCE_WORKERS_PER_DEVICE/);
    expect(() => loadConfig({ INFERENCE_WORKERS_PER_DEVICE: "two" })).toThrow(/INFERENCE_WORKERS_PER_DEVICE/);
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

describe("limits and access settings", () => {
  test("default to a 64 MiB body, 50-megapixel images, no API keys and no CORS", () => {
    expect(loadConfig({})).toMatchObject({ maxRequestBytes: 64 * 2 ** 20, maxImagePixels: 50_000_000, serverApiKeys: [], corsAllowedOrigins: [] });
  });

  test("read MAX_REQUEST_BYTES and MAX_IMAGE_PIXELS as positive integers, naming the setting otherwise", () => {
    expect(loadConfig({ MAX_REQUEST_BYTES: "1048576", MAX_IMAGE_PIXELS: "1000000" })).toMatchObject({ maxRequestBytes: 1048576, maxImagePixels: 1000000 });
    for (const raw of ["0", "-1", "1.5", "64MB"]) {
      expect(() => loadConfig({ MAX_REQUEST_BYTES: raw })).toThrow(/MAX_REQUEST_BYTES/);
      expect(() => loadConfig({ MAX_IMAGE_PIXELS: raw })).toThrow(/MAX_IMAGE_PIXELS/);
    }
  });

  test("read SERVER_API_KEYS as a comma-separated list and refuse keys with whitespace without repeating them", () => {
    expect(loadConfig({ SERVER_API_KEYS: " k1, k2 ,," }).serverApiKeys).toEqual(["k1", "k2"]);
    expect(loadConfig({ SERVER_API_KEYS: "" }).serverApiKeys).toEqual([]);
    let message = "";
    try {
      loadConfig({ SERVER_API_KEYS: "good,se cret" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("SERVER_API_KEYS");
    expect(message).not.toContain("se cret");
  });

  test("read CORS_ALLOWED_ORIGINS as origins or *, refusing paths, bare hosts and other schemes", () => {
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000" }).corsAllowedOrigins).toEqual(["https://app.example.com", "http://localhost:3000"]);
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: "*" }).corsAllowedOrigins).toEqual(["*"]);
    for (const raw of ["app.example.com", "https://app.example.com/", "https://app.example.com/path", "ftp://app.example.com", "*.example.com"]) {
      expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: raw })).toThrow(/CORS_ALLOWED_ORIGINS/);
    }
  });
});

// Specification of configuration parsing.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";

describe("loadConfig", () => {
  test("defaults to port 9001 on all interfaces, batches of 32 and no batching wait", () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(9001);
    expect(c.http.host).toBe("0.0.0.0");
    expect(c.batching.maxBatchSize).toBe(32);
    expect(c.batching.batchMaxWaitMs).toBe(0);
    expect(c.ort.executionProviders).toEqual(["cuda", "cpu"]);
    expect(c.models.modelCacheDir).toBe("/tmp/cache");
    expect(c.vision.numWorkers).toBeGreaterThanOrEqual(1);
  });

  test("leaves the arena size to the lane plan unless ARENA_SLOTS is set (see inference-lanes.test.ts)", () => {
    expect(loadConfig({ MAX_BATCH_SIZE: "8" }).models.arenaSlots).toBe(0);
    expect(loadConfig({ MAX_BATCH_SIZE: "8", ARENA_SLOTS: "40" }).models.arenaSlots).toBe(40);
  });

  test("lets cuDNN pick convolution algorithms by its heuristics unless CUDNN_CONV_ALGO_SEARCH says otherwise", () => {
    expect(loadConfig({}).ort.cudnnConvAlgoSearch).toBe("HEURISTIC");
    expect(loadConfig({ CUDNN_CONV_ALGO_SEARCH: "exhaustive" }).ort.cudnnConvAlgoSearch).toBe("EXHAUSTIVE");
    expect(loadConfig({ CUDNN_CONV_ALGO_SEARCH: "DEFAULT" }).ort.cudnnConvAlgoSearch).toBe("DEFAULT");
    expect(() => loadConfig({ CUDNN_CONV_ALGO_SEARCH: "fastest" })).toThrow(/CUDNN_CONV_ALGO_SEARCH must be one of HEURISTIC, EXHAUSTIVE, DEFAULT/);
  });

  test("collects each image thread's garbage every 64 MiB unless GC_EVERY_MB says otherwise (0: never)", () => {
    expect(loadConfig({}).memory.gcEveryBytes).toBe(64 * 2 ** 20);
    expect(loadConfig({ GC_EVERY_MB: "16" }).memory.gcEveryBytes).toBe(16 * 2 ** 20);
    expect(loadConfig({ GC_EVERY_MB: "0" }).memory.gcEveryBytes).toBe(0);
    expect(() => loadConfig({ GC_EVERY_MB: "-1" })).toThrow(/GC_EVERY_MB/);
  });

  test("preloads the demo models unless told otherwise", () => {
    expect(loadConfig({}).startup.preloadModels).toEqual(["demo-shapes/1", "demo-shapes-seg/1", "demo-shapes-cls/1"]);
    expect(loadConfig({ DEMO_MODEL_ID: "" }).startup.preloadModels).toEqual([]);
    expect(loadConfig({ PRELOAD_MODELS: "a/1, b/2" }).startup.preloadModels).toEqual(["a/1", "b/2"]);
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
    expect(c.preprocessing.disableGrayscale).toBe(true);
    expect(c.ort.executionProviders).toEqual(["cpu"]);
  });
});

describe("GPU settings", () => {
  test("runs one inference worker on GPU 0 unless CUDA_DEVICES or CUDA_DEVICE_ID says otherwise", () => {
    expect(loadConfig({}).ort.cudaDevices).toEqual([0]);
    expect(loadConfig({ CUDA_DEVICE_ID: "2" }).ort.cudaDevices).toEqual([2]);
    expect(loadConfig({ CUDA_DEVICES: "0, 1" }).ort.cudaDevices).toEqual([0, 1]);
    expect(loadConfig({ CUDA_DEVICES: "1,3", CUDA_DEVICE_ID: "0" }).ort.cudaDevices).toEqual([1, 3]);
  });

  test("allows a repeated ordinal (two workers sharing one GPU) and rejects what is not an ordinal", () => {
    expect(loadConfig({ CUDA_DEVICES: "0,0" }).ort.cudaDevices).toEqual([0, 0]);
    expect(() => loadConfig({ CUDA_DEVICES: "0,gpu1" })).toThrow(/CUDA_DEVICES/);
    expect(() => loadConfig({ CUDA_DEVICES: "-1" })).toThrow(/CUDA_DEVICES/);
  });

  test("leaves the inference workers per device to the lane plan unless INFERENCE_WORKERS_PER_DEVICE is set", () => {
    expect(loadConfig({}).ort.inferenceWorkersPerDevice).toBe(0);
    expect(loadConfig({ INFERENCE_WORKERS_PER_DEVICE: "3" }).ort.inferenceWorkersPerDevice).toBe(3);
    expect(() => loadConfig({ INFERENCE_WORKERS_PER_DEVICE: "-1" })).toThrow(/INFERENCE_WORKERS_PER_DEVICE/);
    expect(() => loadConfig({ INFERENCE_WORKERS_PER_DEVICE: "two" })).toThrow(/INFERENCE_WORKERS_PER_DEVICE/);
  });

  test("accepts TensorRT first in the provider list", () => {
    expect(loadConfig({ EXECUTION_PROVIDERS: "tensorrt,cuda,cpu" }).ort.executionProviders).toEqual(["tensorrt", "cuda", "cpu"]);
  });

  test("keeps TensorRT engines in the model cache by default, float32 unless TENSORRT_FP16 is set", () => {
    const c = loadConfig({ MODEL_CACHE_DIR: "/models" });
    expect(c.ort.tensorrt).toEqual({ engineCachePath: "/models/.tensorrt", fp16: false });
    expect(loadConfig({ TENSORRT_CACHE_PATH: "/engines", TENSORRT_FP16: "true" }).ort.tensorrt).toEqual({ engineCachePath: "/engines", fp16: true });
    expect(loadConfig({ TENSORRT_CACHE_PATH: "" }).ort.tensorrt.engineCachePath).toBe("");
  });
});

describe("limits and access settings", () => {
  test("default to a 64 MiB body, 50-megapixel images, no API keys and no CORS", () => {
    expect(loadConfig({})).toMatchObject({ http: { maxRequestBytes: 64 * 2 ** 20, serverApiKeys: [], corsAllowedOrigins: [] }, vision: { maxImagePixels: 50_000_000 } });
  });

  test("read MAX_REQUEST_BYTES and MAX_IMAGE_PIXELS as positive integers, naming the setting otherwise", () => {
    expect(loadConfig({ MAX_REQUEST_BYTES: "1048576", MAX_IMAGE_PIXELS: "1000000" })).toMatchObject({ http: { maxRequestBytes: 1048576 }, vision: { maxImagePixels: 1000000 } });
    for (const raw of ["0", "-1", "1.5", "64MB"]) {
      expect(() => loadConfig({ MAX_REQUEST_BYTES: raw })).toThrow(/MAX_REQUEST_BYTES/);
      expect(() => loadConfig({ MAX_IMAGE_PIXELS: raw })).toThrow(/MAX_IMAGE_PIXELS/);
    }
  });

  test("keep large buffers in malloc's heaps unless MALLOC_KEEP_LARGE_BUFFERS is false", () => {
    expect(loadConfig({}).memory.keepLargeBuffers).toBe(true);
    expect(loadConfig({ MALLOC_KEEP_LARGE_BUFFERS: "false" }).memory.keepLargeBuffers).toBe(false);
    expect(() => loadConfig({ MALLOC_KEEP_LARGE_BUFFERS: "maybe" })).toThrow(/MALLOC_KEEP_LARGE_BUFFERS/);
  });

  test("decode images in full unless DECODE_AT_REDUCED_SIZE is true", () => {
    expect(loadConfig({}).vision.decodeAtReducedSize).toBe(false);
    expect(loadConfig({ DECODE_AT_REDUCED_SIZE: "true" }).vision.decodeAtReducedSize).toBe(true);
    expect(() => loadConfig({ DECODE_AT_REDUCED_SIZE: "half" })).toThrow(/DECODE_AT_REDUCED_SIZE/);
  });

  test("allow an arena of up to 4 GiB, the engine's largest shared buffer, unless MAX_ARENA_BYTES says less", () => {
    expect(loadConfig({}).models.maxArenaBytes).toBe(2 ** 32);
    expect(loadConfig({ MAX_ARENA_BYTES: String(2 ** 30) }).models.maxArenaBytes).toBe(2 ** 30);
    expect(() => loadConfig({ MAX_ARENA_BYTES: String(2 ** 32 + 1) })).toThrow(/MAX_ARENA_BYTES/);
  });

  test("hold at most 1 GiB of request bodies at once unless MAX_REQUEST_BYTES_IN_FLIGHT says otherwise, never less than one largest body", () => {
    expect(loadConfig({}).http.maxRequestBytesInFlight).toBe(2 ** 30);
    expect(loadConfig({ MAX_REQUEST_BYTES_IN_FLIGHT: String(256 * 2 ** 20) }).http.maxRequestBytesInFlight).toBe(256 * 2 ** 20);
    expect(loadConfig({ MAX_REQUEST_BYTES: String(2 ** 31) }).http.maxRequestBytesInFlight).toBe(2 ** 31);
    expect(() => loadConfig({ MAX_REQUEST_BYTES_IN_FLIGHT: String(32 * 2 ** 20) })).toThrow(/MAX_REQUEST_BYTES_IN_FLIGHT must be an integer in \[67108864, /);
  });

  test("read SERVER_API_KEYS as a comma-separated list and refuse keys with whitespace without repeating them", () => {
    expect(loadConfig({ SERVER_API_KEYS: " k1, k2 ,," }).http.serverApiKeys).toEqual(["k1", "k2"]);
    expect(loadConfig({ SERVER_API_KEYS: "" }).http.serverApiKeys).toEqual([]);
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
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000" }).http.corsAllowedOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:3000",
    ]);
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: "*" }).http.corsAllowedOrigins).toEqual(["*"]);
    for (const raw of ["app.example.com", "https://app.example.com/", "https://app.example.com/path", "ftp://app.example.com", "*.example.com"]) {
      expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: raw })).toThrow(/CORS_ALLOWED_ORIGINS/);
    }
  });
});

describe("admission and unloading settings", () => {
  test("default to a queue of 1024 images, 5 s of expected wait, 256 images a request and a 30 s unload drain", () => {
    const c = loadConfig({});
    expect(c.admission).toEqual({ maxQueue: 1024, maxQueueWaitMs: 5000 });
    expect(c.http.maxImagesPerRequest).toBe(256);
    expect(c.models.unloadDrainTimeoutMs).toBe(30_000);
  });

  test("MAX_QUEUE_WAIT_MS 0 turns the wait rule off; bad values name their setting", () => {
    expect(loadConfig({ MAX_QUEUE_WAIT_MS: "0" }).admission.maxQueueWaitMs).toBe(0);
    expect(() => loadConfig({ MAX_QUEUE_WAIT_MS: "-5" })).toThrow(/MAX_QUEUE_WAIT_MS/);
    expect(() => loadConfig({ MAX_IMAGES_PER_REQUEST: "0" })).toThrow(/MAX_IMAGES_PER_REQUEST/);
    expect(() => loadConfig({ UNLOAD_DRAIN_TIMEOUT_MS: "soon" })).toThrow(/UNLOAD_DRAIN_TIMEOUT_MS/);
  });
});

describe("INPUT_ENCODING", () => {
  test("defaults to compact pixel inputs, accepts uint8 and float32, and names itself when wrong", () => {
    expect(loadConfig({}).models.inputEncoding).toBe("compact");
    expect(loadConfig({ INPUT_ENCODING: "uint8" }).models.inputEncoding).toBe("uint8");
    expect(loadConfig({ INPUT_ENCODING: "float32" }).models.inputEncoding).toBe("float32");
    expect(() => loadConfig({ INPUT_ENCODING: "float16" })).toThrow(/INPUT_ENCODING/);
  });
});

describe("sections", () => {
  test("groups every setting in one section per component", () => {
    expect(Object.keys(loadConfig({})).sort()).toEqual(["admission", "batching", "http", "memory", "models", "ort", "preprocessing", "roboflow", "startup", "urlInput", "vision"]);
  });
});

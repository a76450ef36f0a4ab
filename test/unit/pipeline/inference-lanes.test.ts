// Specification of the lane plan: how many inference workers each device runs and how many intra-op threads each gets.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../../src/config.ts";
import { Pipeline } from "../../../src/pipeline/pipeline.ts";
import { describeLanes, GPU_INTRA_OP_THREADS, MAX_AUTO_CPU_LANES, plannedArenaSlots, planInferenceLanes, type LaneSettings } from "../../../src/pipeline/inference-lanes.ts";

const cpu = (overrides: Partial<LaneSettings> = {}): LaneSettings => ({ workersPerDevice: 0, intraOpThreads: 0, deviceIds: [0], cores: 2, gpuProviders: [], ...overrides });
const gpu = (overrides: Partial<LaneSettings> = {}): LaneSettings => cpu({ gpuProviders: ["cuda"], cores: 16, ...overrides });

describe("on the CPU", () => {
  test("runs one single-threaded worker per core on a small machine", () => {
    expect(planInferenceLanes(cpu({ cores: 2 }))).toEqual({ onGpu: false, workerDeviceIds: [0, 0], intraOpThreads: 1 });
  });

  test("runs at most MAX_AUTO_CPU_LANES workers and shares the cores out between them", () => {
    expect(planInferenceLanes(cpu({ cores: 16 }))).toEqual({ onGpu: false, workerDeviceIds: Array(MAX_AUTO_CPU_LANES).fill(0), intraOpThreads: 4 });
    expect(planInferenceLanes(cpu({ cores: 6 })).intraOpThreads).toBe(1);
  });

  test("gives a single worker every core, as an explicit thread count", () => {
    expect(planInferenceLanes(cpu({ cores: 1 }))).toEqual({ onGpu: false, workerDeviceIds: [0], intraOpThreads: 1 });
    expect(planInferenceLanes(cpu({ cores: 8, workersPerDevice: 1 }))).toEqual({ onGpu: false, workerDeviceIds: [0], intraOpThreads: 8 });
  });

  test("takes the worker count and the thread count it is given", () => {
    expect(planInferenceLanes(cpu({ cores: 2, workersPerDevice: 3 }))).toEqual({ onGpu: false, workerDeviceIds: [0, 0, 0], intraOpThreads: 1 });
    expect(planInferenceLanes(cpu({ cores: 2, intraOpThreads: 2 }))).toEqual({ onGpu: false, workerDeviceIds: [0, 0], intraOpThreads: 2 });
  });

  test("runs the planned workers for every device listed, sharing the cores among all of them", () => {
    expect(planInferenceLanes(cpu({ cores: 8, deviceIds: [0, 0], workersPerDevice: 2 }))).toEqual({ onGpu: false, workerDeviceIds: [0, 0, 0, 0], intraOpThreads: 2 });
  });
});

describe("on GPUs", () => {
  test("runs one worker per device, each session with one intra-op thread so that the cores stay with the vision workers", () => {
    expect(GPU_INTRA_OP_THREADS).toBe(1);
    expect(planInferenceLanes(gpu({ deviceIds: [0, 1] }))).toEqual({ onGpu: true, workerDeviceIds: [0, 1], intraOpThreads: 1 });
  });

  test("takes the thread count it is given", () => {
    expect(planInferenceLanes(gpu({ intraOpThreads: 2 })).intraOpThreads).toBe(2);
  });

  test("runs several workers per device, next to each other, when asked", () => {
    expect(planInferenceLanes(gpu({ deviceIds: [0, 1], workersPerDevice: 2 })).workerDeviceIds).toEqual([0, 0, 1, 1]);
  });
});

describe("arena slots when ARENA_SLOTS is not set", () => {
  test("on GPUs, a batch for each worker and one more filling: two GPUs do not share one GPU's slots", () => {
    expect(plannedArenaSlots(planInferenceLanes(gpu({ deviceIds: [0] })), 32)).toBe(64);
    expect(plannedArenaSlots(planInferenceLanes(gpu({ deviceIds: [0, 1] })), 32)).toBe(96);
    expect(plannedArenaSlots(planInferenceLanes(gpu({ deviceIds: [0, 1], workersPerDevice: 2 })), 16)).toBe(80);
  });

  test("on the CPU, one batch's worth, at least four per lane: their batches are the probe's small ones", () => {
    expect(plannedArenaSlots(planInferenceLanes(cpu({ cores: 16 })), 32)).toBe(32);
    expect(plannedArenaSlots(planInferenceLanes(cpu({ cores: 2 })), 8)).toBe(8);
    expect(plannedArenaSlots(planInferenceLanes(cpu({ cores: 2 })), 1)).toBe(8);
    expect(plannedArenaSlots(planInferenceLanes(cpu({ cores: 16 })), 1)).toBe(16);
  });
});

test("an import outside the server checks the most slots the plan can give: ARENA_SLOTS, else as if every GPU asked for ran", () => {
  const settings = (env: Record<string, string>) => loadConfig({ MAX_BATCH_SIZE: "16", ...env });
  expect(Pipeline.mostArenaSlots(settings({ ARENA_SLOTS: "40" }))).toBe(40);
  expect(Pipeline.mostArenaSlots(settings({ EXECUTION_PROVIDERS: "cpu" }))).toBe(16);
  expect(Pipeline.mostArenaSlots(settings({ EXECUTION_PROVIDERS: "cuda,cpu", CUDA_DEVICES: "0,1,2" }))).toBe(64);
});

test("describes the plan for the start-up line", () => {
  expect(describeLanes(planInferenceLanes(cpu({ cores: 2 })))).toBe("2 inference workers on the CPU, 1 intra-op thread each");
  expect(describeLanes(planInferenceLanes(cpu({ cores: 1 })))).toBe("1 inference worker on the CPU, 1 intra-op thread each");
  expect(describeLanes(planInferenceLanes(gpu({ deviceIds: [0, 1] })))).toBe("2 inference workers on GPU 0,1, 1 intra-op thread each");
  expect(describeLanes({ onGpu: false, workerDeviceIds: [0], intraOpThreads: 0 })).toBe("1 inference worker on the CPU, ONNX Runtime's default intra-op threads");
});

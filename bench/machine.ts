// Machine record: the hardware, runtime versions and server settings every benchmark result is stamped with.
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import type { ServerConfig } from "../src/config.ts";
import { Pipeline } from "../src/pipeline/pipeline.ts";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  bun: string;
  onnxruntime: string;
  /** The execution provider the model actually ran on (from the session), e.g. "cpu". */
  executionProvider: string;
  /** Per session, as the server plans them (src/pipeline/inference-lanes.ts); 0 is ONNX Runtime's default (one per core). */
  ortIntraOpThreads: number;
  /** Inference workers the server runs, each with its own session of the model. */
  inferenceWorkers: number;
  numWorkers: number;
  maxBatchSize: number;
  batchMaxWaitMs: number;
  batchSizeProbe: boolean;
  /** 1-minute load average when the run started: other work on the machine skews every number. */
  loadAverageAtStart: number;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function describeMachine(config: ServerConfig, runtime: { onnxruntime: string; executionProvider: string }, loadAverageAtStart: number): MachineInfo {
  const lanes = Pipeline.lanePlan(config.ort);
  return {
    cpuModel: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    bun: Bun.version,
    onnxruntime: runtime.onnxruntime,
    executionProvider: runtime.executionProvider,
    ortIntraOpThreads: lanes.intraOpThreads,
    inferenceWorkers: lanes.workerDeviceIds.length,
    numWorkers: config.vision.numWorkers,
    maxBatchSize: config.batching.maxBatchSize,
    batchMaxWaitMs: config.batching.batchMaxWaitMs,
    batchSizeProbe: config.batching.batchSizeProbe,
    loadAverageAtStart,
  };
}

/** One line for tables and plot captions. */
export function machineLine(m: MachineInfo): string {
  const threads = m.ortIntraOpThreads === 0 ? "default" : String(m.ortIntraOpThreads);
  return `${m.cores} cores ${m.cpuModel}, ${m.memoryGiB} GiB, Bun ${m.bun}, ONNX Runtime ${m.onnxruntime} (${m.executionProvider} EP, ${m.inferenceWorkers} inference worker${m.inferenceWorkers === 1 ? "" : "s"}, intra-op threads ${threads} each), NUM_WORKERS=${m.numWorkers}, MAX_BATCH_SIZE=${m.maxBatchSize}, BATCH_MAX_WAIT_MS=${m.batchMaxWaitMs}, BATCH_SIZE_PROBE=${m.batchSizeProbe}; load average ${m.loadAverageAtStart.toFixed(2)} at the start`;
}

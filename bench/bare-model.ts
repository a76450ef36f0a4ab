// Bare model: ONNX Runtime alone over ready-made input tensors at each batch size, the ceiling the server can approach.
//
// Same library, execution providers and thread settings as the server (read from the same environment), the same
// zero-copy run into preallocated outputs, and as many sessions side by side as the server runs inference workers
// (one lane each, bench/bare-lane.worker.ts); no HTTP, decoding or postprocessing.
import type { ServerConfig } from "../src/config.ts";
import type { ModelPackage } from "../src/models/package.ts";
import { Pipeline } from "../src/pipeline/pipeline.ts";
import type { BareLaneInit, BareLaneReply, BareLaneRun } from "./bare-lane.worker.ts";
import { summariseLatencies, type LatencySummary } from "./latency.ts";

export interface BareBatchResult {
  batch: number;
  /** ONNX Runtime calls, all lanes together. */
  calls: number;
  /** Images per second, all lanes together. */
  imagesPerSec: number;
  /** Per ONNX Runtime call. */
  callMs: LatencySummary;
}

export interface BareModelResult {
  onnxruntime: string;
  executionProvider: string;
  input: { width: number; height: number };
  /** Sessions run side by side, one per inference worker the server runs. */
  lanes: number;
  /** Intra-op threads per session (0: ONNX Runtime's default). */
  intraOpThreads: number;
  batches: BareBatchResult[];
}

/** One lane's worker, answering one message at a time. */
class BareLane {
  private readonly worker = new Worker(new URL("./bare-lane.worker.ts", import.meta.url));
  private pending: ((reply: BareLaneReply) => void) | null = null;
  private readonly listening: Promise<BareLaneReply>;

  constructor() {
    this.listening = new Promise((resolve) => (this.pending = resolve));
    this.worker.onmessage = (event: MessageEvent<BareLaneReply>) => {
      const answer = this.pending;
      this.pending = null;
      answer?.(event.data);
    };
    this.worker.onerror = (event) => {
      const answer = this.pending;
      this.pending = null;
      answer?.({ type: "failed", message: event.message });
    };
  }

  async ask<T extends BareLaneReply["type"]>(message: { init: BareLaneInit } | { run: BareLaneRun } | { stop: true }, expected: T): Promise<Extract<BareLaneReply, { type: T }>> {
    await this.listening;
    const reply = await new Promise<BareLaneReply>((resolve) => {
      this.pending = resolve;
      this.worker.postMessage(message);
    });
    if (reply.type === "failed") throw new Error(`bare model lane: ${reply.message}`);
    if (reply.type !== expected) throw new Error(`bare model lane answered ${reply.type}, expected ${expected}`);
    return reply as Extract<BareLaneReply, { type: T }>;
  }

  terminate(): void {
    this.worker.terminate();
  }
}

/**
 * Per batch size, every lane at once: one untimed call (ORT sizes its buffers for the new shape), then calls until
 * `seconds` have passed and at least `minCalls` were made.
 */
export async function measureBareModel(pkg: ModelPackage, config: ServerConfig, options: { batchSizes: number[]; seconds: number; minCalls: number }): Promise<BareModelResult> {
  const plan = Pipeline.lanePlan(config.ort);
  const lanes = plan.workerDeviceIds.map(() => new BareLane());
  try {
    const resize = pkg.preprocessing.resize;
    const started = await Promise.all(
      lanes.map((lane, i) =>
        lane.ask(
          {
            init: {
              weightsPath: pkg.weightsPath,
              ortLibPath: config.ort.ortLibPath,
              executionProviders: config.ort.executionProviders,
              deviceId: plan.workerDeviceIds[i]!,
              intraOpThreads: plan.intraOpThreads,
              resize: { width: resize.width, height: resize.height },
            },
          },
          "ready",
        ),
      ),
    );
    const first = started[0]!;
    const batches: BareBatchResult[] = [];
    for (const batch of first.fixedBatch ? [first.fixedBatch] : options.batchSizes) {
      const runs = await Promise.all(lanes.map((lane) => lane.ask({ run: { batch, seconds: options.seconds, minCalls: options.minCalls } }, "ran")));
      const callMs = runs.flatMap((r) => r.callMs);
      const imagesPerSec = runs.reduce((sum, r) => sum + (batch * r.callMs.length) / r.elapsedSeconds, 0);
      batches.push({ batch, calls: callMs.length, imagesPerSec, callMs: summariseLatencies(callMs) });
    }
    await Promise.all(lanes.map((lane) => lane.ask({ stop: true }, "stopped")));
    return { onnxruntime: first.onnxruntime, executionProvider: first.executionProvider, input: first.input, lanes: lanes.length, intraOpThreads: plan.intraOpThreads, batches };
  } finally {
    for (const lane of lanes) lane.terminate();
  }
}

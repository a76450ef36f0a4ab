// Bare model: ONNX Runtime alone over ready-made input tensors at each batch size, the ceiling the server can approach.
//
// Same library, execution providers and thread settings as the server (read from the same
// environment), and the same zero-copy run into preallocated outputs; no HTTP, decoding or
// postprocessing.
import { OrtRuntime, type BoundTensor } from "../native-bindings/ort.ts";
import type { ServerConfig } from "../src/config.ts";
import { resolveInputSize } from "../src/models/model-io.ts";
import type { ModelPackage } from "../src/models/package.ts";
import { summariseLatencies, type LatencySummary } from "./latency.ts";

export interface BareBatchResult {
  batch: number;
  calls: number;
  imagesPerSec: number;
  /** Per ONNX Runtime call. */
  callMs: LatencySummary;
}

export interface BareModelResult {
  onnxruntime: string;
  executionProvider: string;
  input: { width: number; height: number };
  batches: BareBatchResult[];
}

/** A fixed pseudo-random fill in [0, 1), as normalised pixels are. */
function readyMadeInput(floats: number): Float32Array {
  const data = new Float32Array(floats);
  let state = 12345;
  for (let i = 0; i < floats; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = (state >>> 8) / 2 ** 24;
  }
  return data;
}

/**
 * Per batch size: one untimed call (ORT sizes its buffers for the new shape), then calls until
 * `seconds` have passed and at least `minCalls` were made.
 */
export function measureBareModel(pkg: ModelPackage, config: ServerConfig, options: { batchSizes: number[]; seconds: number; minCalls: number }): BareModelResult {
  const runtime = OrtRuntime.load(config.ortLibPath || undefined);
  try {
    const session = runtime.createSession(pkg.weightsPath, {
      intraOpThreads: config.ortIntraOpThreads,
      executionProviders: config.executionProviders,
      deviceId: config.cudaDeviceId,
    });
    try {
      const input = session.inputs[0]!;
      const resize = pkg.preprocessing.resize;
      const size = resolveInputSize(input.shape, { width: resize.width, height: resize.height });
      const imageFloats = 3 * size.width * size.height;
      const fixedBatch = typeof input.shape[0] === "number" && input.shape[0] > 0 ? input.shape[0] : null;
      const probe = session.runAllocating([{ name: input.name, data: readyMadeInput(imageFloats * (fixedBatch ?? 1)), shape: [fixedBatch ?? 1, 3, size.height, size.width] }]);
      const perImageOutputs = probe.map((o) => ({ name: o.name, shape: o.shape.slice(1) }));
      const batchSizes = fixedBatch ? [fixedBatch] : options.batchSizes;
      const batches: BareBatchResult[] = [];
      for (const batch of batchSizes) {
        const inputs: BoundTensor[] = [{ name: input.name, data: readyMadeInput(imageFloats * batch), shape: [batch, 3, size.height, size.width] }];
        const outputs: BoundTensor[] = perImageOutputs.map((o) => ({
          name: o.name,
          data: new Float32Array(batch * o.shape.reduce((a, b) => a * b, 1)),
          shape: [batch, ...o.shape],
        }));
        session.run(inputs, outputs);
        const callMs: number[] = [];
        const started = performance.now();
        while (performance.now() - started < options.seconds * 1000 || callMs.length < options.minCalls) {
          const t0 = performance.now();
          session.run(inputs, outputs);
          callMs.push(performance.now() - t0);
        }
        const elapsed = (performance.now() - started) / 1000;
        batches.push({ batch, calls: callMs.length, imagesPerSec: (batch * callMs.length) / elapsed, callMs: summariseLatencies(callMs) });
      }
      return { onnxruntime: runtime.version, executionProvider: session.activeProvider, input: size, batches };
    } finally {
      session.release();
    }
  } finally {
    runtime.release();
  }
}

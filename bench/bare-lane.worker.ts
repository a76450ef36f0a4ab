// Bare-model lane: one ONNX Runtime session on its own thread, timing zero-copy runs over ready-made input tensors.
//
// bench/bare-model.ts starts one per inference worker the server would run, so that the bare model is measured
// with the sessions side by side exactly as the server runs them.
import { OrtRuntime, type BoundTensor, type ExecutionProvider, type OrtSession } from "../native-bindings/ort.ts";
import { resolveInputSize } from "../src/models/model-io.ts";

declare const self: Worker;

export interface BareLaneInit {
  weightsPath: string;
  ortLibPath: string;
  executionProviders: string[];
  deviceId: number;
  intraOpThreads: number;
  /** The package's resize, for models whose input size is not fixed. */
  resize: { width?: number; height?: number };
}

/** Time runs at `batch` for `seconds` and at least `minCalls` calls, after one untimed call at the new shape. */
export interface BareLaneRun {
  batch: number;
  seconds: number;
  minCalls: number;
}

export type BareLaneReply =
  | { type: "listening" }
  | { type: "ready"; onnxruntime: string; executionProvider: ExecutionProvider; input: { width: number; height: number }; fixedBatch: number | null }
  | { type: "ran"; callMs: number[]; elapsedSeconds: number }
  | { type: "stopped" }
  | { type: "failed"; message: string };

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

let runtime: OrtRuntime;
let session: OrtSession;
let size: { width: number; height: number };
let perImageOutputs: { name: string; shape: number[] }[];

function start(init: BareLaneInit): BareLaneReply {
  runtime = OrtRuntime.load(init.ortLibPath || undefined);
  session = runtime.createSession(init.weightsPath, {
    intraOpThreads: init.intraOpThreads,
    executionProviders: init.executionProviders as ExecutionProvider[],
    deviceId: init.deviceId,
  });
  const input = session.inputs[0]!;
  size = resolveInputSize(input.shape, init.resize);
  const fixedBatch = typeof input.shape[0] === "number" && input.shape[0] > 0 ? input.shape[0] : null;
  const probe = session.runAllocating([
    { name: input.name, data: readyMadeInput(3 * size.width * size.height * (fixedBatch ?? 1)), shape: [fixedBatch ?? 1, 3, size.height, size.width] },
  ]);
  perImageOutputs = probe.map((o) => ({ name: o.name, shape: o.shape.slice(1) }));
  return { type: "ready", onnxruntime: runtime.version, executionProvider: session.activeProvider, input: size, fixedBatch };
}

function run({ batch, seconds, minCalls }: BareLaneRun): BareLaneReply {
  const inputs: BoundTensor[] = [{ name: session.inputs[0]!.name, data: readyMadeInput(3 * size.width * size.height * batch), shape: [batch, 3, size.height, size.width] }];
  const outputs: BoundTensor[] = perImageOutputs.map((o) => ({ name: o.name, data: new Float32Array(batch * o.shape.reduce((a, b) => a * b, 1)), shape: [batch, ...o.shape] }));
  session.run(inputs, outputs);
  const callMs: number[] = [];
  const started = performance.now();
  while (performance.now() - started < seconds * 1000 || callMs.length < minCalls) {
    const t0 = performance.now();
    session.run(inputs, outputs);
    callMs.push(performance.now() - t0);
  }
  return { type: "ran", callMs, elapsedSeconds: (performance.now() - started) / 1000 };
}

self.onmessage = (event: MessageEvent<{ init: BareLaneInit } | { run: BareLaneRun } | { stop: true }>) => {
  const message = event.data;
  try {
    if ("init" in message) self.postMessage(start(message.init));
    else if ("run" in message) self.postMessage(run(message.run));
    else {
      session?.release();
      runtime?.release();
      self.postMessage({ type: "stopped" } satisfies BareLaneReply);
    }
  } catch (error) {
    self.postMessage({ type: "failed", message: error instanceof Error ? error.message : String(error) } satisfies BareLaneReply);
  }
};
// Only now: messages posted to a worker before its script has run can be lost.
self.postMessage({ type: "listening" } satisfies BareLaneReply);

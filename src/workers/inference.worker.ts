// Inference worker: one per device; owns the ONNX Runtime sessions and runs the batches the batcher picks.
//
// The loop waits on the control doorbell (rung by vision workers when a slot turns READY or
// FREE), asks the pure batcher for the next run of READY slots, and calls ORT with input and
// output tensors that are views of the model's arena: no image is copied here.
import { basename } from "node:path";
import { OrtRuntime, type OrtSession, type TensorRtOptions } from "../../native-bindings/ort.ts";
import { toWireError } from "../errors.ts";
import { inputShapeRange, resolveInputSize } from "../models/model-io.ts";
import { Arena, SlotState } from "../pipeline/arena.ts";
import { chooseBatchCap, nextProbeSize, type ProbeSample } from "../pipeline/batch-probe.ts";
import { nextBatch, type ModelQueueView } from "../pipeline/batcher.ts";
import { claimReadyPrefix } from "../pipeline/slot-claim.ts";
import { trimHeap } from "../pipeline/memory-release.ts";
import { Control, type InferenceInit, type InferenceReply, type InferenceRequest } from "../pipeline/protocol.ts";

declare const self: Worker;

interface AttachedModel {
  key: string;
  session: OrtSession;
  arena: Arena;
  view: ModelQueueView;
  inputName: string;
  outputNames: string[];
  /** Where a padded fixed-size batch writes its outputs (allocated on first need; see runBatch). */
  paddedOutputs: Float32Array[] | null;
}

const sessions = new Map<string, OrtSession>();
const attached = new Map<string, AttachedModel>();
let runtime: OrtRuntime;
let init: InferenceInit;
let control: Int32Array;

function reply(message: InferenceReply): void {
  self.postMessage(message);
}

/** TensorRT settings for a model: one engine covering every batch size the server will run (see inputShapeRange). */
function tensorRtOptions(path: string, probeInput: { width: number; height: number }): TensorRtOptions {
  // The input's name and shape are needed before the TensorRT session exists: read them from a cheap CPU session.
  const signature = runtime.createSession(path, { executionProviders: ["cpu"], graphOptimization: "disabled", intraOpThreads: 1 });
  const input = signature.inputs[0];
  signature.release();
  const range = input ? inputShapeRange(input.shape, probeInput, init.maxBatchSize) : null;
  return {
    engineCachePath: init.tensorrt.engineCachePath || undefined,
    fp16: init.tensorrt.fp16,
    profile: input && range ? { min: { [input.name]: range.min }, opt: { [input.name]: range.opt }, max: { [input.name]: range.max } } : undefined,
  };
}

function load(request: Extract<InferenceRequest, { type: "load" }>): void {
  try {
    const session = runtime.createSession(request.path, {
      intraOpThreads: init.intraOpThreads,
      executionProviders: init.executionProviders,
      deviceId: init.deviceId,
      tensorrt: init.executionProviders.includes("tensorrt") ? tensorRtOptions(request.path, request.probeInput) : undefined,
    });
    try {
      const input = session.inputs[0];
      if (!input) throw new Error("the model has no input");
      // One zero image learns the concrete per-image output shapes and validates the graph runs.
      const size = resolveInputSize(input.shape, request.probeInput);
      const rows = typeof input.shape[0] === "number" && input.shape[0] > 0 ? input.shape[0] : 1;
      const shape = [rows, 3, size.height, size.width];
      const probe = session.runAllocating([{ name: input.name, data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape }]);
      sessions.get(request.key)?.release();
      sessions.set(request.key, session);
      reply({
        type: "loaded",
        requestId: request.requestId,
        activeProvider: session.activeProvider,
        session: {
          inputs: session.inputs,
          outputs: session.outputs,
          outputShapes: probe.map((o) => o.shape.slice(1)),
          metadata: session.metadata,
        },
      });
    } catch (error) {
      session.release();
      throw error;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // ONNX Runtime names the weights file by its full path: the log keeps it, the response does not.
    console.error(`loading ${request.key} failed: ${message}`);
    const publicMessage = message.replaceAll(request.path, `${request.key}/${basename(request.path)}`);
    reply({ type: "loadFailed", requestId: request.requestId, error: { status: 500, message: `Model package is broken. ${publicMessage}` } });
  }
}

/**
 * Times doubling batch sizes on this device (see batch-probe.ts) and returns the batch cap they call for.
 * Inputs are read from the arena (whatever it holds: only the time matters); outputs go to private
 * buffers, since another device's worker may already be filling this arena's output slots.
 */
function probeBatchCap(key: string, session: OrtSession, arena: Arena, inputName: string, outputNames: string[], maxBatch: number): number {
  const samples: ProbeSample[] = [];
  const floatsPerSlot = outputNames.map((_, i) => arena.output(i, 0).length);
  const scratch = outputNames.map((_, i) => new Float32Array(maxBatch * floatsPerSlot[i]!));
  for (let size = nextProbeSize(samples, maxBatch); size !== null; size = nextProbeSize(samples, maxBatch)) {
    const inputs = [{ name: inputName, data: arena.input(0, size), shape: [size, ...arena.layout.inputShape] }];
    const outputs = outputNames.map((name, i) => ({ name, data: scratch[i]!.subarray(0, size * floatsPerSlot[i]!), shape: [size, ...arena.layout.outputs[i]!.shape] }));
    // The first call at a new size lets ORT size its buffers; the faster of two more is the time.
    session.run(inputs, outputs);
    let fastest = Infinity;
    for (let i = 0; i < 2; i++) {
      const began = performance.now();
      session.run(inputs, outputs);
      fastest = Math.min(fastest, performance.now() - began);
    }
    samples.push({ size, msPerImage: fastest / size });
  }
  const cap = chooseBatchCap(samples, maxBatch);
  console.log(`batch probe ${key} (${session.activeProvider}): ${samples.map((s) => `batch ${s.size} ${s.msPerImage.toFixed(1)}`).join(", ")} ms/image -> batches up to ${cap}`);
  return cap;
}

function attach(request: Extract<InferenceRequest, { type: "attach" }>): void {
  const session = sessions.get(request.key);
  if (!session) throw new Error(`attach before load: ${request.key}`);
  const arena = new Arena(request.arena.layout, request.arena.buffer);
  const capacity = init.batchProbe && !request.batch.fixed && request.batch.capacity > 1
    ? probeBatchCap(request.key, session, arena, request.inputName, request.outputNames, request.batch.capacity)
    : request.batch.capacity;
  attached.set(request.key, {
    key: request.key,
    session,
    arena,
    inputName: request.inputName,
    outputNames: request.outputNames,
    paddedOutputs: null,
    view: {
      key: request.key,
      states: arena.states,
      readyAt: arena.readyAt,
      slots: arena.layout.slots,
      batchCapacity: capacity,
      fixedBatch: request.batch.fixed,
    },
  });
}

function unload(key: string): void {
  attached.delete(key);
  sessions.get(key)?.release();
  sessions.delete(key);
}

/**
 * Output tensors for `rows` rows starting at `start`. Rows past the `count` claimed ones only pad a fixed-size batch:
 * their slots may belong to a batch another inference worker is running, so a padded batch writes into this
 * worker's own buffers and runBatch copies the claimed rows back.
 */
function outputTensors(model: AttachedModel, start: number, count: number, rows: number) {
  const { arena } = model;
  const shape = (i: number) => [rows, ...arena.layout.outputs[i]!.shape];
  if (rows === count) return model.outputNames.map((name, i) => ({ name, data: arena.output(i, start, rows), shape: shape(i) }));
  const floatsPerSlot = (i: number) => arena.output(i, 0).length;
  model.paddedOutputs ??= model.outputNames.map((_, i) => new Float32Array(model.view.batchCapacity * floatsPerSlot(i)));
  return model.outputNames.map((name, i) => ({ name, data: model.paddedOutputs![i]!.subarray(0, rows * floatsPerSlot(i)), shape: shape(i) }));
}

function runBatch(model: AttachedModel, start: number, planned: number, plannedRows: number): void {
  const { arena, session } = model;
  // Another inference worker batching the same arena may have taken some of the planned slots: run what is ours.
  const count = claimReadyPrefix(arena.states, start, planned);
  if (count === 0) return;
  const rows = model.view.fixedBatch ? plannedRows : count;
  const began = performance.now();
  try {
    const outputs = outputTensors(model, start, count, rows);
    session.run([{ name: model.inputName, data: arena.input(start, rows), shape: [rows, ...arena.layout.inputShape] }], outputs);
    if (rows > count) {
      for (const [i, output] of outputs.entries()) {
        const claimed = arena.output(i, start, count);
        claimed.set(output.data.subarray(0, claimed.length));
      }
    }
  } catch (error) {
    for (let slot = start; slot < start + count; slot++) arena.transition(slot, SlotState.RUNNING, SlotState.ASSIGNED);
    reply({ type: "batchFailed", key: model.key, start, count, error: toWireError(error) });
    return;
  }
  const inferMs = performance.now() - began;
  for (let slot = start; slot < start + count; slot++) arena.transition(slot, SlotState.RUNNING, SlotState.INFERRED);
  reply({ type: "inferred", key: model.key, start, count, rows, inferMs });
}

async function loop(): Promise<void> {
  while (Atomics.load(control, Control.STOP) === 0) {
    const seen = Atomics.load(control, Control.DOORBELL);
    const views = [...attached.values()].map((m) => m.view);
    const plan = nextBatch(views, performance.timeOrigin + performance.now(), { maxWaitMs: init.batchMaxWaitMs });
    if (plan.kind === "run") {
      runBatch(attached.get(plan.key)!, plan.start, plan.count, plan.rows);
      // Let queued messages (loads, attaches) in between batches.
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    const timeout = plan.kind === "wait" ? plan.ms : 1000;
    const wait = Atomics.waitAsync(control, Control.DOORBELL, seen, timeout);
    if (wait.async) await wait.value;
  }
  for (const key of [...sessions.keys()]) unload(key);
  runtime.release();
  reply({ type: "stopped" });
}

self.onmessage = (event: MessageEvent<InferenceInit | InferenceRequest>) => {
  const message = event.data;
  if ("control" in message) {
    init = message;
    control = new Int32Array(message.control);
    runtime = OrtRuntime.load(message.ortLibPath || undefined);
    reply({ type: "ready", ortVersion: runtime.version, availableProviders: runtime.availableProviders() });
    void loop();
    return;
  }
  switch (message.type) {
    case "load":
      load(message);
      break;
    case "attach":
      attach(message);
      break;
    case "unload":
      unload(message.key);
      // The session's memory goes back to the system now, and this thread's arena views at the next turn.
      trimHeap();
      setTimeout(() => Bun.gc(true), 0);
      break;
  }
  // Wake the loop: it may have new models to look at.
  Atomics.add(control, Control.DOORBELL, 1);
  Atomics.notify(control, Control.DOORBELL);
};
// Announce ourselves only now: messages posted to a worker before its script has run can be lost.
reply({ type: "started" });

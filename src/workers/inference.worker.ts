// Inference worker: one or more per device (see inference-lanes.ts); runs the batches the batcher picks on the sessions its session loader handed over.
//
// The loop waits on the control doorbell (rung by vision workers when a slot turns READY or
// FREE), asks the pure batcher for the next run of READY slots, and calls ORT with input and
// output tensors that are views of the model's arena: no image is copied here.
import type { Pointer } from "bun:ffi";
import { OrtRuntime, type ExecutionProvider, type OrtSession } from "../../native-bindings/ort.ts";
import { toWireError } from "../errors.ts";
import { Arena } from "./arena.ts";
import { nextBatch, type ModelQueueView } from "./batcher.ts";
import { batchDone, batchFailed, claimReadyPrefix } from "./slot-states.ts";
import { trimHeap } from "./memory-release.ts";
import { Control, type InferenceInit, type InferenceReply, type InferenceRequest } from "./protocol.ts";
import { nameThread, THREAD_NAMES } from "./thread-name.ts";

declare const self: Worker;

nameThread(THREAD_NAMES.inferenceRun);

interface AttachedModel {
  instance: number;
  session: OrtSession;
  arena: Arena;
  view: ModelQueueView;
  inputName: string;
  outputNames: string[];
  /** Where a padded fixed-size batch writes its outputs (allocated on first need; see runBatch). */
  paddedOutputs: Float32Array[] | null;
}

/** The model instances this worker batches, by instance. */
const attached = new Map<number, AttachedModel>();
let runtime: OrtRuntime;
let init: InferenceInit;
let control: Int32Array;

function reply(message: InferenceReply): void {
  self.postMessage(message);
}

function attach(request: Extract<InferenceRequest, { type: "attach" }>): void {
  // The session loader created the session (and probed its batches) on its own thread; this thread only runs it.
  const session = runtime.adoptSession(request.session.handle as Pointer, request.session.activeProvider as ExecutionProvider);
  const arena = new Arena(request.arena.layout, request.arena.buffer);
  attached.set(request.instance, {
    instance: request.instance,
    session,
    arena,
    inputName: request.inputName,
    outputNames: request.outputNames,
    paddedOutputs: null,
    view: {
      instance: request.instance,
      states: arena.states,
      readyAt: arena.readyAt,
      slots: arena.layout.slots,
      batchCapacity: request.batch.capacity,
      fixedBatch: request.batch.fixed,
    },
  });
}

function unload(instance: number): void {
  attached.get(instance)?.session.release();
  attached.delete(instance);
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
    batchFailed(arena.states, start, count);
    reply({ type: "batchFailed", instance: model.instance, start, count, error: toWireError(error) });
    return;
  }
  const inferMs = performance.now() - began;
  batchDone(arena.states, start, count);
  reply({ type: "inferred", instance: model.instance, start, count, rows, inferMs });
}

async function loop(): Promise<void> {
  while (Atomics.load(control, Control.STOP) === 0) {
    const seen = Atomics.load(control, Control.DOORBELL);
    const views = [...attached.values()].map((m) => m.view);
    const plan = nextBatch(views, performance.timeOrigin + performance.now(), { maxWaitMs: init.batching.batchMaxWaitMs });
    if (plan.kind === "run") {
      runBatch(attached.get(plan.instance)!, plan.start, plan.count, plan.rows);
      // Let queued messages (attaches, unloads) in between batches.
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    const timeout = plan.kind === "wait" ? plan.ms : 1000;
    const wait = Atomics.waitAsync(control, Control.DOORBELL, seen, timeout);
    if (wait.async) await wait.value;
  }
  for (const instance of [...attached.keys()]) unload(instance);
  runtime.release();
  reply({ type: "stopped" });
}

self.onmessage = (event: MessageEvent<InferenceInit | InferenceRequest>) => {
  const message = event.data;
  if ("control" in message) {
    init = message;
    control = new Int32Array(message.control);
    runtime = OrtRuntime.load(message.ort.ortLibPath || undefined);
    reply({ type: "ready", ortVersion: runtime.version, availableProviders: runtime.availableProviders() });
    void loop();
    return;
  }
  switch (message.type) {
    case "attach":
      attach(message);
      break;
    case "unload":
      unload(message.instance);
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

// Session loader: one beside each inference worker; creates the ONNX Runtime sessions and times their batches.
//
// Creating a session (graph optimisation, a TensorRT engine build) and probing its batch sizes take from a fraction
// of a second to minutes, all in native calls that block their thread. Done on the inference worker, they would stop
// every other model's batches on the device for that long; here they only share the device. When the model's arena
// exists, the session is detached and its handle handed over to the inference worker, which adopts it (both threads
// bind the same library and share ORT's process-wide env).
//
// A GPU provider that fails at the validation run, or at the first size of the batch probe, gives way to the providers
// listed after it (provider-fallback.ts): the session is opened again on them and the reasons travel with the reply.
//
// A load asked for pixel inputs opens the model rewritten to take them (models/onnx/pixel-input.ts), from memory; the
// reply still describes the exported float input, and says what the arena must hold.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Pointer } from "bun:ffi";
import { OrtRuntime, type ExecutionProvider, type ModelSource, type OrtSession, type TensorRtOptions } from "../../native-bindings/ort.ts";
import { inputShapeRange, resolveInputSize, type TensorSignature } from "../models/model-io.ts";
import type { PixelEncoding } from "../models/input-encoding.ts";
import { withPixelInput } from "../models/onnx/pixel-input.ts";
import { Arena } from "./arena.ts";
import { chooseBatchCap, nextProbeSize, type ProbeSample } from "./batch-probe.ts";
import type { InferenceInit, SessionLoaderReply, SessionLoaderRequest } from "./protocol.ts";
import { openRunnableSession, providerLabel } from "./provider-fallback.ts";
import { nameThread, THREAD_NAMES, withThreadName } from "./thread-name.ts";

declare const self: Worker;

nameThread(THREAD_NAMES.sessionLoader);

/** What a session is opened from: the weights file, or its rewrite for pixel inputs (then `exported` is the float input it replaces). */
interface ModelToOpen {
  source: ModelSource;
  pixels: PixelEncoding | null;
  exported: TensorSignature | null;
}

/** A session created and not yet handed over, with what it takes to open it again on other providers. */
interface HeldSession {
  session: OrtSession;
  /** The model id the logs name it by. */
  label: string;
  model: ModelToOpen;
  probeInput: { width: number; height: number };
  /** The providers it was opened with: its own and those after it. */
  providers: string[];
  /** Why each provider preferred to its own did not start or did not run. */
  fallbacks: string[];
}

/** Sessions created and not yet handed over, by model instance. */
const sessions = new Map<number, HeldSession>();
let runtime: OrtRuntime;
let init: InferenceInit;

function reply(message: SessionLoaderReply): void {
  self.postMessage(message);
}

/** The model as the session opens it: rewritten for pixel inputs when asked and when its input allows, else its file. */
function modelToOpen(path: string, pixels: PixelEncoding | null): ModelToOpen {
  const asIs = { source: path, pixels: null, exported: null };
  if (!pixels) return asIs;
  let rewritten;
  try {
    rewritten = withPixelInput(readFileSync(path), pixels);
  } catch {
    // Not a model we can read: ONNX Runtime opens the file as it is and says why it cannot.
    return asIs;
  }
  if (!rewritten) return asIs;
  return { source: { name: path, bytes: rewritten.model }, pixels, exported: { ...rewritten.exported, elementType: "float32" } };
}

/** The image input as exported (its name and shape; a pixel input keeps both): the rewrite's record of it, or the session's own input. */
function exportedInput(session: OrtSession, model: ModelToOpen): TensorSignature {
  const input = model.exported ?? session.inputs[0];
  if (!input) throw new Error("the model has no input");
  return input;
}

/** TensorRT settings for a model: one engine covering every batch size the server will run (see inputShapeRange). */
function tensorRtOptions(model: ModelToOpen, probeInput: { width: number; height: number }): TensorRtOptions {
  // The input's name and shape are needed before the TensorRT session exists: read them from a cheap CPU session.
  const signature = runtime.createSession(model.source, { executionProviders: ["cpu"], graphOptimization: "disabled", intraOpThreads: 1 });
  const input = exportedInput(signature, model);
  signature.release();
  const range = inputShapeRange(input.shape, probeInput, init.batching.maxBatchSize);
  return {
    engineCachePath: init.ort.tensorrt.engineCachePath || undefined,
    fp16: init.ort.tensorrt.fp16,
    profile: range ? { min: { [input.name]: range.min }, opt: { [input.name]: range.opt }, max: { [input.name]: range.max } } : undefined,
  };
}

/** Runs one zero image (the model's fixed batch, else 1): validates the graph runs and learns each output's concrete per-image shape. */
function validationRun(session: OrtSession, model: ModelToOpen, probeInput: { width: number; height: number }): number[][] {
  const input = exportedInput(session, model);
  const size = resolveInputSize(input.shape, probeInput);
  const rows = typeof input.shape[0] === "number" && input.shape[0] > 0 ? input.shape[0] : 1;
  const shape = [rows, 3, size.height, size.width];
  const elements = shape.reduce((a, b) => a * b, 1);
  const data = model.pixels?.element === "uint16" ? new Uint16Array(elements) : model.pixels ? new Uint8Array(elements) : new Float32Array(elements);
  const outputs = session.runAllocating([{ name: input.name, data, shape }]);
  return outputs.map((o) => o.shape.slice(1));
}

/** Opens `model` on the first of `providers` whose session starts and passes the validation run. */
function openValidated(
  label: string,
  model: ModelToOpen,
  probeInput: { width: number; height: number },
  providers: readonly string[],
): { held: HeldSession; outputShapes: number[][] } {
  const tensorrt = providers.includes("tensorrt") ? tensorRtOptions(model, probeInput) : undefined;
  let outputShapes: number[][] = [];
  const runnable = openRunnableSession(
    providers,
    (list) =>
      // The session's intra-op threads start here and keep the name this thread has meanwhile.
      withThreadName(THREAD_NAMES.ortIntraOp, THREAD_NAMES.sessionLoader, () =>
        runtime.createSession(model.source, {
          intraOpThreads: init.intraOpThreads,
          executionProviders: list,
          deviceId: init.deviceId,
          cudnnConvAlgoSearch: init.ort.cudnnConvAlgoSearch,
          tensorrt,
        }),
      ),
    (session) => {
      outputShapes = validationRun(session, model, probeInput);
    },
    (reason, next) => console.warn(`loading ${label}: ${reason}; trying ${providerLabel(next)}`),
  );
  return { held: { session: runnable.session, label, model, probeInput, providers: runnable.providers, fallbacks: runnable.fallbacks }, outputShapes };
}

function load(request: Extract<SessionLoaderRequest, { type: "load" }>): void {
  try {
    const model = modelToOpen(request.path, request.pixelEncoding);
    const { held, outputShapes } = openValidated(request.label, model, request.probeInput, init.ort.executionProviders);
    const { session } = held;
    sessions.get(request.instance)?.session.release();
    sessions.set(request.instance, held);
    reply({
      type: "loaded",
      requestId: request.requestId,
      activeProvider: session.activeProvider,
      fallbacks: held.fallbacks,
      session: {
        inputs: model.exported ? [model.exported] : session.inputs,
        outputs: session.outputs,
        outputShapes,
        metadata: session.metadata,
        inputElement: model.pixels?.element ?? "float32",
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // ONNX Runtime names the weights file by its full path: the log keeps it, the response does not.
    console.error(`loading ${request.label} failed: ${message}`);
    const publicMessage = message.replaceAll(request.path, `${request.label}/${basename(request.path)}`);
    reply({ type: "loadFailed", requestId: request.requestId, error: { status: 500, message: `Model package is broken. ${publicMessage}` } });
  }
}

/**
 * Times doubling batch sizes on this device (see batch-probe.ts) and returns the batch cap they call for.
 * Inputs are read from the arena (whatever it holds: only the time matters); outputs go to private
 * buffers, since another device's worker may already be filling this arena's output slots. A size that fails
 * (out of device memory, say) ends the probe: the cap comes from the sizes that ran. When the first size fails,
 * its error is thrown.
 */
function probeBatchCap(label: string, session: OrtSession, arena: Arena, inputName: string, outputNames: string[], maxBatch: number): number {
  const samples: ProbeSample[] = [];
  const floatsPerSlot = outputNames.map((_, i) => arena.output(i, 0).length);
  const scratch = outputNames.map((_, i) => new Float32Array(maxBatch * floatsPerSlot[i]!));
  for (let size = nextProbeSize(samples, maxBatch); size !== null; size = nextProbeSize(samples, maxBatch)) {
    const inputs = [{ name: inputName, data: arena.input(0, size), shape: [size, ...arena.layout.inputShape] }];
    const outputs = outputNames.map((name, i) => ({ name, data: scratch[i]!.subarray(0, size * floatsPerSlot[i]!), shape: [size, ...arena.layout.outputs[i]!.shape] }));
    try {
      // The first call at a new size lets ORT size its buffers; the faster of two more is the time.
      session.run(inputs, outputs);
      let fastest = Infinity;
      for (let i = 0; i < 2; i++) {
        const began = performance.now();
        session.run(inputs, outputs);
        fastest = Math.min(fastest, performance.now() - began);
      }
      samples.push({ size, msPerImage: fastest / size });
    } catch (error) {
      if (samples.length === 0) throw error;
      console.warn(`batch probe ${label}: batch ${size} failed, keeping smaller batches: ${error instanceof Error ? error.message : String(error)}`);
      break;
    }
  }
  const cap = chooseBatchCap(samples, maxBatch);
  console.log(`batch probe ${label} (${session.activeProvider}): ${samples.map((s) => `batch ${s.size} ${s.msPerImage.toFixed(1)}`).join(", ")} ms/image -> batches up to ${cap}`);
  return cap;
}

/**
 * Probes the held session's batch sizes. When even the first size fails on a GPU provider, the session gives way to
 * the providers after it (opened and validated again) and those are probed; on the CPU, or with nothing left to try,
 * the session stays with batches of 1.
 */
function probeWithFallback(request: Extract<SessionLoaderRequest, { type: "handOver" }>, held: HeldSession, arena: Arena): { held: HeldSession; batchCapacity: number } {
  let current = held;
  for (;;) {
    const provider = current.session.activeProvider;
    try {
      return { held: current, batchCapacity: probeBatchCap(current.label, current.session, arena, request.inputName, request.outputNames, request.batch.capacity) };
    } catch (error) {
      const reason = `${providerLabel(provider)}: failed in the batch probe: ${error instanceof Error ? error.message : String(error)}`;
      const remaining = current.providers.slice(current.providers.indexOf(provider) + 1);
      if (provider === "cpu" || remaining.length === 0) {
        console.warn(`batch probe ${current.label}: ${reason}; keeping batches of 1`);
        return { held: current, batchCapacity: 1 };
      }
      console.warn(`batch probe ${current.label}: ${reason}; trying ${providerLabel(remaining[0]!)}`);
      let replacement: HeldSession;
      try {
        replacement = openValidated(current.label, current.model, current.probeInput, remaining).held;
      } catch (reopenError) {
        console.warn(`batch probe ${current.label}: no other provider runs it (${(reopenError as Error).message}); keeping ${providerLabel(provider)} with batches of 1`);
        return { held: current, batchCapacity: 1 };
      }
      current.session.release();
      current = { ...replacement, fallbacks: [...current.fallbacks, reason, ...replacement.fallbacks] };
    }
  }
}

function handOver(request: Extract<SessionLoaderRequest, { type: "handOver" }>): void {
  const held = sessions.get(request.instance);
  if (!held) {
    reply({ type: "handedOver", requestId: request.requestId, session: null, batchCapacity: 0, fallbacks: [] });
    return;
  }
  sessions.delete(request.instance);
  const arena = new Arena(request.arena.layout, request.arena.buffer);
  const probed =
    init.batching.batchSizeProbe && !request.batch.fixed && request.batch.capacity > 1 ? probeWithFallback(request, held, arena) : { held, batchCapacity: request.batch.capacity };
  const { session, fallbacks } = probed.held;
  const activeProvider = session.activeProvider;
  reply({ type: "handedOver", requestId: request.requestId, session: { handle: session.detach(), activeProvider }, batchCapacity: probed.batchCapacity, fallbacks });
}

self.onmessage = (event: MessageEvent<InferenceInit | SessionLoaderRequest>) => {
  const message = event.data;
  if ("control" in message) {
    init = message;
    runtime = OrtRuntime.load(message.ort.ortLibPath || undefined);
    reply({ type: "ready", ortVersion: runtime.version, availableProviders: runtime.availableProviders() });
    return;
  }
  switch (message.type) {
    case "load":
      load(message);
      break;
    case "handOver":
      handOver(message);
      break;
    case "discard":
      sessions.get(message.instance)?.session.release();
      sessions.delete(message.instance);
      break;
    case "release":
      runtime.adoptSession(message.session.handle as Pointer, message.session.activeProvider as ExecutionProvider).release();
      break;
    case "stop":
      runtime.release();
      reply({ type: "stopped" });
      break;
  }
};
// Announce ourselves only now: messages posted to a worker before its script has run can be lost.
reply({ type: "started" });

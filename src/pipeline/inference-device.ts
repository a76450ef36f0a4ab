// Inference device: one device (CPU or a GPU) as seen from the main thread: its session loader and its inference worker.
//
// The session loader creates sessions (and times their batch sizes) so that the inference worker never stops running
// batches of the models it has while another model loads; a session then moves to the inference worker by handle.
import { HttpError, fromWireError } from "../errors.ts";
import type { LoadedSignature } from "../models/model-io.ts";
import type { PixelEncoding } from "../models/input-encoding.ts";
import {
  Control,
  type ArenaHandOver,
  type BatchReport,
  type InferenceInit,
  type InferenceReply,
  type InferenceRequest,
  type SessionLoaderReply,
  type SessionLoaderRequest,
} from "../workers/protocol.ts";

const INFERENCE_WORKER_URL = new URL("../workers/inference.worker.ts", import.meta.url);
const SESSION_LOADER_URL = new URL("../workers/session-loader.worker.ts", import.meta.url);
/** How long stop() waits for a worker to release its sessions: a native call in progress cannot be interrupted. */
const STOP_TIMEOUT_MS = 5000;

export interface DeviceEvents {
  onInferred(batch: BatchReport): void;
  onBatchFailed(instance: number, start: number, count: number, error: HttpError): void;
}

/** The execution provider an instance's session runs on here, and why each provider preferred to it did not start or run. */
export interface ProviderReport {
  activeProvider: string;
  fallbacks: string[];
}

/** A session created for a model instance, before its arena exists. */
export interface LoadedSession extends ProviderReport {
  session: LoadedSignature;
}

type RuntimeInfo = { ortVersion: string; availableProviders: string[] };
type StartedWorker = { worker: Worker; ready: Promise<RuntimeInfo>; stopped: Promise<void> };

/**
 * Starts a worker script and sends it `init` once it announces itself ("started": messages posted before its script
 * ran could be lost). `ready` settles with its "ready" reply or its first error; `stopped` with its "stopped" reply.
 */
function startWorker<Reply extends { type: string }>(
  url: URL,
  init: InferenceInit,
  name: string,
  onReply: (message: Reply) => void,
  onError: (error: Error) => void,
): StartedWorker {
  const worker = new Worker(url);
  let markReady!: (info: RuntimeInfo) => void;
  let markFailed!: (error: Error) => void;
  let markStopped!: () => void;
  const ready = new Promise<RuntimeInfo>((resolve, reject) => ((markReady = resolve), (markFailed = reject)));
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  worker.onerror = (event) => {
    const error = new Error(`${name} failed: ${event.message}`);
    markFailed(error);
    console.error(error.message);
    onError(error);
  };
  worker.onmessage = (event: MessageEvent<Reply>) => {
    const message = event.data as Reply & Partial<RuntimeInfo>;
    if (message.type === "started") worker.postMessage(init);
    else if (message.type === "ready") markReady({ ortVersion: message.ortVersion!, availableProviders: message.availableProviders! });
    else if (message.type === "stopped") markStopped();
    else onReply(message);
  };
  return { worker, ready, stopped };
}

export class InferenceDevice {
  private readonly inference: StartedWorker;
  private readonly loader: StartedWorker;
  private readonly loads = new Map<number, { instance: number; resolve: (loaded: LoadedSession) => void; reject: (e: Error) => void }>();
  /** Each instance's provider as last reported by the session loader (at load, then after the batch probe). */
  private readonly providers = new Map<number, ProviderReport>();
  /** Hand-overs asked of the session loader and not answered yet; unload() cancels its model's. */
  private readonly handOvers = new Map<number, ArenaHandOver>();
  private nextRequestId = 1;
  private stopping: Promise<void> | null = null;
  private readonly control: Int32Array;

  constructor(init: InferenceInit, events: DeviceEvents) {
    this.control = new Int32Array(init.control);
    this.inference = startWorker<InferenceReply>(
      INFERENCE_WORKER_URL,
      init,
      "inference worker",
      (message) => {
        if (message.type === "inferred") events.onInferred(message);
        else if (message.type === "batchFailed") events.onBatchFailed(message.instance, message.start, message.count, fromWireError(message.error));
      },
      () => undefined,
    );
    this.loader = startWorker<SessionLoaderReply>(
      SESSION_LOADER_URL,
      init,
      "session loader",
      (message) => this.onLoaderReply(message),
      (error) => {
        for (const load of this.loads.values()) load.reject(error);
        this.loads.clear();
      },
    );
  }

  /** Resolves with ONNX Runtime's version once both threads have loaded the library. */
  async ready(): Promise<RuntimeInfo> {
    const [info] = await Promise.all([this.inference.ready, this.loader.ready]);
    return info;
  }

  /**
   * Creates a session for `path` (on the session loader) and learns its inputs, outputs and concrete output shapes;
   * `label` names it in logs. With `pixelEncoding` the session takes such pixels and normalises them itself, where the
   * model allows (models/onnx/pixel-input.ts); the signature's inputElement says whether it does.
   */
  load(instance: number, label: string, path: string, probeInput: { width: number; height: number }, pixelEncoding: PixelEncoding | null): Promise<LoadedSession> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      this.loads.set(requestId, { instance, resolve, reject });
      this.toLoader({ type: "load", requestId, instance, label, path, probeInput, pixelEncoding });
    });
  }

  /**
   * Hands the model's arena to the device: the session loader probes batch sizes over it (BATCH_SIZE_PROBE), then the
   * inference worker adopts the session and batches the arena's READY slots from then on.
   */
  attach(handOver: ArenaHandOver): void {
    const requestId = this.nextRequestId++;
    this.handOvers.set(requestId, handOver);
    this.toLoader({ type: "handOver", requestId, ...handOver });
  }

  /** Releases the instance's session wherever it is: loaded and not handed over, being handed over, or attached. */
  /** The provider the instance's session runs on here, once loaded. */
  provider(instance: number): ProviderReport | undefined {
    return this.providers.get(instance);
  }

  unload(instance: number): void {
    this.providers.delete(instance);
    for (const [requestId, handOver] of this.handOvers) if (handOver.instance === instance) this.handOvers.delete(requestId);
    this.toLoader({ type: "discard", instance });
    this.toInference({ type: "unload", instance });
  }

  /** Stops the batch loop through the shared STOP word and both threads' sessions, then ends the threads. */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      Atomics.store(this.control, Control.STOP, 1);
      Atomics.add(this.control, Control.DOORBELL, 1);
      Atomics.notify(this.control, Control.DOORBELL);
      this.loader.worker.postMessage({ type: "stop" } satisfies SessionLoaderRequest);
      // A batch or a session creation in progress finishes first; do not wait forever on a wedged native call.
      const timeout = Bun.sleep(STOP_TIMEOUT_MS);
      await Promise.all([Promise.race([this.inference.stopped, timeout]), Promise.race([this.loader.stopped, timeout])]);
      this.inference.worker.terminate();
      this.loader.worker.terminate();
    })();
    await this.stopping;
  }

  private onLoaderReply(message: SessionLoaderReply): void {
    switch (message.type) {
      case "loaded":
      case "loadFailed": {
        const load = this.loads.get(message.requestId);
        this.loads.delete(message.requestId);
        if (message.type === "loaded") {
          const report = { activeProvider: message.activeProvider, fallbacks: message.fallbacks };
          if (load) this.providers.set(load.instance, report);
          load?.resolve({ session: message.session, ...report });
        } else load?.reject(fromWireError(message.error));
        break;
      }
      case "handedOver": {
        const handOver = this.handOvers.get(message.requestId);
        this.handOvers.delete(message.requestId);
        if (!message.session) break;
        // Unloaded while the loader probed: nobody will batch this session, so the loader takes it back and releases it.
        if (!handOver) this.toLoader({ type: "release", session: message.session });
        else {
          this.providers.set(handOver.instance, { activeProvider: message.session.activeProvider, fallbacks: message.fallbacks });
          this.toInference({ type: "attach", session: message.session, ...handOver, batch: { ...handOver.batch, capacity: message.batchCapacity } });
        }
        break;
      }
    }
  }

  private toLoader(message: SessionLoaderRequest): void {
    this.loader.worker.postMessage(message);
  }

  private toInference(message: InferenceRequest): void {
    this.inference.worker.postMessage(message);
  }
}

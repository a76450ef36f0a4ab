// Inference device: the inference worker of one device (CPU or a GPU), as seen from the main thread.
import { InferenceError, fromWireError } from "../errors.ts";
import type { ArenaLayout } from "./arena.ts";
import { Control, type InferenceInit, type InferenceReply, type InferenceRequest, type LoadedSession } from "./protocol.ts";

const WORKER_URL = new URL("../workers/inference.worker.ts", import.meta.url);

export interface BatchReport {
  key: string;
  start: number;
  count: number;
  rows: number;
  inferMs: number;
}

export interface DeviceEvents {
  onInferred(batch: BatchReport): void;
  onBatchFailed(key: string, start: number, count: number, error: InferenceError): void;
}

export class InferenceDevice {
  private readonly worker: Worker;
  private readonly loads = new Map<number, { resolve: (r: { session: LoadedSession; activeProvider: string }) => void; reject: (e: Error) => void }>();
  private nextRequestId = 1;
  private readonly started: Promise<{ ortVersion: string; availableProviders: string[] }>;
  private stopped: Promise<void> | null = null;
  private markStopped: (() => void) | null = null;
  private readonly control: Int32Array;

  constructor(
    private readonly init: InferenceInit,
    private readonly events: DeviceEvents,
  ) {
    this.control = new Int32Array(init.control);
    this.worker = new Worker(WORKER_URL);
    let markReady!: (info: { ortVersion: string; availableProviders: string[] }) => void;
    let markFailed!: (error: Error) => void;
    this.started = new Promise((resolve, reject) => ((markReady = resolve), (markFailed = reject)));
    this.worker.onerror = (event) => {
      const error = new Error(`inference worker failed: ${event.message}`);
      markFailed(error);
      for (const load of this.loads.values()) load.reject(error);
      this.loads.clear();
      console.error(error.message);
    };
    this.worker.onmessage = (event: MessageEvent<InferenceReply>) => {
      const message = event.data;
      switch (message.type) {
        case "started":
          this.worker.postMessage(this.init);
          break;
        case "ready":
          markReady({ ortVersion: message.ortVersion, availableProviders: message.availableProviders });
          break;
        case "loaded":
        case "loadFailed": {
          const load = this.loads.get(message.requestId);
          this.loads.delete(message.requestId);
          if (message.type === "loaded") load?.resolve({ session: message.session, activeProvider: message.activeProvider });
          else load?.reject(fromWireError(message.error));
          break;
        }
        case "inferred":
          this.events.onInferred(message);
          break;
        case "batchFailed":
          this.events.onBatchFailed(message.key, message.start, message.count, fromWireError(message.error));
          break;
        case "stopped":
          this.markStopped?.();
          break;
      }
    };
  }

  /** Resolves with ONNX Runtime's version once the worker has loaded the library. */
  ready(): Promise<{ ortVersion: string; availableProviders: string[] }> {
    return this.started;
  }

  /** Creates a session for `path` and learns its inputs, outputs and concrete output shapes. */
  load(key: string, path: string, probeInput: { width: number; height: number }): Promise<{ session: LoadedSession; activeProvider: string }> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      this.loads.set(requestId, { resolve, reject });
      this.send({ type: "load", requestId, key, path, probeInput });
    });
  }

  /** Hands the model's arena to the worker: from now on its READY slots are batched. */
  attach(key: string, arena: { layout: ArenaLayout; buffer: SharedArrayBuffer }, batch: { capacity: number; fixed: boolean }, inputName: string, outputNames: string[]): void {
    this.send({ type: "attach", key, arena, batch, inputName, outputNames });
  }

  unload(key: string): void {
    this.send({ type: "unload", key });
  }

  /** Stops the loop through the shared STOP word, waits for sessions to be released, then ends the thread. */
  async stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      this.markStopped = resolve;
      Atomics.store(this.control, Control.STOP, 1);
      Atomics.add(this.control, Control.DOORBELL, 1);
      Atomics.notify(this.control, Control.DOORBELL);
      // A batch in flight finishes first; do not wait forever on a wedged native call.
      setTimeout(resolve, 5000);
    });
    await this.stopped;
    this.worker.terminate();
  }

  private send(message: InferenceRequest): void {
    this.worker.postMessage(message);
  }
}

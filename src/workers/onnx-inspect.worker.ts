// ONNX inspect worker: reads one ONNX file with ONNX Runtime (signature, metadata, output shapes) off the HTTP thread, answers once.
import { inspectForWorker, type InspectReply } from "../models/onnx/inspect.ts";
import { nameThread, THREAD_NAMES } from "./thread-name.ts";

declare const self: Worker;

nameThread(THREAD_NAMES.modelInspector);

self.onmessage = (event: MessageEvent<{ path: string; requested?: { width: number; height: number }; ortLibPath?: string }>) => {
  self.postMessage(inspectForWorker(event.data) satisfies InspectReply);
};
self.postMessage({ type: "ready" } satisfies InspectReply);

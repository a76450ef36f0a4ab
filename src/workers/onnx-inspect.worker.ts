// ONNX inspect worker: reads one ONNX file with ONNX Runtime (signature, metadata, output shapes) off the HTTP thread, answers once.
import { inspectForWorker, type InspectReply } from "../models/onnx-inspect.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ path: string; requested?: { width: number; height: number }; ortLibPath?: string }>) => {
  self.postMessage(inspectForWorker(event.data) satisfies InspectReply);
};
self.postMessage({ type: "ready" } satisfies InspectReply);

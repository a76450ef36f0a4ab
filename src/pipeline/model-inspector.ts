// Model inspector: reads an ONNX file with ONNX Runtime in a short-lived worker, so the HTTP thread never blocks on it (POST /model/import).
import { fromWireError, HttpError } from "../errors.ts";
import type { ImageSize } from "../models/export-metadata.ts";
import type { OnnxInspection } from "../models/import-model.ts";
import type { InspectReply } from "../models/onnx/inspect.ts";

/** inspectOnnx in a short-lived worker, so the caller's thread (the HTTP thread) never blocks on ONNX Runtime. */
export function inspectOnnxInWorker(path: string, requested: ImageSize | undefined, ortLibPath?: string, timeoutMs = 120_000): Promise<OnnxInspection> {
  const worker = new Worker(new URL("../workers/onnx-inspect.worker.ts", import.meta.url));
  return new Promise<OnnxInspection>((resolve, reject) => {
    const timer = setTimeout(() => finish(new HttpError(500, `Inspecting the model took longer than ${timeoutMs / 1000} s.`)), timeoutMs);
    function finish(result: OnnxInspection | Error): void {
      clearTimeout(timer);
      worker.terminate();
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    worker.onmessage = (event: MessageEvent<InspectReply>) => {
      const reply = event.data;
      // The worker asks for its job only once it listens (messages sent earlier could be lost).
      if (reply.type === "ready") worker.postMessage({ path, requested, ortLibPath });
      else if (reply.type === "done") finish(reply.inspection);
      else finish(fromWireError(reply.error));
    };
    worker.onerror = (event) => {
      console.error("onnx inspect worker failed:", event.message);
      finish(new HttpError(500, "Internal error."));
    };
  });
}

// ONNX inspection: an ONNX file's signature, metadata and concrete output shapes, read with our ONNX Runtime bindings (CPU).
import { basename } from "node:path";
import { OrtRuntime } from "../../../native-bindings/ort.ts";
import { HttpError, toWireError, type WireError } from "../../errors.ts";
import type { ImageSize } from "../export-metadata.ts";
import { checkImageInput, importImageSize, ImportError, type OnnxInspection } from "../import-model.ts";

/**
 * Opens `path` on the CPU provider, reads its inputs, outputs and metadata_props, and runs one zero
 * image (batch 1, or the fixed batch) at the import's input size to learn one image's output shapes.
 * Blocks this thread for the session's creation and the run: the server calls it in a worker.
 */
export function inspectOnnx(path: string, requested: ImageSize | undefined, ortLibPath?: string): OnnxInspection {
  const runtime = OrtRuntime.load(ortLibPath);
  try {
    let session;
    try {
      session = runtime.createSession(path, { executionProviders: ["cpu"], intraOpThreads: 1 });
    } catch (error) {
      // ONNX Runtime names the file by its full path: the message keeps only its name.
      const message = (error instanceof Error ? error.message : String(error)).replaceAll(path, basename(path));
      throw new ImportError(`ONNX Runtime cannot load it: ${message}`);
    }
    const input = checkImageInput(session.inputs);
    const imageSize = importImageSize(input.shape, requested, session.metadata);
    const rows = typeof input.shape[0] === "number" && input.shape[0] > 0 ? input.shape[0] : 1;
    const shape = [rows, 3, imageSize.height, imageSize.width];
    let outputs;
    try {
      outputs = session.runAllocating([{ name: input.name, data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape }]);
    } catch (error) {
      throw new ImportError(`it does not run on a ${imageSize.width}x${imageSize.height} image: ${error instanceof Error ? error.message : String(error)}`);
    }
    const nonFloat = session.outputs.filter((o) => o.elementType !== "float32");
    if (nonFloat.length > 0) {
      throw new ImportError(`only float32 outputs are supported; ${nonFloat.map((o) => `${o.name} is ${o.elementType}`).join(", ")}.`);
    }
    return {
      inputs: session.inputs,
      outputs: session.outputs,
      metadata: session.metadata,
      outputShapes: outputs.map((o) => o.shape.slice(1)),
      imageSize,
    };
  } finally {
    runtime.release();
  }
}

/** What the inspect worker answers. */
export type InspectReply = { type: "ready" } | { type: "done"; inspection: OnnxInspection } | { type: "failed"; error: WireError };

/** The worker's side: inspect and answer, errors as wire errors (ImportError keeps its 400 and message). */
export function inspectForWorker(job: { path: string; requested?: ImageSize; ortLibPath?: string }): InspectReply {
  try {
    return { type: "done", inspection: inspectOnnx(job.path, job.requested, job.ortLibPath) };
  } catch (error) {
    if (!(error instanceof HttpError)) console.error("onnx inspect failed:", error);
    return { type: "failed", error: toWireError(error) };
  }
}

// Test worker: adopts a session handle detached on the test's thread, runs it once, releases it, and answers the scores.
import type { Pointer } from "bun:ffi";
import { OrtRuntime } from "../../../native-bindings/ort.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ handle: number; images: number[] }>) => {
  const runtime = OrtRuntime.load();
  try {
    const session = runtime.adoptSession(event.data.handle as Pointer, "cpu");
    const scores = new Float32Array(3);
    session.run([{ name: "images", data: new Float32Array(event.data.images), shape: [1, 3] }], [{ name: "scores", data: scores, shape: [1, 3] }]);
    session.release();
    self.postMessage({ scores: Array.from(scores), inputs: session.inputs.map((i) => i.name) });
  } catch (error) {
    self.postMessage({ error: String(error) });
  } finally {
    runtime.release();
  }
};

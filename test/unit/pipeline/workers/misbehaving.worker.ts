// A vision-worker stand-in for the pool's supervision tests: answers tasks, or crashes or hangs when the image type asks it to.
import type { VisionReply, VisionRequest } from "../../../../src/workers/protocol.ts";

self.onmessage = (event: MessageEvent<VisionRequest | { control: SharedArrayBuffer }>) => {
  const message = event.data;
  if (!("type" in message) || message.type !== "preprocess") return;
  const behaviour = message.image.type;
  if (behaviour === "crash") throw new Error("worker crashed on purpose");
  if (behaviour === "hang") for (;;);
  self.postMessage({ type: "done", taskId: message.taskId, result: { width: 1, height: 1, staticCropApplied: false } } satisfies VisionReply);
};
self.postMessage({ type: "ready" } satisfies VisionReply);

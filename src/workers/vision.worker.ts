// Vision worker: decodes and preprocesses images into arena slots, and postprocesses raw outputs into responses.
//
// One pool of these serves both directions so they balance themselves. Work arrives as
// messages naming a model and a slot; tensors are read and written in shared memory.
import { InferenceError, toWireError } from "../errors.ts";
import { postprocessObjectDetection } from "../models/families/object-detection.ts";
import { Arena, SlotState } from "../pipeline/arena.ts";
import { Control, type ImageMeta, type ModelSpec, type VisionInit, type VisionReply, type VisionRequest } from "../pipeline/protocol.ts";
import { imageBytesFromInput } from "../vision/image-input.ts";
import { preprocessInto } from "../vision/preprocess.ts";

declare const self: Worker;

interface AttachedModel {
  spec: ModelSpec;
  arena: Arena;
}

const models = new Map<string, AttachedModel>();
let control: Int32Array;

function ringDoorbell(): void {
  Atomics.add(control, Control.DOORBELL, 1);
  Atomics.notify(control, Control.DOORBELL);
}

function modelFor(key: string): AttachedModel {
  const model = models.get(key);
  if (!model) throw new Error(`vision worker has no model ${key}`);
  return model;
}

async function preprocess(request: Extract<VisionRequest, { type: "preprocess" }>): Promise<ImageMeta> {
  const { spec, arena } = modelFor(request.key);
  const bytes = imageBytesFromInput(request.image);
  const size = await preprocessInto(bytes, spec.preprocessing, request.flags, spec.input, arena.input(request.slot));
  // A cancelled request's slot has already left ASSIGNED: its input is simply never run.
  if (arena.markReady(request.slot)) ringDoorbell();
  return {
    width: size.width,
    height: size.height,
    staticCropApplied: spec.preprocessing.staticCrop !== null && !request.flags.disableStaticCrop,
  };
}

function postprocess(request: Extract<VisionRequest, { type: "postprocess" }>): string {
  const { spec, arena } = modelFor(request.key);
  try {
    const outputShape = arena.layout.outputs[0]!.shape;
    const predictions = postprocessObjectDetection(
      arena.output(0, request.slot),
      { numClasses: outputShape[0]! - 4, numAnchors: outputShape[1]! },
      request.params,
      {
        inputWidth: spec.input.width,
        inputHeight: spec.input.height,
        imageWidth: request.meta.width,
        imageHeight: request.meta.height,
        resize: spec.preprocessing.resize.method,
        staticCrop: request.meta.staticCropApplied ? spec.preprocessing.staticCrop : null,
      },
      spec.classNames,
    );
    return JSON.stringify({ image: { width: request.meta.width, height: request.meta.height }, predictions });
  } finally {
    arena.transition(request.slot, SlotState.INFERRED, SlotState.FREE);
    ringDoorbell();
  }
}

async function handle(request: VisionRequest): Promise<void> {
  switch (request.type) {
    case "attach":
      models.set(request.model.key, { spec: request.model, arena: new Arena(request.model.arena.layout, request.model.arena.buffer) });
      return;
    case "detach":
      models.delete(request.key);
      return;
    case "preprocess":
    case "postprocess": {
      let reply: VisionReply;
      try {
        const result = request.type === "preprocess" ? await preprocess(request) : postprocess(request);
        reply = { type: "done", taskId: request.taskId, result };
      } catch (error) {
        if (!(error instanceof InferenceError)) console.error(`vision worker: ${request.type} failed:`, error);
        reply = { type: "failed", taskId: request.taskId, error: toWireError(error) };
      }
      self.postMessage(reply);
    }
  }
}

self.onmessage = (event: MessageEvent<VisionInit | VisionRequest>) => {
  const message = event.data;
  if ("control" in message) control = new Int32Array(message.control);
  else void handle(message);
};
// Announce ourselves only now: the pool holds every message back until it hears this.
self.postMessage({ type: "ready" } satisfies VisionReply);

// Vision worker: decodes and preprocesses images into arena slots, and postprocesses raw outputs into responses.
//
// One pool of these serves both directions so they balance themselves. Work arrives as
// messages naming a model and a slot; tensors are read and written in shared memory.
import { HttpError, toWireError } from "../errors.ts";
import type { ModelSpec } from "../models/model-spec.ts";
import type { TaskParams } from "../models/task.ts";
import { taskResponse, type TaskResponseBody } from "../models/tasks/task-response.ts";
import { Arena } from "./arena.ts";
import { inputWritten } from "./slot-states.ts";
import { CollectionPacer } from "./collection-pacer.ts";
import { Control, type ImageMeta, type PostprocessResult, type VisionInit, type VisionReply, type VisionRequest, type VisualizationRequest } from "./protocol.ts";
import type { RescaleGeometry } from "../vision/boxes.ts";
import { decodeImage, reducedDecodingAvailable, setDecodeSettings } from "../vision/decode.ts";
import { drawClassification, drawPredictions } from "../vision/draw.ts";
import { loadImageBytes } from "../vision/image-input.ts";
import { preprocessInto } from "../vision/preprocess.ts";
import { readThreadMemory } from "./thread-memory.ts";
import { nameThread, THREAD_NAMES } from "./thread-name.ts";
import { DEFAULT_URL_INPUT_SETTINGS, type UrlInputSettings } from "../vision/url-policy.ts";

declare const self: Worker;

nameThread(THREAD_NAMES.vision);

interface AttachedModel {
  spec: ModelSpec;
  arena: Arena;
}

/** The model instances attached to this worker, by instance. */
const models = new Map<number, AttachedModel>();
let control: Int32Array;
let urlInput: UrlInputSettings = DEFAULT_URL_INPUT_SETTINGS;
let pacer = new CollectionPacer(0);

function ringDoorbell(): void {
  Atomics.add(control, Control.DOORBELL, 1);
  Atomics.notify(control, Control.DOORBELL);
}

function modelFor(instance: number): AttachedModel {
  const model = models.get(instance);
  if (!model) throw new Error(`vision worker has no model instance ${instance}`);
  return model;
}

async function preprocess(request: Extract<VisionRequest, { type: "preprocess" }>): Promise<ImageMeta> {
  const { spec, arena } = modelFor(request.instance);
  const bytes = await loadImageBytes(request.image, urlInput);
  const { decoded, decodedBytes } = await preprocessInto(bytes, spec.preprocessing, request.switches, spec.input, arena.input(request.slot));
  pacer.count(bytes.length + decodedBytes);
  if (inputWritten(arena, request.slot)) ringDoorbell();
  return {
    width: decoded.width,
    height: decoded.height,
    staticCropApplied: spec.preprocessing.staticCrop !== null && !request.switches.disableStaticCrop,
  };
}

/** The response body (without inference_id and time) for one slot's raw outputs. */
function responseBody(spec: ModelSpec, arena: Arena, slot: number, meta: ImageMeta, params: TaskParams): TaskResponseBody {
  const geometry: RescaleGeometry = {
    inputWidth: spec.input.width,
    inputHeight: spec.input.height,
    imageWidth: meta.width,
    imageHeight: meta.height,
    resize: spec.preprocessing.resize.method,
    staticCrop: meta.staticCropApplied ? spec.preprocessing.staticCrop : null,
  };
  return taskResponse(spec, (output) => arena.output(output, slot), params, geometry);
}

async function visualization(spec: ModelSpec, body: TaskResponseBody, request: VisualizationRequest): Promise<Uint8Array> {
  const bytes = await loadImageBytes(request.image, urlInput);
  const image = await decodeImage(bytes, { autoOrient: request.autoOrient });
  pacer.count(bytes.length + image.data.byteLength);
  if ("top" in body || "predicted_classes" in body) {
    return drawClassification(image, body, { colors: spec.colors, strokeWidth: request.strokeWidth });
  }
  const skeletons = spec.keypoints ? new Map([...spec.keypoints.classes].map(([classId, entry]) => [classId, entry.edges])) : undefined;
  return drawPredictions(image, body.predictions, { colors: spec.colors, strokeWidth: request.strokeWidth, labels: request.labels, skeletons });
}

async function postprocess(request: Extract<VisionRequest, { type: "postprocess" }>): Promise<PostprocessResult> {
  const { spec, arena } = modelFor(request.instance);
  // The slot stays INFERRED: the main thread releases it once this reply is in (workers/slot-states.ts).
  const body = responseBody(spec, arena, request.slot, request.meta, request.params);
  return {
    body: JSON.stringify(body),
    visualization: request.visualize ? await visualization(spec, body, request.visualize) : null,
  };
}

async function handle(request: VisionRequest): Promise<void> {
  switch (request.type) {
    case "attach":
      models.set(request.instance, { spec: request.spec, arena: new Arena(request.arena.layout, request.arena.buffer) });
      return;
    case "detach":
      models.delete(request.instance);
      // Collect this thread's views of the arena now rather than whenever this worker next collects (see memory-release.ts).
      setTimeout(() => Bun.gc(true), 0);
      return;
    case "memory":
      self.postMessage({ type: "done", taskId: request.taskId, result: readThreadMemory(pacer) } satisfies VisionReply);
      return;
    case "fetch":
    case "preprocess":
    case "postprocess": {
      let reply: VisionReply;
      try {
        const result =
          request.type === "fetch" ? await loadImageBytes(request.image, urlInput) : request.type === "preprocess" ? await preprocess(request) : await postprocess(request);
        reply = { type: "done", taskId: request.taskId, result };
      } catch (error) {
        if (!(error instanceof HttpError)) console.error(`vision worker: ${request.type} failed:`, error);
        reply = { type: "failed", taskId: request.taskId, error: toWireError(error) };
      }
      // A downloaded image is this worker's own buffer: move it rather than copy it.
      if (request.type === "fetch" && reply.type === "done" && reply.result instanceof Uint8Array) self.postMessage(reply, [reply.result.buffer]);
      else self.postMessage(reply);
      // After the reply: the collection's pause delays the next task, not this one.
      pacer.collectIfDue();
    }
  }
}

self.onmessage = (event: MessageEvent<VisionInit | VisionRequest>) => {
  const message = event.data;
  if ("control" in message) {
    control = new Int32Array(message.control);
    setDecodeSettings(message.vision);
    if (message.vision.decodeAtReducedSize && !reducedDecodingAvailable)
      console.warn("vision worker: DECODE_AT_REDUCED_SIZE is on, but libvips cannot be called here (native-bindings/libvips.ts): decoding in full");
    urlInput = message.urlInput;
    pacer = new CollectionPacer(message.memory.gcEveryBytes);
  } else void handle(message);
};
// Announce ourselves only now: the pool holds every message back until it hears this.
self.postMessage({ type: "ready" } satisfies VisionReply);

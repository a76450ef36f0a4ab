// Sequential baseline: the architecture ours replaces (one thread; per request decode, batch-1 inference, postprocess), built from our own code.
//
// Decoding, preprocessing, the ONNX Runtime session (same library and providers, the threads the
// server's lane plan gives a single inference worker, same zero-copy run) and postprocessing are
// the server's own functions, so in a comparison only the architecture differs: here requests are
// handled one at a time, start to finish, with no batching and no overlap between one request's
// decoding and another's inference.
//   MODEL_CACHE_DIR=test/fixtures/models BASELINE_MODELS=fixture-yolov8n/1 PORT=9102 bun bench/sequential-server.ts
import { OrtRuntime, type BoundTensor, type OrtSession } from "../native-bindings/ort.ts";
import { loadConfig } from "../src/config.ts";
import { Pipeline } from "../src/pipeline/pipeline.ts";
import { HttpError } from "../src/errors.ts";
import { confidenceValue, detectionParams, keypointDetectionParams, maskParams } from "../src/http/inference.ts";
import { parseModelId } from "../src/models/model-id.ts";
import { resolveInputSize } from "../src/models/model-io.ts";
import { resolveModelSpec, type ModelSpec } from "../src/models/model-spec.ts";
import { readModelPackage, type ModelPackage } from "../src/models/package.ts";
import type { TaskParams, TaskType } from "../src/models/task.ts";
import { taskResponse } from "../src/models/tasks/task-response.ts";
import { imageBytesFromInput } from "../src/vision/image-input.ts";
import { preprocessInto } from "../src/vision/preprocess.ts";

interface BaselineModel {
  pkg: ModelPackage;
  spec: ModelSpec;
  session: OrtSession;
  input: Float32Array;
  outputs: BoundTensor[];
}

/** The reference's request fields the baseline reads (defaults for everything else). */
interface InferenceBody {
  model_id: string;
  image: { type: string; value?: unknown };
  confidence?: number | string | null;
  iou_threshold?: number | null;
  class_agnostic_nms?: boolean | null;
  max_detections?: number | null;
  class_filter?: string[] | null;
  mask_decode_mode?: string | null;
  tradeoff_factor?: number | null;
  response_mask_format?: string | null;
  keypoint_confidence?: number | null;
}

const NO_SWITCHES = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };

const config = loadConfig(process.env);
// One session: on the CPU every core, named explicitly (ONNX Runtime's own default ran slower here, see inference-lanes.ts).
const intraOpThreads = Pipeline.lanePlan({ ...config.ort, inferenceWorkersPerDevice: 1 }).intraOpThreads;
const runtime = OrtRuntime.load(config.ort.ortLibPath || undefined);
const models = new Map<string, BaselineModel>();

function loadModel(pkg: ModelPackage): BaselineModel {
  const session = runtime.createSession(pkg.weightsPath, {
    intraOpThreads,
    executionProviders: config.ort.executionProviders,
    deviceId: config.ort.cudaDevices[0],
  });
  const input = session.inputs[0]!;
  const size = resolveInputSize(input.shape, { width: pkg.preprocessing.resize.width, height: pkg.preprocessing.resize.height });
  const tensor = new Float32Array(3 * size.width * size.height);
  const probe = session.runAllocating([{ name: input.name, data: tensor, shape: [1, 3, size.height, size.width] }]);
  const signature = { inputs: session.inputs, outputs: session.outputs, outputShapes: probe.map((o) => o.shape.slice(1)), metadata: session.metadata };
  return {
    pkg,
    spec: resolveModelSpec(pkg.modelId.id, pkg, signature, {
      maxBatchSize: 1,
      classificationSoftmax: config.models.classificationSoftmax,
      rfdetrOnnxMaxResolution: config.models.rfdetrOnnxMaxResolution,
    }),
    session,
    input: tensor,
    outputs: probe.map((o) => ({ name: o.name, data: new Float32Array(o.data.length), shape: o.shape })),
  };
}

function taskParams(task: TaskType, body: InferenceBody): TaskParams {
  switch (task) {
    case "object-detection":
      return { task, detection: detectionParams(body) };
    case "instance-segmentation":
      return { task, detection: detectionParams(body), masks: maskParams(body.mask_decode_mode, body.tradeoff_factor, body.response_mask_format) };
    case "keypoint-detection":
      return keypointDetectionParams(body);
    case "classification":
      return { task, confidence: confidenceValue(body.confidence) };
  }
}

/** One request, start to finish: decode and preprocess, a batch-1 ONNX Runtime call, postprocess. */
async function infer(task: TaskType, body: InferenceBody): Promise<string> {
  const started = performance.now();
  const model = models.get(parseModelId(body.model_id).id);
  if (!model) throw new HttpError(404, `Model ${body.model_id} is not loaded by the baseline.`);
  if (model.pkg.taskType !== task) throw new HttpError(400, `Model ${body.model_id} is a ${model.pkg.taskType} model.`);
  const { pkg } = model;
  const { input } = model.spec;
  const { decoded: image } = await preprocessInto(imageBytesFromInput(body.image), pkg.preprocessing, NO_SWITCHES, input, model.input);
  model.session.run([{ name: input.name, data: model.input, shape: [1, 3, input.height, input.width] }], model.outputs);
  const geometry = {
    inputWidth: input.width,
    inputHeight: input.height,
    imageWidth: image.width,
    imageHeight: image.height,
    resize: pkg.preprocessing.resize.method,
    staticCrop: NO_SWITCHES.disableStaticCrop ? null : pkg.preprocessing.staticCrop,
  };
  const response = taskResponse(model.spec, (i) => model.outputs[i]!.data as Float32Array, taskParams(task, body), geometry);
  return JSON.stringify({ inference_id: crypto.randomUUID(), time: (performance.now() - started) / 1000, ...response });
}

const HANDLERS: Record<string, (body: InferenceBody) => Promise<string>> = {
  "/infer/object_detection": (body) => infer("object-detection", body),
  "/infer/instance_segmentation": (body) => infer("instance-segmentation", body),
  "/infer/keypoints_detection": (body) => infer("keypoint-detection", body),
  "/infer/classification": (body) => infer("classification", body),
};

/** The one-at-a-time queue: each request starts when the previous one has finished. */
let previous: Promise<unknown> = Promise.resolve();

function serially<T>(work: () => Promise<T>): Promise<T> {
  const turn = previous.then(work, work);
  previous = turn.catch(() => {});
  return turn;
}

for (const id of (process.env.BASELINE_MODELS ?? "").split(",").filter(Boolean)) {
  const modelId = parseModelId(id);
  models.set(modelId.id, loadModel(await readModelPackage(config.models.modelCacheDir, modelId)));
}

const server = Bun.serve({
  hostname: config.http.host,
  port: config.http.port,
  // Large base64 bodies, like the server's.
  maxRequestBodySize: 64 * 2 ** 20,
  async fetch(request) {
    const handler = HANDLERS[new URL(request.url).pathname];
    if (!handler || request.method !== "POST") return Response.json({ message: "Not Found" }, { status: 404 });
    try {
      const body = (await request.json()) as InferenceBody;
      return new Response(await serially(() => handler(body)), { headers: { "content-type": "application/json" } });
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      return Response.json({ message: error instanceof Error ? error.message : String(error) }, { status });
    }
  },
});
console.log(`listening on http://${config.http.host === "0.0.0.0" ? "localhost" : config.http.host}:${server.port} (sequential baseline, ${models.size} models)`);

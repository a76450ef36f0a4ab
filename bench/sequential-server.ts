// Sequential baseline: the architecture ours replaces (one thread; per request decode, batch-1 inference, postprocess), built from our own code.
//
// Decoding, preprocessing, the ONNX Runtime session (same library, providers and threads, same
// zero-copy run) and postprocessing are the server's own functions, so in a comparison only the
// architecture differs: here requests are handled one at a time, start to finish, with no
// batching and no overlap between one request's decoding and another's inference.
//   MODEL_CACHE_DIR=test/fixtures/models BASELINE_MODELS=fixture-yolov8n/1 PORT=9102 bun bench/sequential-server.ts
import { OrtRuntime, type BoundTensor, type OrtSession } from "../native-bindings/ort.ts";
import { loadConfig } from "../src/config.ts";
import { InferenceError } from "../src/errors.ts";
import { postprocessObjectDetection } from "../src/models/families/object-detection.ts";
import { parseModelId } from "../src/models/model-id.ts";
import { resolveInputSize } from "../src/models/model-io.ts";
import { readModelPackage, type ModelPackage } from "../src/models/package.ts";
import { imageBytesFromInput } from "../src/vision/image-input.ts";
import { preprocessInto } from "../src/vision/preprocess.ts";

interface BaselineModel {
  pkg: ModelPackage;
  session: OrtSession;
  input: { name: string; width: number; height: number; tensor: Float32Array };
  outputs: BoundTensor[];
}

interface DetectionBody {
  model_id: string;
  image: { type: string; value?: unknown };
  confidence?: number;
  iou_threshold?: number;
  class_agnostic_nms?: boolean;
  max_detections?: number;
  class_filter?: string[] | null;
}

const NO_SWITCHES = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };
const UNIT_NORMALISATION = { mean: [0, 0, 0], std: [1, 1, 1] } as const;

const config = loadConfig(process.env);
const runtime = OrtRuntime.load(config.ortLibPath || undefined);
const models = new Map<string, BaselineModel>();

function loadModel(pkg: ModelPackage): BaselineModel {
  const session = runtime.createSession(pkg.weightsPath, {
    intraOpThreads: config.ortIntraOpThreads,
    executionProviders: config.executionProviders,
    deviceId: config.cudaDeviceId,
  });
  const input = session.inputs[0]!;
  const size = resolveInputSize(input.shape, { width: pkg.preprocessing.resize.width, height: pkg.preprocessing.resize.height });
  const tensor = new Float32Array(3 * size.width * size.height);
  const probe = session.runAllocating([{ name: input.name, data: tensor, shape: [1, 3, size.height, size.width] }]);
  return {
    pkg,
    session,
    input: { name: input.name, ...size, tensor },
    outputs: probe.map((o) => ({ name: o.name, data: new Float32Array(o.data.length), shape: o.shape })),
  };
}

/** One detection request, start to finish. */
async function detect(body: DetectionBody): Promise<string> {
  const started = performance.now();
  const model = models.get(parseModelId(body.model_id).id);
  if (!model) throw new InferenceError(404, `Model ${body.model_id} is not loaded by the baseline.`);
  const { pkg, input } = model;
  const image = await preprocessInto(imageBytesFromInput(body.image), pkg.preprocessing, NO_SWITCHES, { ...input, ...UNIT_NORMALISATION }, input.tensor);
  model.session.run([{ name: input.name, data: input.tensor, shape: [1, 3, input.height, input.width] }], model.outputs);
  const output = model.outputs[0]!;
  const predictions = postprocessObjectDetection(
    output.data as Float32Array,
    { numClasses: output.shape[1]! - 4, numAnchors: output.shape[2]! },
    {
      confidence: body.confidence ?? 0.4,
      iouThreshold: body.iou_threshold ?? 0.3,
      classAgnosticNms: body.class_agnostic_nms ?? false,
      maxDetections: body.max_detections ?? 300,
      classFilter: body.class_filter ?? null,
    },
    {
      inputWidth: input.width,
      inputHeight: input.height,
      imageWidth: image.width,
      imageHeight: image.height,
      resize: pkg.preprocessing.resize.method,
      staticCrop: pkg.preprocessing.staticCrop,
    },
    pkg.classNames,
  );
  return JSON.stringify({ inference_id: crypto.randomUUID(), time: (performance.now() - started) / 1000, image, predictions });
}

const HANDLERS: Record<string, (body: never) => Promise<string>> = {
  "/infer/object_detection": detect,
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
  models.set(modelId.id, loadModel(await readModelPackage(config.modelCacheDir, modelId)));
}

const server = Bun.serve({
  hostname: config.host,
  port: config.port,
  // Large base64 bodies, like the server's.
  maxRequestBodySize: 64 * 2 ** 20,
  async fetch(request) {
    const handler = HANDLERS[new URL(request.url).pathname];
    if (!handler || request.method !== "POST") return Response.json({ message: "Not Found" }, { status: 404 });
    try {
      const body = (await request.json()) as never;
      return new Response(await serially(() => handler(body)), { headers: { "content-type": "application/json" } });
    } catch (error) {
      const status = error instanceof InferenceError ? error.status : 500;
      return Response.json({ message: error instanceof Error ? error.message : String(error) }, { status });
    }
  },
});
console.log(`listening on http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${server.port} (sequential baseline, ${models.size} models)`);

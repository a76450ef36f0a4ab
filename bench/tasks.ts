// Benchmarked tasks: per task, the route, the model it runs and the request body it sends.
import type { BenchImage } from "./images.ts";

export type BenchTaskName = "object-detection" | "instance-segmentation" | "classification";

export interface BenchTask {
  name: BenchTaskName;
  route: string;
  /** Default model, from the fixture cache test/fixtures/build.ts writes. */
  modelId: string;
}

export const BENCH_TASKS: readonly BenchTask[] = [
  { name: "object-detection", route: "/infer/object_detection", modelId: "fixture-yolov8n/1" },
  { name: "instance-segmentation", route: "/infer/instance_segmentation", modelId: "fixture-yolov8n-seg/1" },
  { name: "classification", route: "/infer/classification", modelId: "fixture-yolov8n-cls/1" },
];

/** The JSON body of one request: the reference's fields, defaults for everything but the image. */
export function requestBodies(modelId: string, images: readonly BenchImage[]): Uint8Array<ArrayBuffer>[] {
  const encoder = new TextEncoder();
  return images.map((image) =>
    encoder.encode(JSON.stringify({ model_id: modelId, image: { type: "base64", value: Buffer.from(image.jpeg).toString("base64") } })),
  );
}

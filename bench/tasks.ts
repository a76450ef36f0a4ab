// Benchmarked tasks: per task, the route, the model it runs and the request body it sends.
import type { BenchImage } from "./images.ts";

export type BenchTaskName = "object-detection" | "instance-segmentation" | "classification" | "rfdetr-detection" | "keypoint-detection";

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
  // RF-DETR-nano-shaped (a small backbone, a 300-query transformer decoder, input 384) on the detection route.
  { name: "rfdetr-detection", route: "/infer/object_detection", modelId: "fixture-rfdetr-nano/1" },
  { name: "keypoint-detection", route: "/infer/keypoints_detection", modelId: "fixture-yolov8n-pose/1" },
];

/** The JSON body of one request: the reference's fields, defaults for everything but the image. */
export function requestBodies(modelId: string, images: readonly BenchImage[]): Uint8Array<ArrayBuffer>[] {
  const encoder = new TextEncoder();
  return images.map((image) => encoder.encode(JSON.stringify({ model_id: modelId, image: { type: "base64", value: Buffer.from(image.jpeg).toString("base64") } })));
}

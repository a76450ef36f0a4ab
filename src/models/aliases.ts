// Model aliases: the reference's friendly names for Roboflow's public models (inference/models/aliases.py), e.g. yolov8n-640 -> coco/3.
import { parseModelId, type ModelId } from "./model-id.ts";

const YOLOV11: Record<string, string> = {
  "yolov11n-seg-640": "coco-dataset-vdnr1/19",
  "yolov11s-seg-640": "coco-dataset-vdnr1/20",
  "yolov11m-seg-640": "coco-dataset-vdnr1/21",
  "yolov11l-seg-640": "coco-dataset-vdnr1/22",
  "yolov11x-seg-640": "coco-dataset-vdnr1/23",
  "yolov11n-640": "coco/25",
  "yolov11s-640": "coco/26",
  "yolov11m-640": "coco/27",
  "yolov11l-640": "coco/28",
  "yolov11x-640": "coco/29",
  "yolov11n-1280": "coco/30",
  "yolov11s-1280": "coco/31",
  "yolov11m-1280": "coco/32",
  "yolov11l-1280": "coco/33",
  "yolov11x-1280": "coco/34",
};

/** Alias -> `dataset/version`. The reference's PaliGemma and Florence aliases are left out: those are not ONNX models. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  "yolov8n-640": "coco/3",
  "yolov8n-1280": "coco/9",
  "yolov8s-640": "coco/6",
  "yolov8s-1280": "coco/10",
  "yolov8m-640": "coco/8",
  "yolov8m-1280": "coco/11",
  "yolov8l-640": "coco/7",
  "yolov8l-1280": "coco/12",
  "yolov8x-640": "coco/5",
  "yolov8x-1280": "coco/13",
  "yolo-nas-s-640": "coco/14",
  "yolo-nas-m-640": "coco/15",
  "yolo-nas-l-640": "coco/16",
  "yolov8n-seg-640": "coco-dataset-vdnr1/2",
  "yolov8n-seg-1280": "coco-dataset-vdnr1/7",
  "yolov8s-seg-640": "coco-dataset-vdnr1/4",
  "yolov8s-seg-1280": "coco-dataset-vdnr1/8",
  "yolov8m-seg-640": "coco-dataset-vdnr1/5",
  "yolov8m-seg-1280": "coco-dataset-vdnr1/9",
  "yolov8l-seg-640": "coco-dataset-vdnr1/6",
  "yolov8l-seg-1280": "coco-dataset-vdnr1/10",
  "yolov8x-seg-640": "coco-dataset-vdnr1/3",
  "yolov8x-seg-1280": "coco-dataset-vdnr1/11",
  "yolov8n-pose-640": "coco-pose-detection/1",
  "yolov8s-pose-640": "coco-pose-detection/2",
  "yolov8m-pose-640": "coco-pose-detection/3",
  "yolov8l-pose-640": "coco-pose-detection/4",
  "yolov8x-pose-640": "coco-pose-detection/5",
  "yolov8x-pose-1280": "coco-pose-detection/6",
  "yolov10n-640": "coco/19",
  "yolov10s-640": "coco/20",
  "yolov10m-640": "coco/21",
  "yolov10b-640": "coco/22",
  "yolov10l-640": "coco/23",
  "yolov10x-640": "coco/24",
  ...YOLOV11,
  // The reference also accepts the "yolo11" spelling.
  ...Object.fromEntries(Object.entries(YOLOV11).map(([alias, id]) => [alias.replace("yolov11", "yolo11"), id])),
});

/** True when `id` is one of the aliases (exact match, as in the reference). */
export function isModelAlias(id: string): boolean {
  return Object.hasOwn(MODEL_ALIASES, id);
}

/** The id an alias stands for; any other id unchanged. */
export function resolveModelAlias(id: string): string {
  return isModelAlias(id) ? MODEL_ALIASES[id]! : id;
}

/** A model as a request names it: `key` is the name it is loaded and listed under (the alias itself, as in the reference), `modelId` the package it runs. */
export function requestedModel(raw: string): { key: string; modelId: ModelId } {
  const modelId = parseModelId(resolveModelAlias(raw));
  return { key: isModelAlias(raw) ? raw : modelId.id, modelId };
}

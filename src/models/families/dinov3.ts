// DINOv3 classification family: `dinov3`, `dinov3_probe` (linear-probe heads on a DINOv3 backbone), ImageNet normalisation (docs/model-families.md §6).
import { IMAGENET_NORMALISATION, classScoresFamily } from "./class-scores.ts";

export const DINOV3 = classScoresFamily({
  name: "dinov3",
  selects: (modelType) => modelType.trim().toLowerCase().startsWith("dinov3"),
  recognisedWithoutModelType: false,
  defaultModelType: "dinov3",
  normalisation: IMAGENET_NORMALISATION,
});

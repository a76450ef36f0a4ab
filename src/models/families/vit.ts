// ViT classification family: `vit` (the reference's default classification model type).
import { HALF_NORMALISATION, classScoresFamily } from "./class-scores.ts";

export const VIT = classScoresFamily({
  name: "vit",
  selects: (modelType) => modelType.trim().toLowerCase().startsWith("vit"),
  recognisedWithoutModelType: false,
  defaultModelType: "vit",
  normalisation: HALF_NORMALISATION,
});

// ResNet classification family: `resnet18/34/50/101`, ImageNet normalisation.
import { IMAGENET_NORMALISATION, classScoresFamily } from "./class-scores.ts";

export const RESNET = classScoresFamily({
  name: "resnet",
  selects: (modelType) => modelType.trim().toLowerCase().startsWith("resnet"),
  recognisedWithoutModelType: false,
  defaultModelType: "resnet50",
  normalisation: IMAGENET_NORMALISATION,
});

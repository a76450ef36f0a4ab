// Class scores: the output every classification family shares, one [batch, C] output of scores (logits or probabilities).
import type { ClassificationFamily, Normalisation } from "./family.ts";

export interface ClassScoresLayout {
  family: string;
  numClasses: number;
  multiLabel: boolean;
}

/** Half the value range each side of zero: mean = std = 0.5, the reference's classification base values (pixels end up in [-1, 1]). */
export const HALF_NORMALISATION: Normalisation = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
/** ImageNet statistics. */
export const IMAGENET_NORMALISATION: Normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** A classification family: its name, the model types that select it and its normalisation; the output is always [batch, C]. */
export function classScoresFamily<Name extends string>(family: {
  name: Name;
  selects: (modelType: string) => boolean;
  recognisedWithoutModelType: boolean;
  defaultModelType: string;
  normalisation: Normalisation;
}): ClassificationFamily<ClassScoresLayout & { family: Name }> {
  return {
    name: family.name,
    task: "classification",
    selects: family.selects,
    recognisedWithoutModelType: family.recognisedWithoutModelType,
    defaultModelType: family.defaultModelType,
    recognise(shapes, { classNames: { length: classCount }, multiLabel }) {
      const shape = shapes[0];
      return shape && shape.length === 1 && shape[0] === classCount ? { family: family.name, numClasses: classCount, multiLabel } : null;
    },
    expects: ({ classNames: { length: classCount } }) => `a classification output [batch, ${classCount}] for ${classCount} classes`,
    normalisation: () => family.normalisation,
    scores: (_layout, outputs) => outputs(0),
  };
}

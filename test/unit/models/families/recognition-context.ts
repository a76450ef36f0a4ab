// Test helper: the recognition context of a package with `classCount` classes (named c0, c1, …), a 640 x 640 stretched input and no keypoints.
import type { RecognitionContext } from "../../../../src/models/families/family.ts";

export function recognitionContext(classCount: number, overrides: Partial<RecognitionContext> = {}): RecognitionContext {
  return {
    classNames: Array.from({ length: classCount }, (_, i) => `c${i}`),
    multiLabel: false,
    outputNames: [],
    maxKeypoints: null,
    input: { width: 640, height: 640 },
    resize: { method: "stretch", padRgb: [0, 0, 0] },
    ...overrides,
  };
}

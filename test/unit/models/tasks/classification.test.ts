// Tests of classification postprocessing: softmax maths, 4-dp rounding, sorting, thresholds, multi-label and the reference's quirks.
import { describe, expect, test } from "bun:test";
import {
  isProbabilityDistribution,
  postprocessClassification,
  singleLabelScores,
  softmax,
  type MultiLabelClassificationBody,
  type SingleLabelClassificationBody,
} from "../../../../src/models/tasks/classification.ts";

const NAMES = ["cat", "dog", "bird", "fish"];
const IMAGE = { width: 640, height: 480 };

function singleLabel(scores: number[], confidence: number, names = NAMES): SingleLabelClassificationBody {
  return postprocessClassification(Float32Array.from(scores), { confidence }, IMAGE, names, { multiLabel: false }) as SingleLabelClassificationBody;
}

function multiLabel(scores: number[], confidence: number, names = NAMES): MultiLabelClassificationBody {
  return postprocessClassification(Float32Array.from(scores), { confidence }, IMAGE, names, { multiLabel: true }) as MultiLabelClassificationBody;
}

function softmax64(row: number[]): number[] {
  const max = Math.max(...row);
  const exponentials = row.map((x) => Math.exp(x - max));
  const sum = exponentials.reduce((a, b) => a + b, 0);
  return exponentials.map((e) => e / sum);
}

describe("softmax", () => {
  test("is exp(x - max) / sum, in float32", () => {
    const row = [2, -2, -2];
    const p = softmax(Float32Array.from(row));
    expect(p).toBeInstanceOf(Float32Array);
    softmax64(row).forEach((expected, i) => expect(Math.abs(p[i]! - expected)).toBeLessThan(1e-7));
    expect(p[0]).toBe(Math.fround(p[0]!));
  });

  test("ignores a common shift and survives huge logits", () => {
    const shifted = softmax(Float32Array.from([1001, 1002, 1003]));
    const plain = softmax(Float32Array.from([1, 2, 3]));
    expect(Array.from(shifted)).toEqual(Array.from(plain));
    expect(Array.from(softmax(Float32Array.from([1e30, 0])))).toEqual([1, 0]);
  });

  test("agrees with float64 maths over the sum's three regimes (< 8, <= 128 and > 128 classes)", () => {
    for (const count of [5, 8, 13, 128, 129, 1000]) {
      const row = Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898) * 6);
      const p = softmax(Float32Array.from(row));
      const expected = softmax64(Array.from(Float32Array.from(row)));
      for (let i = 0; i < count; i++) {
        if (Math.abs(p[i]! - expected[i]!) > 1e-6 * Math.max(expected[i]!, 1e-3)) {
          throw new Error(`${count} classes: p[${i}] = ${p[i]}, expected ${expected[i]}`);
        }
      }
    }
  });
});

describe("isProbabilityDistribution", () => {
  test("accepts values in [0, 1] summing to 1 within 1e-3", () => {
    expect(isProbabilityDistribution([0.2, 0.3, 0.5])).toBe(true);
    expect(isProbabilityDistribution([1, 0, 0])).toBe(true);
    expect(isProbabilityDistribution(softmax(Float32Array.from([3, 1, 0.5, -2])))).toBe(true);
    expect(isProbabilityDistribution([0.2, 0.3, 0.5009])).toBe(true);
  });

  test("rejects logits: negative, above 1, not finite, or a sum away from 1", () => {
    expect(isProbabilityDistribution([2, -2, -2])).toBe(false);
    expect(isProbabilityDistribution([-0.1, 0.6, 0.5])).toBe(false);
    expect(isProbabilityDistribution([1.2, 0, -0.2])).toBe(false);
    expect(isProbabilityDistribution([NaN, 0.5, 0.5])).toBe(false);
    expect(isProbabilityDistribution([0.2, 0.3, 0.4])).toBe(false);
    expect(isProbabilityDistribution([0.9, 0.9, 0.9])).toBe(false);
    expect(isProbabilityDistribution([])).toBe(false);
  });
});

describe("single-label", () => {
  test("softmaxes logits, rounds to 4 dp, sorts descending and names the top class", () => {
    const body = singleLabel([2, -2, -2, 0], 0);
    const p = softmax64([2, -2, -2, 0]).map((v) => Number(v.toFixed(4)));
    expect(body).toEqual({
      image: { width: 640, height: 480 },
      predictions: [
        { class: "cat", class_id: 0, confidence: p[0]! },
        { class: "fish", class_id: 3, confidence: p[3]! },
        { class: "dog", class_id: 1, confidence: p[1]! },
        { class: "bird", class_id: 2, confidence: p[2]! },
      ],
      top: "cat",
      confidence: p[0]!,
    });
    expect(body.confidence).toBe(0.8533);
  });

  test("keys come out in the reference's order: class, class_id, confidence", () => {
    expect(Object.keys(singleLabel([1, 0, 0, 0], 0).predictions[0]!)).toEqual(["class", "class_id", "confidence"]);
  });

  test("ties keep class order, even when they tie only after rounding", () => {
    expect(singleLabel([0, 3, 3, 1], 0).predictions.map((p) => p.class)).toEqual(["dog", "bird", "fish", "cat"]);
    // 0.40001 and 0.40004 both round to 0.4: bird (higher raw score) stays after dog.
    const body = singleLabel([0.2, 0.40001, 0.40004, 0], 0);
    expect(body.predictions).toEqual([
      { class: "dog", class_id: 1, confidence: 0.4 },
      { class: "bird", class_id: 2, confidence: 0.4 },
      { class: "cat", class_id: 0, confidence: 0.2 },
      { class: "fish", class_id: 3, confidence: 0 },
    ]);
  });

  test("drops classes scoring below the threshold; a score equal to it stays", () => {
    const distribution = [0.5, 0.25, 0.125, 0.125];
    expect(singleLabel(distribution, 0.25).predictions.map((p) => p.class)).toEqual(["cat", "dog"]);
    expect(singleLabel(distribution, 0.2500001).predictions.map((p) => p.class)).toEqual(["cat"]);
    expect(singleLabel(distribution, 0).predictions).toHaveLength(4);
  });

  test("the threshold applies to the unrounded score", () => {
    // 0.39996 rounds to 0.4 but is below 0.4.
    expect(singleLabel([0.39996, 0.30002, 0.30002, 0], 0.4).predictions).toEqual([]);
  });

  test('nothing above the threshold: empty predictions, top "" and confidence 0', () => {
    const body = singleLabel([0, 0, 0, 0], 0.4);
    expect(body).toEqual({ image: { width: 640, height: 480 }, predictions: [], top: "", confidence: 0 });
    expect(JSON.stringify(body)).toBe('{"image":{"width":640,"height":480},"predictions":[],"top":"","confidence":0}');
  });

  test("an output that is already a distribution is not softmaxed again", () => {
    const probabilities = softmax(Float32Array.from([2, -2, -2, 0]));
    const once = singleLabel(Array.from(probabilities), 0);
    expect(once).toEqual(singleLabel([2, -2, -2, 0], 0));
    expect(once.confidence).toBe(0.8533);
    // Softmaxing it again would have flattened the top class to about 0.43.
    expect(softmax64(Array.from(probabilities))[0]).toBeLessThan(0.45);
  });

  test("sigmoid-like scores that do not sum to 1 are treated as logits", () => {
    const body = singleLabel([0.9, 0.8, 0.1, 0.1], 0);
    const p = softmax64(Array.from(Float32Array.from([0.9, 0.8, 0.1, 0.1])));
    expect(body.confidence).toBe(Number(p[0]!.toFixed(4)));
  });

  test("a class without a name is called by its id", () => {
    expect(singleLabel([0, 5, 0], 0.5, ["only"]).top).toBe("1");
  });
});

describe("softmax rule", () => {
  const probabilities = softmax(Float32Array.from([2, -2, -2, 0]));

  test('"logits" uses a distribution as it is and softmaxes anything else', () => {
    expect(singleLabelScores(probabilities, "logits")).toBe(probabilities);
    expect(singleLabelScores(Float32Array.from([2, -2, -2, 0]), "logits")).toEqual(probabilities);
  });

  test('"reference" softmaxes every row, an exported distribution a second time', () => {
    const twice = singleLabelScores(probabilities, "reference");
    expect(twice).toEqual(softmax(probabilities));
    expect(twice[0]).toBeCloseTo(softmax64(Array.from(probabilities))[0]!, 6);
    expect(twice[0]).toBeLessThan(0.45);
  });

  test('postprocessClassification takes the rule, and defaults to "logits"', () => {
    const body = (rule?: "logits" | "reference") =>
      postprocessClassification(probabilities, { confidence: 0.45 }, IMAGE, NAMES, { multiLabel: false, softmaxRule: rule }) as SingleLabelClassificationBody;
    expect(body().confidence).toBe(0.8533);
    expect(body("logits")).toEqual(body());
    // Twice softmaxed the top class scores 0.4267, below 0.45: the reference's empty answer.
    expect(body("reference")).toEqual({ image: IMAGE, predictions: [], top: "", confidence: 0 });
    const all = postprocessClassification(probabilities, { confidence: 0 }, IMAGE, NAMES, { multiLabel: false, softmaxRule: "reference" }) as SingleLabelClassificationBody;
    expect(all.confidence).toBe(Number(softmax64(Array.from(probabilities))[0]!.toFixed(4)));
  });

  test("multi-label rows are never softmaxed, whatever the rule", () => {
    const row = Float32Array.from([0.9, 0.2, 0.7, 0.1]);
    const body = postprocessClassification(row, { confidence: 0.5 }, IMAGE, NAMES, { multiLabel: true, softmaxRule: "reference" }) as MultiLabelClassificationBody;
    expect(body.predictions["cat"]!.confidence).toBe(Math.fround(0.9));
  });
});

describe("multi-label", () => {
  test("reports every class's raw score in class order; predicted classes are strictly above the threshold", () => {
    const scores = [0.4, 0.41, 0.9, 0.05];
    const body = multiLabel(scores, 0.4);
    expect(body.predictions).toEqual({
      cat: { confidence: Math.fround(0.4), class_id: 0 },
      dog: { confidence: Math.fround(0.41), class_id: 1 },
      bird: { confidence: Math.fround(0.9), class_id: 2 },
      fish: { confidence: Math.fround(0.05), class_id: 3 },
    });
    expect(Object.keys(body.predictions)).toEqual(NAMES);
    // Math.fround(0.4) is 0.4000000059604645 > 0.4: the float32 score crosses the threshold.
    expect(body.predicted_classes).toEqual(["cat", "dog", "bird"]);
    expect(multiLabel([0.5, 0.25, 0.75, 0.125], 0.5).predicted_classes).toEqual(["bird"]);
  });

  test("scores are not rounded, softmaxed or squashed", () => {
    const body = multiLabel([0.8807970285415649, 3, -1, 0.123456789], 0.4);
    expect(body.predictions.cat!.confidence).toBe(0.8807970285415649);
    expect(body.predictions.dog!.confidence).toBe(3);
    expect(body.predictions.bird!.confidence).toBe(-1);
    expect(body.predictions.fish!.confidence).toBe(Math.fround(0.123456789));
    expect(body.predicted_classes).toEqual(["cat", "dog"]);
  });

  test("reports the image with width and height swapped, as the reference does", () => {
    expect(multiLabel([0, 0, 0, 0], 0.4).image).toEqual({ width: 480, height: 640 });
    expect(singleLabel([0, 0, 0, 0], 0.4).image).toEqual({ width: 640, height: 480 });
  });

  test("serialises as the reference's body; a class named __proto__ is an ordinary key", () => {
    const body = multiLabel([0.5, 0.25], 0.4, ["__proto__", "dog"]);
    expect(JSON.stringify(body)).toBe(
      '{"image":{"width":480,"height":640},"predictions":{"__proto__":{"confidence":0.5,"class_id":0},"dog":{"confidence":0.25,"class_id":1}},"predicted_classes":["__proto__"]}',
    );
  });
});

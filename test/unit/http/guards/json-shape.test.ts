// Specification of the JSON shape bounds checked before validation.
import { describe, expect, test } from "bun:test";
import { jsonShapeProblem, MAX_JSON_DEPTH, MAX_JSON_VALUES } from "../../../../src/http/guards/json-shape.ts";

describe("jsonShapeProblem", () => {
  const nested = (depth: number) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };

  test("passes request-shaped bodies and scalars", () => {
    expect(jsonShapeProblem({ model_id: "a/1", image: [{ type: "base64", value: "x" }], class_filter: ["a", "b"] })).toBeNull();
    expect(jsonShapeProblem("text")).toBeNull();
    expect(jsonShapeProblem(null)).toBeNull();
  });

  test("reports nesting deeper than MAX_JSON_DEPTH, without recursion", () => {
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH + 1))).toBe("depth");
    expect(jsonShapeProblem(nested(1_000_000))).toBe("depth");
  });

  test("reports more than MAX_JSON_VALUES values", () => {
    expect(jsonShapeProblem({ image: new Array(MAX_JSON_VALUES - 2).fill(0) })).toBeNull();
    expect(jsonShapeProblem({ image: new Array(MAX_JSON_VALUES).fill(0) })).toBe("values");
    expect(jsonShapeProblem(Array.from({ length: 60_000 }, () => ({ type: 1 })))).toBe("values");
  });
});

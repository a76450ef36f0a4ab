// JSON shape guard: a parsed body nested too deep or holding too many values is refused (422) before validation.
import { Elysia } from "elysia";
import { HttpError } from "../../errors.ts";

/**
 * Structural bounds of a JSON body, checked before validation: our bodies nest 4 levels and hold a
 * few values per image, while the validator's report on a failing body costs time in its size
 * (quadratic in its depth), all of it on the HTTP thread.
 */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_VALUES = 100_000;

export class BodyShapeError extends HttpError {
  constructor(problem: "depth" | "values") {
    super(
      422,
      problem === "depth"
        ? `Invalid request: the JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`
        : `Invalid request: the JSON body holds more than ${MAX_JSON_VALUES} values.`,
    );
    this.name = "BodyShapeError";
  }
}

/** "depth" or "values" when `value` exceeds a bound (the value itself is level 1), else null; iterative, stops early. */
export function jsonShapeProblem(value: unknown, maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES): "depth" | "values" | null {
  if (value === null || typeof value !== "object") return null;
  const stack: [object, number][] = [[value, 1]];
  let values = 1;
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    if (level > maxDepth) return "depth";
    const children = Array.isArray(node) ? node : Object.values(node);
    values += children.length;
    if (values > maxValues) return "values";
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push([child, level + 1]);
    }
  }
  return null;
}

/** After the body is parsed, before it is validated (registered after the API key guard: an unauthorised body is refused first). */
export function jsonShapeGuard() {
  return new Elysia().onTransform({ as: "global" }, ({ body }) => {
    const problem = jsonShapeProblem(body);
    if (problem) throw new BodyShapeError(problem);
  });
}

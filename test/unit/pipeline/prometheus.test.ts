// Specification of the Prometheus metric families and their text exposition format.
import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Histogram, escapeLabelValue, exposition } from "../../../src/pipeline/prometheus.ts";

describe("Prometheus exposition", () => {
  test("a family is its HELP and TYPE lines followed by one line per labelled series", () => {
    const requests = new Counter("requests_total", "Requests.", ["route", "status"]);
    requests.inc({ route: "/a", status: "200" });
    requests.inc({ route: "/a", status: "200" }, 2);
    requests.inc({ route: "/b", status: "503" });
    expect(exposition([requests])).toBe(
      ["# HELP requests_total Requests.", "# TYPE requests_total counter", 'requests_total{route="/a",status="200"} 3', 'requests_total{route="/b",status="503"} 1', ""].join("\n"),
    );
  });

  test("a series without labels has no braces", () => {
    const restarts = new Counter("restarts_total", "Restarts.");
    restarts.set({}, 4);
    expect(restarts.render()[2]).toBe("restarts_total 4");
  });

  test("label values escape backslash, double quote and newline", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const g = new Gauge("g", "G.", ["model_id"]);
    g.set({ model_id: 'x"y' }, 1);
    expect(g.render()[2]).toBe('g{model_id="x\\"y"} 1');
  });

  test("a gauge reset forgets its series, so a model that is gone stops being exported", () => {
    const g = new Gauge("g", "G.", ["model_id"]);
    g.set({ model_id: "m" }, 5);
    g.reset();
    expect(g.render()).toHaveLength(2);
  });

  test("histogram buckets are cumulative, bounds inclusive, with +Inf equal to the count", () => {
    const h = new Histogram("h", "H.", ["m"], [1, 2, 4]);
    for (const v of [0.5, 1, 2, 3, 10]) h.observe({ m: "x" }, v);
    expect(h.render().slice(2)).toEqual([
      'h_bucket{m="x",le="1"} 2',
      'h_bucket{m="x",le="2"} 3',
      'h_bucket{m="x",le="4"} 4',
      'h_bucket{m="x",le="+Inf"} 5',
      'h_sum{m="x"} 16.5',
      'h_count{m="x"} 5',
    ]);
  });
});

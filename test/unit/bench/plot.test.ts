// Specification of the benchmark's SVG line charts: every point and reference line lies inside the plot area.
import { describe, expect, test } from "bun:test";
import { renderLineChart, type LineChart } from "../../../bench/plot.ts";

/** The y coordinates of every circle (data points) and dashed line (references) in the SVG. */
function plottedYs(svg: string): number[] {
  const circles = [...svg.matchAll(/<circle [^>]*cy="([\d.]+)"/g)].map((m) => Number(m[1]));
  const references = [...svg.matchAll(/<line [^>]*y1="([\d.]+)"[^>]*stroke-dasharray/g)].map((m) => Number(m[1]));
  return [...circles, ...references];
}

describe("renderLineChart", () => {
  test("the y axis reaches past the largest value even when the last round tick falls below it (17.7 with ticks of 5)", () => {
    const chart: LineChart = {
      title: "t",
      xLabel: "clients",
      yLabel: "req/s",
      xScale: "log",
      yScale: "linear",
      series: [
        {
          name: "server",
          color: "#1f77b4",
          points: [
            [1, 14.4],
            [8, 17.7],
            [512, 14.7],
          ],
        },
      ],
      references: [{ name: "bare", y: 17.56, color: "#2ca02c" }],
    };
    const ys = plottedYs(renderLineChart(chart));
    expect(ys.length).toBeGreaterThanOrEqual(4);
    // The plot area spans y = 44 (top) to 364 (bottom).
    for (const y of ys) expect(y).toBeWithin(44, 364.001);
  });
});

// Benchmark charts: per task, throughput against concurrency and latency against concurrency, as SVG.
import { renderLineChart } from "./plot.ts";
import type { BenchResult, TaskResult } from "./results.ts";

export interface ChartFile {
  /** File name, e.g. "object-detection-throughput.svg". */
  name: string;
  svg: string;
}

const SERVER = "#1f6fd1";
const BASELINE = "#d1651f";
const BARE = "#2a9d4b";

function throughputChart(task: TaskResult, machine: string): string {
  const server = task.server!;
  const bestBare = task.bare?.batches.reduce((a, b) => (b.imagesPerSec > a.imagesPerSec ? b : a));
  return renderLineChart({
    title: `${task.task} (${task.modelId}): throughput — ${machine}`,
    xLabel: "concurrent clients (closed loop)",
    yLabel: "requests / s",
    xScale: "log",
    yScale: "linear",
    series: [
      { name: "this server", points: server.closedLoop.map((l) => [l.concurrency, l.reqPerSec]), color: SERVER },
      ...(task.baseline
        ? [{ name: "sequential baseline", points: task.baseline.closedLoop.map((l) => [l.concurrency, l.reqPerSec] as const), color: BASELINE, dashed: true }]
        : []),
    ],
    references: bestBare ? [{ name: `bare model, batch ${bestBare.batch}`, y: bestBare.imagesPerSec, color: BARE }] : [],
  });
}

function latencyChart(task: TaskResult, machine: string): string {
  const server = task.server!;
  const series = [
    { name: "server p50", points: server.closedLoop.map((l) => [l.concurrency, l.latencyMs.p50] as const), color: SERVER },
    { name: "server p99", points: server.closedLoop.map((l) => [l.concurrency, l.latencyMs.p99] as const), color: SERVER, dashed: true },
  ];
  if (task.baseline) {
    series.push({ name: "baseline p50", points: task.baseline.closedLoop.map((l) => [l.concurrency, l.latencyMs.p50] as const), color: BASELINE });
    series.push({ name: "baseline p99", points: task.baseline.closedLoop.map((l) => [l.concurrency, l.latencyMs.p99] as const), color: BASELINE, dashed: true });
  }
  return renderLineChart({
    title: `${task.task} (${task.modelId}): latency — ${machine}`,
    xLabel: "concurrent clients (closed loop)",
    yLabel: "latency, ms (log scale)",
    xScale: "log",
    yScale: "log",
    series,
  });
}

export function benchmarkCharts(result: BenchResult): ChartFile[] {
  const m = result.machine;
  const machine = `${m.cores} cores, ${m.executionProvider.toUpperCase()}`;
  return result.tasks
    .filter((t) => t.server && t.server.closedLoop.length > 0)
    .flatMap((t) => [
      { name: `${t.task}-throughput.svg`, svg: throughputChart(t, machine) },
      { name: `${t.task}-latency.svg`, svg: latencyChart(t, machine) },
    ]);
}

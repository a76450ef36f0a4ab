// Specification of the benchmark's per-task targets: the admission bound at the highest level (issue 14).
import { describe, expect, test } from "bun:test";
import type { BareModelResult } from "../../../bench/bare-model.ts";
import { checkTaskTargets, type ServerLevel, type TaskResult } from "../../../bench/results.ts";
import { emptyOutcomes } from "../../../bench/request-sender.ts";

const latency = (p99: number) => ({ count: 10, p50: p99 / 2, p90: p99 * 0.9, p99, mean: p99 / 2, max: p99 });

function level(concurrency: number, reqPerSec: number, p99: number, batchSizes: Record<string, number>): ServerLevel {
  return {
    concurrency,
    warmupSeconds: 1,
    seconds: 10,
    ok: reqPerSec * 10,
    reqPerSec,
    latencyMs: latency(p99),
    outcomes: emptyOutcomes(),
    drainSeconds: 0,
    batchSizes,
    stageMeansMs: {} as ServerLevel["stageMeansMs"],
    cpuMsPerRequest: {} as ServerLevel["cpuMsPerRequest"],
    rssMiB: 500,
  };
}

const bare = {
  batches: [
    { batch: 1, calls: 50, imagesPerSec: 30, callMs: latency(60) },
    { batch: 4, calls: 20, imagesPerSec: 28, callMs: latency(300) },
  ],
} as unknown as BareModelResult;

function task(top: ServerLevel): TaskResult {
  const server = { closedLoop: [level(32, 28, 1200, { "1": 10 }), top], openLoop: [], saturationReqPerSec: 28, peakRssMiB: 600, arenaBytes: 1 };
  return { task: "object-detection", route: "/infer/object_detection", modelId: "m/1", bare, server, targets: [] };
}

describe("admission target", () => {
  test("bounds the answered p99 at the highest level by MAX_QUEUE_WAIT_MS plus the largest batch's bare p99", () => {
    const holds = checkTaskTargets(task(level(512, 27, 5250, { "1": 100, "4": 300 })), 5000).find((c) => c.name.startsWith("admission"))!;
    expect(holds).toMatchObject({ measured: 5250, required: 5300, comparison: "<=", holds: true });
    const fails = checkTaskTargets(task(level(512, 27, 22000, { "2": 50 })), 5000).find((c) => c.name.startsWith("admission"))!;
    expect(fails).toMatchObject({ required: 5300, holds: false });
  });

  test("is not checked when the wait rule is off", () => {
    expect(checkTaskTargets(task(level(512, 27, 22000, { "1": 1 })), 0).some((c) => c.name.startsWith("admission"))).toBe(false);
  });
});

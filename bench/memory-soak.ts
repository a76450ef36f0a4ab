// Memory soak: many requests against a warm server, reading its resident memory before, during and after.
import { countOutcome, emptyOutcomes, sendRequest, type LoadTarget, type OutcomeCounts } from "./request-sender.ts";
import type { BenchServer } from "./server-process.ts";

export interface SoakResult {
  requests: number;
  concurrency: number;
  warmRequests: number;
  seconds: number;
  reqPerSec: number;
  /** Resident memory once warm, at the end, the most seen in between, and the process's peak (VmHWM). */
  warmRssMiB: number;
  finalRssMiB: number;
  maxRssMiB: number;
  peakRssMiB: number;
  /** finalRssMiB / warmRssMiB - 1. */
  growth: number;
  outcomes: OutcomeCounts;
}

/** Sends exactly `count` requests from `concurrency` closed-loop clients. */
async function sendCount(target: LoadTarget, count: number, concurrency: number, outcomes: OutcomeCounts): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < count) {
      const body = target.bodies[next++ % target.bodies.length]!;
      countOutcome(outcomes, await sendRequest(target, body));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
}

export async function memorySoak(server: BenchServer, target: LoadTarget, soak: { warmRequests: number; requests: number; concurrency: number }): Promise<SoakResult> {
  const outcomes = emptyOutcomes();
  await sendCount(target, soak.warmRequests, soak.concurrency, outcomes);
  const warm = server.memory().rssMiB;
  let max = warm;
  const sampler = setInterval(() => (max = Math.max(max, server.memory().rssMiB)), 500);
  const started = performance.now();
  await sendCount(target, soak.requests, soak.concurrency, outcomes);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const end = server.memory();
  return {
    requests: soak.requests,
    concurrency: soak.concurrency,
    warmRequests: soak.warmRequests,
    seconds,
    reqPerSec: soak.requests / seconds,
    warmRssMiB: warm,
    finalRssMiB: end.rssMiB,
    maxRssMiB: Math.max(max, end.rssMiB),
    peakRssMiB: end.peakMiB,
    growth: end.rssMiB / warm - 1,
    outcomes,
  };
}

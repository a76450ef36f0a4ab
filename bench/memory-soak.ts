// Memory soak: many requests against a warm server, reading its resident memory before, during and after.
import { countOutcome, emptyOutcomes, sendRequest, type LoadTarget, type OutcomeCounts } from "./request-sender.ts";
import type { BenchServer } from "./server-process.ts";

export interface SoakResult {
  requests: number;
  concurrency: number;
  warmRequests: number;
  seconds: number;
  reqPerSec: number;
  /** Resident memory once warm and at the end (medians of the first and last tenth of the run's readings), the most seen in between, and the process's peak (VmHWM). */
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

/** Resident memory swings by hundreds of MiB as the allocators take and return pages: compare medians, not single readings. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function memorySoak(server: BenchServer, target: LoadTarget, soak: { warmRequests: number; requests: number; concurrency: number }): Promise<SoakResult> {
  const outcomes = emptyOutcomes();
  await sendCount(target, soak.warmRequests, soak.concurrency, outcomes);
  const samples: number[] = [server.memory().rssMiB];
  const sampler = setInterval(() => samples.push(server.memory().rssMiB), 250);
  const started = performance.now();
  await sendCount(target, soak.requests, soak.concurrency, outcomes);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const end = server.memory();
  samples.push(end.rssMiB);
  // Once warm: the first tenth of the run; at the end: its last tenth.
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const warm = median(samples.slice(0, tenth));
  const final = median(samples.slice(-tenth));
  return {
    requests: soak.requests,
    concurrency: soak.concurrency,
    warmRequests: soak.warmRequests,
    seconds,
    reqPerSec: soak.requests / seconds,
    warmRssMiB: warm,
    finalRssMiB: final,
    maxRssMiB: Math.max(...samples),
    peakRssMiB: end.peakMiB,
    growth: final / warm - 1,
    outcomes,
  };
}

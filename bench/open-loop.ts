// Open-loop load: requests leave on a fixed schedule whatever the server does; latency counts from the scheduled send time.
//
// Measuring from the schedule, not from when the request actually left, keeps a stalled client
// or server from hiding the wait it caused (no coordinated omission).
import { summariseLatencies, type LatencySummary } from "./latency.ts";
import { countOutcome, emptyOutcomes, sendRequest, type LoadTarget, type OutcomeCounts } from "./request-sender.ts";

export interface OpenLoopResult {
  /** Requests per second scheduled. */
  rate: number;
  seconds: number;
  sent: number;
  /** 2xx answers. */
  ok: number;
  /** 2xx answers per second, from the first scheduled send to the last answer. */
  okPerSec: number;
  /** Of the 2xx answers, from each request's scheduled send time. */
  latencyMs: LatencySummary;
  outcomes: OutcomeCounts;
}

export async function openLoop(target: LoadTarget, load: { rate: number; seconds: number }): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round(load.rate * load.seconds));
  const interval = 1000 / load.rate;
  const latencies: number[] = [];
  const outcomes = emptyOutcomes();
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    const early = scheduled - performance.now();
    if (early > 0.5) await Bun.sleep(early);
    const body = target.bodies[i % target.bodies.length]!;
    inFlight.push(
      sendRequest(target, body).then((outcome) => {
        countOutcome(outcomes, outcome);
        if (outcome.kind === "answered" && outcome.status >= 200 && outcome.status < 300) latencies.push(performance.now() - scheduled);
      }),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  return {
    rate: load.rate,
    seconds: load.seconds,
    sent: total,
    ok: latencies.length,
    okPerSec: latencies.length / elapsed,
    latencyMs: summariseLatencies(latencies),
    outcomes,
  };
}

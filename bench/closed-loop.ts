// Closed-loop load: C clients each send their next request as soon as the last one is answered; reports req/s and latency.
//
// Used by bench/run.ts; also runs alone against a server that is already up:
//   bun bench/closed-loop.ts --url http://localhost:9001 --model demo-shapes/1 --images a.jpg,b.jpg --concurrency 1,32 --seconds 20
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { summariseLatencies, type LatencySummary } from "./latency.ts";
import { countOutcome, emptyOutcomes, sendRequest, type LoadTarget, type OutcomeCounts } from "./request-sender.ts";
import { batchSizesBetween, scrapeMetrics } from "./server-metrics.ts";

export interface ClosedLoopResult {
  concurrency: number;
  /** How long the warm-up lasted: the time until the window opened (see closedLoop). */
  warmupSeconds: number;
  /** Length of the measured window (after the warm-up). */
  seconds: number;
  /** 2xx answers that arrived inside the window. */
  ok: number;
  reqPerSec: number;
  /** Of the 2xx answers inside the window, from send to the last byte of the answer. */
  latencyMs: LatencySummary;
  /** Every request of the level, warm-up and the drain after the window included. */
  outcomes: OutcomeCounts;
  /** How long the requests still in flight at the window's end took to finish. */
  drainSeconds: number;
}

/**
 * Runs `concurrency` clients and counts the answers that arrive in a window of `seconds`; then
 * stops sending and waits for every request in flight, so the next level starts on an idle server
 * and no request goes unaccounted. The window opens once `warmupSeconds` have passed and every
 * client has had its first answer: until then the server is still working through the first burst
 * of `concurrency` requests, which at 512 clients on a small CPU takes longer than any fixed
 * warm-up (tens of seconds), and a window inside it measures that burst, not the steady state.
 * A client refused with 503 waits the Retry-After it was given before its next request, as a load
 * balancer or a retrying client would, rather than hammering the server with bodies it must read.
 */
export async function closedLoop(target: LoadTarget, level: { concurrency: number; warmupSeconds: number; seconds: number }): Promise<ClosedLoopResult> {
  const startedAt = performance.now();
  const warmupEnd = startedAt + level.warmupSeconds * 1000;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let clientsAnswered = 0;
  const openWindowIfDue = (now: number) => {
    if (windowStart === Infinity && clientsAnswered === level.concurrency && now >= warmupEnd) {
      windowStart = now;
      windowEnd = now + level.seconds * 1000;
    }
  };
  const latencies: number[] = [];
  const outcomes = emptyOutcomes();
  let next = 0;
  const client = async () => {
    let first = true;
    while (performance.now() < windowEnd) {
      const body = target.bodies[next++ % target.bodies.length]!;
      const sentAt = performance.now();
      const outcome = await sendRequest(target, body);
      const answeredAt = performance.now();
      countOutcome(outcomes, outcome);
      if (first) {
        first = false;
        clientsAnswered++;
      }
      openWindowIfDue(answeredAt);
      const ok = outcome.kind === "answered" && outcome.status >= 200 && outcome.status < 300;
      if (ok && answeredAt >= windowStart && answeredAt < windowEnd) latencies.push(answeredAt - sentAt);
      if (outcome.kind === "answered" && outcome.status === 503 && outcome.retryAfterSeconds !== null) {
        await Bun.sleep(Math.max(0, Math.min(outcome.retryAfterSeconds * 1000, windowEnd - performance.now())));
      }
    }
  };
  await Promise.all(Array.from({ length: level.concurrency }, client));
  return {
    concurrency: level.concurrency,
    warmupSeconds: (windowStart - startedAt) / 1000,
    seconds: level.seconds,
    ok: latencies.length,
    reqPerSec: latencies.length / level.seconds,
    latencyMs: summariseLatencies(latencies),
    outcomes,
    drainSeconds: Math.max(0, (performance.now() - windowEnd) / 1000),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: "string", default: "http://localhost:9001" },
      route: { type: "string", default: "/infer/object_detection" },
      model: { type: "string", default: "demo-shapes/1" },
      concurrency: { type: "string", default: "1,32" },
      seconds: { type: "string", default: "20" },
      warmup: { type: "string", default: "3" },
      images: { type: "string" },
    },
  });
  const imagePaths = values.images?.split(",") ?? [];
  if (imagePaths.length === 0) throw new Error("--images: give at least one image file");
  const encoder = new TextEncoder();
  const target: LoadTarget = {
    url: values.url,
    path: values.route,
    bodies: imagePaths.map((path) => encoder.encode(JSON.stringify({ model_id: values.model, image: { type: "base64", value: readFileSync(path).toString("base64") } }))),
    timeoutMs: 120_000,
  };
  for (const concurrency of values.concurrency.split(",").map(Number)) {
    const before = await scrapeMetrics(values.url);
    const r = await closedLoop(target, { concurrency, warmupSeconds: Number(values.warmup), seconds: Number(values.seconds) });
    const batches = batchSizesBetween(before, await scrapeMetrics(values.url), values.model);
    console.log(
      `concurrency ${concurrency}: ${r.reqPerSec.toFixed(2)} req/s, p50 ${r.latencyMs.p50.toFixed(1)} ms, p90 ${r.latencyMs.p90.toFixed(1)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, ${r.ok} ok, outcomes ${JSON.stringify(r.outcomes)}; batches ${[...batches].map(([size, n]) => `${size}x${n}`).join(" ")}`,
    );
  }
}

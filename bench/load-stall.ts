// Load stall (`bun run load-stall`, not in CI): how much a model that is serving slows down while another model loads.
//
//   bun run load-stall                          4 clients on colour-probe/1 while fixture-yolov8n-seg/1 loads, 5 rounds
//   bun run load-stall --clients 8 --rounds 3
// Each round measures the serving model's latency for a quiet window, then while the other model is added (session
// creation, then the batch probe, which runs after /model/add answers) and until its probe is logged; the loaded
// model is removed again before the next round. Prints each round and the medians over rounds.
import { parseArgs } from "node:util";
import sharp from "sharp";
import { DEFAULT_FIXTURE_CACHE, buildFixtures } from "../test/fixtures/build.ts";
import { summariseLatencies, type LatencySummary } from "./latency.ts";
import { sendRequest, type LoadTarget } from "./request-sender.ts";
import { startBenchServer } from "./server-process.ts";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "4" },
    rounds: { type: "string", default: "5" },
    "quiet-seconds": { type: "string", default: "3" },
    serving: { type: "string", default: "colour-probe/1" },
    loading: { type: "string", default: "fixture-yolov8n-seg/1" },
  },
});
const clients = Number(args.clients);
const serving = args.serving!;
const loading = args.loading!;

const probeOn = process.env.BATCH_SIZE_PROBE !== "false";
const probeLine = new RegExp(`batch probe ${loading.replaceAll("/", "\\/")} `, "g");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const show = (s: LatencySummary) => `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.count} requests)`;

await buildFixtures(DEFAULT_FIXTURE_CACHE);
const server = await startBenchServer("src/main.ts", { MODEL_CACHE_DIR: DEFAULT_FIXTURE_CACHE, PRELOAD_MODELS: serving, DEMO_MODEL_ID: "" });
try {
  const image = (
    await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 9, g: 99, b: 199 } } })
      .jpeg()
      .toBuffer()
  ).toString("base64");
  const target: LoadTarget = {
    url: server.url,
    path: "/infer/object_detection",
    bodies: [new TextEncoder().encode(JSON.stringify({ model_id: serving, image: { type: "base64", value: image } }))],
    timeoutMs: 60_000,
  };
  /** Runs the clients until `until` resolves; returns the latencies of the answers. */
  const serve = async (until: Promise<unknown>) => {
    let done = false;
    void until.finally(() => (done = true));
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (!done) {
          const began = performance.now();
          const outcome = await sendRequest(target, target.bodies[0]!);
          if (outcome.kind !== "answered" || outcome.status !== 200) throw new Error(`${serving} answered ${JSON.stringify(outcome)}`);
          latencies.push(performance.now() - began);
        }
      }),
    );
    return summariseLatencies(latencies);
  };
  await serve(Bun.sleep(1000));
  console.log(`machine: ${navigator.hardwareConcurrency} cores; ${clients} clients on ${serving} while ${loading} loads`);
  const rounds: { quiet: LatencySummary; loading: LatencySummary; loadSeconds: number }[] = [];
  for (let round = 1; round <= Number(args.rounds); round++) {
    const quiet = await serve(Bun.sleep(Number(args["quiet-seconds"]) * 1000));
    const probes = (server.output().match(probeLine) ?? []).length;
    const began = performance.now();
    const loaded = (async () => {
      const response = await fetch(`${server.url}/model/add`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model_id: loading }) });
      if (response.status !== 200) throw new Error(`/model/add ${loading} answered ${response.status}: ${await response.text()}`);
      // The probe runs after /model/add has answered (when the arena is handed over).
      while (probeOn && (server.output().match(probeLine) ?? []).length === probes) {
        if (performance.now() - began > 120_000) throw new Error(`no batch probe of ${loading} logged within 120 s`);
        await Bun.sleep(10);
      }
    })();
    const during = await serve(loaded);
    await loaded;
    const loadSeconds = (performance.now() - began) / 1000;
    rounds.push({ quiet, loading: during, loadSeconds });
    console.log(`round ${round}: quiet ${show(quiet)}; while loading (${loadSeconds.toFixed(2)} s) ${show(during)}`);
    await fetch(`${server.url}/model/remove`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model_id: loading }) });
  }
  const medianOf = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick)).toFixed(1);
  console.log(
    `median over ${rounds.length} rounds: quiet p99 ${medianOf((r) => r.quiet.p99)} ms, max ${medianOf((r) => r.quiet.max)} ms; ` +
      `while loading p99 ${medianOf((r) => r.loading.p99)} ms, max ${medianOf((r) => r.loading.max)} ms; load ${medianOf((r) => r.loadSeconds)} s`,
  );
} finally {
  await server.stop();
}

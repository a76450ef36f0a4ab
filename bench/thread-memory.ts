// Thread memory under load (`bun run thread-memory`, not in CI): what each thread holds outside its JavaScript heap
// (request bodies, decoded images) while it serves, for each GC_EVERY_MB, alternated over rounds.
//
//   bun run thread-memory                        GC_EVERY_MB 0 (the engine decides), 16 and 8; 3 rounds
//   bun run thread-memory --budgets 0,64 --rounds 5 --requests 1200
// Each round starts a fresh server per budget, warms it, sends the requests from 8 clients (a 1280x720 JPEG of noise
// to colour-probe/1) while reading /metrics every 50 ms, and prints per thread the highest and median
// thread_external_memory_bytes and the collections GC_EVERY_MB ran, with the process's highest RSS growth.
import { parseArgs } from "node:util";
import { DEFAULT_FIXTURE_CACHE, buildFixtures } from "../test/fixtures/build.ts";
import { sendRequest, type LoadTarget } from "./request-sender.ts";
import { startBenchServer, type BenchServer } from "./server-process.ts";
import { scrapeMetrics, threadMemoryReadings } from "./server-metrics.ts";
import { noiseJpeg } from "./images.ts";

const { values: args } = parseArgs({
  options: {
    budgets: { type: "string", default: "0,16,8" },
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "600" },
    clients: { type: "string", default: "8" },
  },
});
const MIB = 2 ** 20;
const MODEL = "colour-probe/1";
const WARM_REQUESTS = 80;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Per thread label: its external memory and paced collections now. */
const threadReadings = async (url: string) => threadMemoryReadings(await scrapeMetrics(url));

async function send(target: LoadTarget, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Number(args.clients) }, async () => {
      while (next++ < count) {
        const outcome = await sendRequest(target, target.bodies[0]!);
        if (outcome.kind !== "answered" || outcome.status !== 200) throw new Error(`${MODEL} answered ${JSON.stringify(outcome)}`);
      }
    }),
  );
}

async function measure(budget: string, body: Uint8Array<ArrayBuffer>): Promise<string> {
  const server: BenchServer = await startBenchServer("src/main.ts", {
    MODEL_CACHE_DIR: DEFAULT_FIXTURE_CACHE,
    PRELOAD_MODELS: MODEL,
    DEMO_MODEL_ID: "",
    BATCH_SIZE_PROBE: "false",
    MAX_BATCH_SIZE: "4",
    ARENA_SLOTS: "8",
    GC_EVERY_MB: budget,
  });
  try {
    const target: LoadTarget = { url: server.url, path: "/infer/object_detection", bodies: [body], timeoutMs: 60_000 };
    await send(target, WARM_REQUESTS);
    const warmRss = server.memory().rssMiB;
    let highestRss = warmRss;
    const samples = new Map<string, number[]>();
    let loading = true;
    const sampling = (async () => {
      while (loading) {
        for (const [thread, { externalBytes }] of await threadReadings(server.url)) samples.set(thread, [...(samples.get(thread) ?? []), externalBytes / MIB]);
        highestRss = Math.max(highestRss, server.memory().rssMiB);
        await Bun.sleep(50);
      }
    })();
    await send(target, Number(args.requests));
    loading = false;
    await sampling;
    const after = await threadReadings(server.url);
    const threads = [...samples].map(
      ([thread, mib]) => `${thread} highest ${Math.max(...mib).toFixed(0)} median ${median(mib).toFixed(0)} MiB, ${after.get(thread)?.pacedCollections ?? "?"} collections`,
    );
    return `GC_EVERY_MB=${budget}: ${threads.join("; ")}; RSS ${(highestRss - warmRss).toFixed(0)} MiB above warm`;
  } finally {
    await server.stop();
  }
}

await buildFixtures(DEFAULT_FIXTURE_CACHE);
const jpeg = await noiseJpeg(1280, 720);
const body = new TextEncoder().encode(JSON.stringify({ model_id: MODEL, image: { type: "base64", value: Buffer.from(jpeg).toString("base64") } }));
console.log(`machine: ${navigator.hardwareConcurrency} cores; ${args.clients} clients, ${args.requests} requests per run after ${WARM_REQUESTS} to warm up`);
for (let round = 1; round <= Number(args.rounds); round++) for (const budget of args.budgets!.split(",")) console.log(`round ${round}, ${await measure(budget, body)}`);

// A short look at one feed configuration: the server serving free-yolov8n/1 (test/fixtures/free-model.ts) under a closed
// loop of clients sending one feed image, with the settings given as NAME=value arguments. Prints req/s, the server's CPU
// ms per answered request by thread group, and its resident memory. Lighter than `bun run bench --tasks feed` (no decode
// floor, one level), for comparing settings on a shared machine; run each configuration more than once.
//
//   nice -n 10 bun bench/feed-check.ts --image 4032x3024 --concurrency 8 --seconds 20 MALLOC_KEEP_LARGE_BUFFERS=false
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { closedLoop } from "./closed-loop.ts";
import { feedImages } from "./images.ts";
import { startBenchServer } from "./server-process.ts";
import { cpuMsPerRequest, THREAD_GROUPS } from "./thread-cpu.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    image: { type: "string", default: "4032x3024" },
    concurrency: { type: "string", default: "8" },
    seconds: { type: "string", default: "20" },
  },
});
const settings = Object.fromEntries(positionals.map((arg) => arg.split("=", 2) as [string, string]));
const [image] = await feedImages([values.image]);
const body = new TextEncoder().encode(JSON.stringify({ model_id: "free-yolov8n/1", image: { type: "base64", value: Buffer.from(image!.jpeg).toString("base64") } }));
const server = await startBenchServer("src/main.ts", {
  MODEL_CACHE_DIR: resolve(import.meta.dir, "../test/fixtures/models"),
  PRELOAD_MODELS: "free-yolov8n/1",
  DEMO_MODEL_ID: "",
  ...settings,
});
try {
  const target = { url: server.url, path: "/infer/object_detection", bodies: [body], timeoutMs: 120_000 };
  await closedLoop(target, { concurrency: Number(values.concurrency), warmupSeconds: 3, seconds: 3 });
  const rssWarm = server.memory().rssMiB;
  const before = server.threadCpu();
  const result = await closedLoop(target, { concurrency: Number(values.concurrency), warmupSeconds: 0, seconds: Number(values.seconds) });
  const after = server.threadCpu();
  const answered = Object.entries(result.outcomes.statuses).reduce((n, [status, count]) => n + (status.startsWith("2") ? count : 0), 0);
  const cpu = cpuMsPerRequest(server.pid, before, after, answered);
  const total = THREAD_GROUPS.reduce((sum, group) => sum + cpu[group], 0);
  const memory = server.memory();
  console.log(
    JSON.stringify({
      image: values.image,
      settings,
      concurrency: Number(values.concurrency),
      reqPerSec: +result.reqPerSec.toFixed(2),
      cpuMsPerRequest: { ...Object.fromEntries(THREAD_GROUPS.map((group) => [group, +cpu[group].toFixed(1)])), total: +total.toFixed(1) },
      rssMiB: { warm: Math.round(rssWarm), end: Math.round(memory.rssMiB), peak: Math.round(memory.peakMiB) },
    }),
  );
} finally {
  await server.stop();
}

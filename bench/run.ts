// Benchmark run (`bun run bench`): bare model, this server (closed and open loop), the sequential baseline and a memory soak, per task,
// and the feed measure (bench/feed.ts), in one run.
//
//   bun run bench                      full run (~15 min on 2 cores): writes bench/results/, bench/plots/*.svg, BENCHMARKS.md
//   bun run bench --smoke              a few seconds, detection and the feed measure, results in a temporary folder (CI runs this)
//   bun run bench --tasks object-detection --concurrency 1,32 --seconds 20 --skip open-loop,soak
//   bun run bench --tasks feed --feed-images 1920x1080 --seconds 8 --out /tmp/feed --no-write-docs
//                                      the feed measure alone (the soak runs only beside a model task)
// Server settings (NUM_WORKERS, ORT_INTRA_OP_THREADS, MAX_BATCH_SIZE, BATCH_MAX_WAIT_MS, ...) come
// from the environment, exactly as for `bun run start`; the bare model and the baseline use the same.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { parseModelId } from "../src/models/model-id.ts";
import { readModelPackage, type ModelPackage } from "../src/models/package.ts";
import { DEFAULT_FIXTURE_CACHE, buildFixtures } from "../test/fixtures/build.ts";
import { measureBareModel } from "./bare-model.ts";
import { benchmarkCharts } from "./charts.ts";
import { closedLoop, type ClosedLoopResult } from "./closed-loop.ts";
import { measureFeed } from "./feed.ts";
import { FEED_IMAGE_SIZES, benchImages, feedImages, type BenchImage } from "./images.ts";
import { describeMachine } from "./machine.ts";
import { memorySoak } from "./memory-soak.ts";
import { openLoop } from "./open-loop.ts";
import { measurePreprocessCost } from "./preprocess-cost.ts";
import { markdownReport, replaceGeneratedSection } from "./report.ts";
import { sendRequest, type LoadTarget } from "./request-sender.ts";
import { keepLargeBuffers } from "../src/workers/memory-release.ts";
import { checkSoakTargets, checkTaskTargets, levelAt, type BenchResult, type FeedResult, type OpenLoopLevel, type ServerLevel, type TaskResult } from "./results.ts";
import { measureServerLevel } from "./server-level.ts";
import { arenaBytes, scrapeMetrics } from "./server-metrics.ts";
import { REPO_ROOT, startBenchServer, type BenchServer } from "./server-process.ts";
import { BENCH_TASKS, requestBodies, type BenchTask } from "./tasks.ts";

/** Bun's fetch keeps at most this many requests open at once unless told otherwise (measured: 256). */
const CLIENT_CONNECTIONS = 4096;
const PHASES = ["bare", "server", "open-loop", "baseline", "soak"] as const;
/** The feed measure's name in --tasks, beside the model tasks. */
const FEED = "feed";
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    tasks: { type: "string" },
    /** task=model overrides, e.g. object-detection=demo-shapes/1 */
    models: { type: "string" },
    concurrency: { type: "string" },
    seconds: { type: "string" },
    warmup: { type: "string" },
    "open-loop": { type: "string" },
    "open-seconds": { type: "string" },
    "bare-batches": { type: "string" },
    "bare-seconds": { type: "string" },
    "baseline-concurrency": { type: "string" },
    "soak-requests": { type: "string" },
    "soak-model": { type: "string" },
    "images-per-size": { type: "string" },
    "timeout-seconds": { type: "string" },
    "feed-concurrency": { type: "string" },
    /** Sizes among FEED_IMAGE_SIZES, e.g. 1920x1080 */
    "feed-images": { type: "string" },
    skip: { type: "string", default: "" },
    out: { type: "string" },
    "write-docs": { type: "boolean" },
  },
  // --no-write-docs: a run that leaves BENCHMARKS.md and bench/plots/ as they are.
  allowNegative: true,
});

// The load generator needs more simultaneous connections than Bun's fetch allows by default;
// the limit is read at start-up, so run again with it raised.
if (Number(process.env.BUN_CONFIG_MAX_HTTP_REQUESTS ?? 0) < CLIENT_CONNECTIONS) {
  const child = Bun.spawn(["bun", import.meta.path, ...process.argv.slice(2)], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: String(CLIENT_CONNECTIONS) },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(await child.exited);
}

const smoke = args.smoke!;
const numbers = (raw: string | undefined, fallback: number[]) => (raw ? raw.split(",").map(Number) : fallback);
const options = {
  tasks: args.tasks?.split(",") ?? (smoke ? ["object-detection", FEED] : [...BENCH_TASKS.map((t) => t.name), FEED]),
  concurrency: numbers(args.concurrency, smoke ? [1, 4] : [1, 8, 32, 128, 512]),
  seconds: Number(args.seconds ?? (smoke ? 1 : 10)),
  warmupSeconds: Number(args.warmup ?? (smoke ? 0.3 : 2)),
  openLoopFractions: numbers(args["open-loop"], smoke ? [0.5] : [0.5, 0.8, 0.95]),
  openLoopSeconds: Number(args["open-seconds"] ?? (smoke ? 1 : 10)),
  bareBatches: numbers(args["bare-batches"], smoke ? [1, 2] : [1, 4, 8, 16, 32]),
  bareSeconds: Number(args["bare-seconds"] ?? (smoke ? 0.2 : 3)),
  baselineConcurrency: numbers(args["baseline-concurrency"], smoke ? [1] : [1, 32]),
  soakRequests: Number(args["soak-requests"] ?? (smoke ? 40 : 20_000)),
  soakModel: args["soak-model"] ?? "colour-probe/1",
  imagesPerSize: Number(args["images-per-size"] ?? (smoke ? 1 : 4)),
  timeoutSeconds: Number(args["timeout-seconds"] ?? 120),
  feedConcurrency: numbers(args["feed-concurrency"], smoke ? [4] : [32, 128]),
  feedImages: args["feed-images"]?.split(",") ?? [...FEED_IMAGE_SIZES],
  skip: new Set(args.skip!.split(",").filter(Boolean) as Phase[]),
};
for (const phase of options.skip) if (!PHASES.includes(phase)) throw new Error(`--skip: unknown phase "${phase}" (phases: ${PHASES.join(", ")})`);
const modelOverrides = new Map((args.models?.split(",") ?? []).map((pair) => pair.split("=") as [string, string]));
const writeDocs = args["write-docs"] ?? !smoke;
const outDir = args.out ?? (smoke ? mkdtempSync(join(tmpdir(), "bench-smoke-")) : join(REPO_ROOT, "bench/results"));
const runs = (phase: Phase) => !options.skip.has(phase);

const config = loadConfig(process.env);
// The decode floor runs in this process: it decodes under the allocator settings the server gives itself (src/main.ts).
if (config.memory.keepLargeBuffers) keepLargeBuffers();
const cacheDir = DEFAULT_FIXTURE_CACHE;
const startedAt = new Date();
const loadAverageAtStart = loadavg()[0]!;
const log = (message: string) => console.log(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4)} s] ${message}`);

function commandLine(): string {
  const settings = [
    "NUM_WORKERS",
    "ORT_INTRA_OP_THREADS",
    "MAX_BATCH_SIZE",
    "BATCH_MAX_WAIT_MS",
    "BATCH_SIZE_PROBE",
    "ARENA_SLOTS",
    "INPUT_ENCODING",
    "MAX_QUEUE",
    "MAX_QUEUE_WAIT_MS",
    "EXECUTION_PROVIDERS",
    "CUDA_DEVICES",
    "INFERENCE_WORKERS_PER_DEVICE",
    "GC_EVERY_MB",
  ]
    .filter((name) => process.env[name] !== undefined)
    .map((name) => `${name}=${process.env[name]}`);
  return [...settings, "bun run bench", ...process.argv.slice(2)].join(" ");
}

function target(url: string, route: string, bodies: Uint8Array<ArrayBuffer>[]): LoadTarget {
  return { url, path: route, bodies, timeoutMs: options.timeoutSeconds * 1000 };
}

/** Fires `n` requests at once, for every batch size measured, so ONNX Runtime has seen each shape before timing starts. */
async function warmBatchSizes(t: LoadTarget): Promise<void> {
  for (const n of options.bareBatches) await Promise.all(Array.from({ length: n }, (_, i) => sendRequest(t, t.bodies[i % t.bodies.length]!)));
}

async function measureServer(task: BenchTask, modelId: string, bodies: Uint8Array<ArrayBuffer>[]): Promise<TaskResult["server"] | string> {
  const server = await startBenchServer("src/main.ts", { MODEL_CACHE_DIR: cacheDir, PRELOAD_MODELS: modelId, DEMO_MODEL_ID: "" });
  try {
    const t = target(server.url, task.route, bodies);
    const probe = await sendRequest(t, bodies[0]!);
    if (probe.kind !== "answered" || probe.status !== 200) return `the server answered ${JSON.stringify(probe)} on ${task.route}`;
    await warmBatchSizes(t);
    const measureLevel = async (concurrency: number, label: string): Promise<ServerLevel> => {
      const level = await measureServerLevel(server, t, modelId, { concurrency, warmupSeconds: options.warmupSeconds, seconds: options.seconds });
      log(`  server c=${label}: ${level.reqPerSec.toFixed(2)} req/s, p50 ${level.latencyMs.p50.toFixed(1)} ms, p99 ${level.latencyMs.p99.toFixed(1)} ms`);
      return level;
    };
    const closed: ServerLevel[] = [];
    for (const concurrency of options.concurrency) closed.push(await measureLevel(concurrency, String(concurrency)));
    // The 32-client level once more after the highest: see TaskResult.server.closedLoopRepeat.
    const reference = levelAt(closed, 32);
    const repeat = reference && Math.max(...options.concurrency) > reference.concurrency ? await measureLevel(reference.concurrency, `${reference.concurrency} again`) : undefined;
    const arena = arenaBytes(await scrapeMetrics(server.url), modelId);
    const saturation = Math.max(...closed.map((l) => l.reqPerSec));
    const open: OpenLoopLevel[] = [];
    if (runs("open-loop")) {
      for (const fraction of options.openLoopFractions) {
        const level = await openLoop(t, { rate: fraction * saturation, seconds: options.openLoopSeconds });
        open.push({ ...level, fraction });
        log(
          `  server open loop ${(fraction * 100).toFixed(0)}% (${level.rate.toFixed(2)} req/s): p50 ${level.latencyMs.p50.toFixed(1)} ms, p99 ${level.latencyMs.p99.toFixed(1)} ms`,
        );
      }
    }
    return { closedLoop: closed, closedLoopRepeat: repeat, openLoop: open, saturationReqPerSec: saturation, peakRssMiB: server.memory().peakMiB, arenaBytes: arena };
  } finally {
    await server.stop();
  }
}

async function measureBaseline(task: BenchTask, modelId: string, bodies: Uint8Array<ArrayBuffer>[]): Promise<TaskResult["baseline"]> {
  const server = await startBenchServer("bench/sequential-server.ts", { MODEL_CACHE_DIR: cacheDir, BASELINE_MODELS: modelId });
  try {
    const t = target(server.url, task.route, bodies);
    await warmBatchSizes({ ...t, bodies: bodies.slice(0, 1) });
    const closed: ClosedLoopResult[] = [];
    for (const concurrency of options.baselineConcurrency) {
      const level = await closedLoop(t, { concurrency, warmupSeconds: options.warmupSeconds, seconds: options.seconds });
      closed.push(level);
      log(`  baseline c=${concurrency}: ${level.reqPerSec.toFixed(2)} req/s, p50 ${level.latencyMs.p50.toFixed(1)} ms`);
    }
    return { closedLoop: closed, peakRssMiB: server.memory().peakMiB };
  } finally {
    await server.stop();
  }
}

async function measureTask(task: BenchTask, images: BenchImage[]): Promise<TaskResult> {
  const modelId = modelOverrides.get(task.name) ?? task.modelId;
  const result: TaskResult = { task: task.name, route: task.route, modelId, targets: [] };
  let pkg: ModelPackage;
  try {
    pkg = await readModelPackage(cacheDir, parseModelId(modelId));
  } catch (error) {
    result.skipped = `no model package ${modelId} in ${relative(REPO_ROOT, cacheDir)} (${(error as Error).message})`;
    return result;
  }
  log(`${task.name}: ${modelId}`);
  const bodies = requestBodies(modelId, images);
  if (runs("bare")) {
    result.bare = await measureBareModel(pkg, config, { batchSizes: options.bareBatches, seconds: options.bareSeconds, minCalls: smoke ? 1 : 3 });
    log(`  bare: ${result.bare.batches.map((b) => `batch ${b.batch} ${b.imagesPerSec.toFixed(2)} images/s`).join(", ")}`);
    result.preprocess = await measurePreprocessCost(pkg, result.bare.input, images, smoke ? 1 : 5);
    log(`  decode + preprocess: ${result.preprocess.meanMs.toFixed(1)} ms per image`);
  }
  if (runs("server")) {
    const server = await measureServer(task, modelId, bodies);
    if (typeof server === "string") {
      result.skipped = server;
      return result;
    }
    result.server = server;
  }
  if (runs("baseline")) result.baseline = await measureBaseline(task, modelId, bodies);
  result.targets = checkTaskTargets(result, config.admission.maxQueueWaitMs);
  return result;
}

async function measureSoak(images: BenchImage[]): Promise<BenchResult["soak"]> {
  const route = "/infer/object_detection";
  const server: BenchServer = await startBenchServer("src/main.ts", { MODEL_CACHE_DIR: cacheDir, PRELOAD_MODELS: options.soakModel, DEMO_MODEL_ID: "" });
  try {
    log(`memory soak: ${options.soakRequests} requests to ${options.soakModel}`);
    const soak = await memorySoak(server, target(server.url, route, requestBodies(options.soakModel, images)), {
      // Enough to have used every arena slot (ring order) before the reading that counts as warm.
      warmRequests: Math.max(200, Math.min(1000, Math.round(options.soakRequests / 10))),
      requests: options.soakRequests,
      concurrency: 32,
    });
    log(`  RSS ${soak.warmRssMiB.toFixed(0)} -> ${soak.finalRssMiB.toFixed(0)} MiB, peak ${soak.peakRssMiB.toFixed(0)} MiB`);
    return { ...soak, modelId: options.soakModel, route, targets: checkSoakTargets(soak) };
  } finally {
    await server.stop();
  }
}

async function runFeed(images: BenchImage[]): Promise<FeedResult | undefined> {
  const result = await measureFeed(
    {
      cacheDir,
      images,
      concurrency: options.feedConcurrency,
      warmupSeconds: options.warmupSeconds,
      seconds: options.seconds,
      floorWorkers: availableParallelism(),
      gcEveryBytes: config.memory.gcEveryBytes,
      timeoutSeconds: options.timeoutSeconds,
    },
    log,
  );
  if (typeof result !== "string") return result;
  log(`feed: not measured: ${result}`);
  return undefined;
}

const modelTasks = options.tasks
  .filter((name) => name !== FEED)
  .map((name) => {
    const task = BENCH_TASKS.find((t) => t.name === name);
    if (!task) throw new Error(`--tasks: unknown task "${name}" (tasks: ${[...BENCH_TASKS.map((t) => t.name), FEED].join(", ")})`);
    return task;
  });
await buildFixtures(cacheDir);
// The soak serves the images the model tasks send: a run of the feed measure alone has neither.
const soakRuns = runs("soak") && options.soakRequests > 0 && modelTasks.length > 0;
const images = modelTasks.length > 0 ? await benchImages(options.imagesPerSize) : [];
const feedImagesSent = options.tasks.includes(FEED) ? await feedImages(options.feedImages) : [];
const tasks: TaskResult[] = [];
for (const task of modelTasks) tasks.push(await measureTask(task, images));
const feed = feedImagesSent.length > 0 ? await runFeed(feedImagesSent) : undefined;
const soak = soakRuns ? await measureSoak(images) : undefined;

const anyBare = tasks.find((t) => t.bare)?.bare;
const result: BenchResult = {
  startedAt: startedAt.toISOString(),
  durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
  command: commandLine(),
  smoke,
  machine: describeMachine(config, { onnxruntime: anyBare?.onnxruntime ?? "unknown", executionProvider: anyBare?.executionProvider ?? "unknown" }, loadAverageAtStart),
  options: { ...options, skip: [...options.skip] },
  images: images.map((i) => ({ name: i.name, bytes: i.jpeg.length })),
  tasks,
  feed,
  soak,
};

mkdirSync(outDir, { recursive: true });
const stamp = result.startedAt.replace(/[:.]/g, "-");
writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);
const charts = benchmarkCharts(result);
const chartDir = writeDocs ? join(REPO_ROOT, "bench/plots") : outDir;
mkdirSync(chartDir, { recursive: true });
for (const chart of charts) writeFileSync(join(chartDir, chart.name), chart.svg);
const chartLinks = tasks.map((t) => ({
  task: t.task,
  files: charts.filter((c) => c.name.startsWith(`${t.task}-`)).map((c) => relative(writeDocs ? REPO_ROOT : outDir, join(chartDir, c.name))),
}));
const report = markdownReport(result, chartLinks);
writeFileSync(join(outDir, "latest.md"), `${report}\n`);
if (writeDocs) {
  const path = join(REPO_ROOT, "BENCHMARKS.md");
  writeFileSync(path, replaceGeneratedSection(readFileSync(path, "utf8"), report));
}
console.log(`\n${report}\n`);
log(`results in ${relative(process.cwd(), outDir) || "."}${writeDocs ? "; BENCHMARKS.md and bench/plots/ updated" : ""}`);

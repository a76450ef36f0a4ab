// Soak (`bun run soak`, not in CI): mixed valid and invalid requests over several models at and above capacity,
// every answer checked against its own image's known answer, resident memory sampled over time.
//
//   bun run soak                                  5 minutes, 192 clients over 3 models, each with 32 slots and MAX_QUEUE 8
//   bun run soak --seconds 60 --concurrency 256   (so some requests are refused: the run is above capacity)
// Exits 1 when a target is missed: a request lost (timed out or connection failed), a mismatched
// answer, an unexplained 5xx (only 503 refusals are expected), or resident memory growing > 10%
// between the medians of the first and the last third of the run after its warm-up (arena pages are first touched then).
import { parseArgs } from "node:util";
import sharp from "sharp";
import { DEFAULT_FIXTURE_CACHE, buildFixtures } from "../test/fixtures/build.ts";
import { startBenchServer } from "./server-process.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    concurrency: { type: "string", default: "192" },
    "arena-slots": { type: "string", default: "32" },
    "max-queue": { type: "string", default: "8" },
    "warmup-seconds": { type: "string", default: "30" },
    "sample-seconds": { type: "string", default: "5" },
    "timeout-seconds": { type: "string", default: "60" },
  },
});
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const sampleSeconds = Number(args["sample-seconds"]);
const warmupSeconds = Number(args["warmup-seconds"]);
const timeoutMs = Number(args["timeout-seconds"]) * 1000;

/** A request to send and what must come back: the answer recorded for it on a quiet server, or an error status. */
interface SoakCase {
  name: string;
  route: string;
  body: string;
  expectStatus: number;
  /** The canonical answer (ids and times removed) the first quiet run gave; set for valid cases. */
  expectBody?: string;
}

const MODELS = [
  { id: "colour-probe/1", route: "/infer/object_detection" },
  { id: "seg-probe-v8/1", route: "/infer/instance_segmentation" },
  { id: "cls-probe/1", route: "/infer/classification" },
];

async function solidImage(rgb: [number, number, number], width: number, height: number, format: "png" | "jpeg"): Promise<string> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return (await (format === "png" ? image.png() : image.jpeg({ quality: 95 })).toBuffer()).toString("base64");
}

async function soakCases(): Promise<SoakCase[]> {
  const colours: [number, number, number][] = [
    [230, 40, 30],
    [20, 220, 60],
    [40, 60, 240],
    [200, 200, 40],
    [120, 30, 200],
    [90, 90, 90],
  ];
  const cases: SoakCase[] = [];
  for (const [i, rgb] of colours.entries()) {
    const image = await solidImage(rgb, 320 + 80 * i, 240 + 40 * i, i % 2 === 0 ? "png" : "jpeg");
    for (const model of MODELS) {
      const body = JSON.stringify({ model_id: model.id, image: { type: "base64", value: image }, confidence: 0.1 });
      cases.push({ name: `${model.id} rgb(${rgb})`, route: model.route, body, expectStatus: 200 });
    }
  }
  const tiny = await solidImage([1, 2, 3], 8, 8, "png");
  cases.push(
    {
      name: "malformed base64",
      route: "/infer/object_detection",
      body: JSON.stringify({ model_id: "colour-probe/1", image: { type: "base64", value: "%%%" } }),
      expectStatus: 400,
    },
    {
      name: "not an image",
      route: "/infer/object_detection",
      body: JSON.stringify({ model_id: "colour-probe/1", image: { type: "base64", value: btoa("hello, world") } }),
      expectStatus: 400,
    },
    { name: "unknown model", route: "/infer/object_detection", body: JSON.stringify({ model_id: "no-such-model/1", image: { type: "base64", value: tiny } }), expectStatus: 404 },
    { name: "wrong task", route: "/infer/classification", body: JSON.stringify({ model_id: "colour-probe/1", image: { type: "base64", value: tiny } }), expectStatus: 400 },
    { name: "not JSON", route: "/infer/object_detection", body: "{not json", expectStatus: 400 },
    { name: "schema violation", route: "/infer/object_detection", body: JSON.stringify({ model_id: 7 }), expectStatus: 422 },
  );
  return cases;
}

/** The answer without what differs between two answers to the same image: ids and times. */
function canonical(text: string): string {
  return JSON.stringify(JSON.parse(text), (key, value) => (key === "inference_id" || key === "detection_id" || key === "time" ? undefined : value));
}

async function send(url: string, c: SoakCase): Promise<{ status: number; text: string; retryAfter: string | null } | { lost: string }> {
  try {
    const res = await fetch(`${url}${c.route}`, { method: "POST", headers: { "content-type": "application/json" }, body: c.body, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text(), retryAfter: res.headers.get("retry-after") };
  } catch (error) {
    return { lost: (error as Error).name };
  }
}

await buildFixtures(DEFAULT_FIXTURE_CACHE);
const cases = await soakCases();
const server = await startBenchServer("src/main.ts", {
  MODEL_CACHE_DIR: DEFAULT_FIXTURE_CACHE,
  PRELOAD_MODELS: MODELS.map((m) => m.id).join(","),
  DEMO_MODEL_ID: "",
  MAX_BATCH_SIZE: String(Math.min(16, Number(args["arena-slots"]))),
  ARENA_SLOTS: args["arena-slots"]!,
  MAX_QUEUE: args["max-queue"]!,
});
const log = (message: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`);
try {
  // Known answers, one request at a time on a quiet server.
  for (const c of cases) {
    const answer = await send(server.url, c);
    if ("lost" in answer || answer.status !== c.expectStatus)
      throw new Error(`${c.name}: expected ${c.expectStatus} on a quiet server, got ${JSON.stringify(answer).slice(0, 300)}`);
    if (c.expectStatus === 200) c.expectBody = canonical(answer.text);
  }
  log(`${cases.length} cases recorded; ${concurrency} clients for ${seconds} s against ${server.url}`);

  const counts = { answered: 0, refused: 0, expectedErrors: 0, lost: 0, mismatched: 0, unexplained: 0 };
  const problems: string[] = [];
  const rss: { atSeconds: number; rssMiB: number }[] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const sampler = setInterval(() => {
    rss.push({ atSeconds: elapsed(), rssMiB: server.memory().rssMiB });
    log(`${elapsed().toFixed(0)} s: RSS ${rss.at(-1)!.rssMiB.toFixed(0)} MiB, ${JSON.stringify(counts)}`);
  }, sampleSeconds * 1000);
  let next = 0;
  const client = async () => {
    while (elapsed() < seconds) {
      const c = cases[next++ % cases.length]!;
      const answer = await send(server.url, c);
      if ("lost" in answer) {
        counts.lost++;
        problems.push(`${c.name}: lost (${answer.lost})`);
      } else if (answer.status === 503) {
        counts.refused++;
        // A well-behaved client honours Retry-After rather than hammering a full server.
        await Bun.sleep(1000 * Number(answer.retryAfter ?? 1));
      } else if (answer.status !== c.expectStatus) {
        counts.unexplained++;
        problems.push(`${c.name}: ${answer.status} ${answer.text.slice(0, 200)}`);
      } else if (c.expectStatus !== 200) counts.expectedErrors++;
      else if (canonical(answer.text) !== c.expectBody) {
        counts.mismatched++;
        problems.push(`${c.name}: answer differs from its image's known answer`);
      } else counts.answered++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  clearInterval(sampler);
  rss.push({ atSeconds: elapsed(), rssMiB: server.memory().rssMiB });

  const warm = rss.filter((s) => s.atSeconds >= warmupSeconds);
  if (warm.length < 3) throw new Error(`too few RSS samples after the ${warmupSeconds} s warm-up: run longer or sample more often`);
  const third = Math.max(1, Math.floor(warm.length / 3));
  // Medians: resident memory swings by hundreds of MiB as the allocators return and take pages.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const early = median(warm.slice(0, third).map((s) => s.rssMiB));
  const late = median(warm.slice(-third).map((s) => s.rssMiB));
  const growth = late / early - 1;
  const total = counts.answered + counts.refused + counts.expectedErrors + counts.lost + counts.mismatched + counts.unexplained;
  console.log(
    `\nSoak: ${total} requests in ${elapsed().toFixed(0)} s (${(total / elapsed()).toFixed(1)} req/s), ${concurrency} clients, ARENA_SLOTS ${args["arena-slots"]}, MAX_QUEUE ${args["max-queue"]}`,
  );
  console.log(`  answered and matching: ${counts.answered}`);
  console.log(`  expected 4xx:          ${counts.expectedErrors}`);
  console.log(`  refused (503):         ${counts.refused}`);
  console.log(`  lost:                  ${counts.lost}`);
  console.log(`  mismatched:            ${counts.mismatched}`);
  console.log(`  unexplained status:    ${counts.unexplained}`);
  console.log(
    `  RSS after the ${warmupSeconds} s warm-up: median of the first third ${early.toFixed(0)} MiB, of the last third ${late.toFixed(0)} MiB (${(growth * 100).toFixed(1)}%), peak ${server.memory().peakMiB.toFixed(0)} MiB`,
  );
  console.log(`  RSS samples (s: MiB): ${rss.map((s) => `${s.atSeconds.toFixed(0)}: ${s.rssMiB.toFixed(0)}`).join(", ")}`);
  for (const problem of problems.slice(0, 20)) console.log(`  ! ${problem}`);
  const ok = counts.lost === 0 && counts.mismatched === 0 && counts.unexplained === 0 && growth <= 0.1;
  console.log(ok ? "targets hold: 0 lost, 0 mismatched, 0 unexplained 5xx, RSS flat" : "TARGETS MISSED");
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.stop();
}

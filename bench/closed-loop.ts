// Closed-loop load generator: C clients each send the next request when the last one answers; reports req/s, latency and batch sizes.
//
//   bun bench/closed-loop.ts --url http://localhost:9001 --model demo-shapes/1 --concurrency 1,32 --seconds 20 --images a.jpg,b.jpg
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://localhost:9001" },
    model: { type: "string", default: "demo-shapes/1" },
    concurrency: { type: "string", default: "1,32" },
    seconds: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    images: { type: "string" },
  },
});

const imagePaths = values.images?.split(",") ?? [];
if (imagePaths.length === 0) throw new Error("--images: give at least one image file");
const bodies = imagePaths.map((path) => JSON.stringify({ model_id: values.model, image: { type: "base64", value: readFileSync(path).toString("base64") } }));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Batch size -> ONNX Runtime calls so far, from the server's exact counters. */
async function batchSizes(): Promise<Map<number, number>> {
  const text = await (await fetch(`${values.url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const line of text.split("\n")) {
    const m = /^inference_batches_by_size_total\{model_id="([^"]+)",size="(\d+)"\} (\d+)$/.exec(line);
    if (m && m[1] === values.model) out.set(Number(m[2]), Number(m[3]));
  }
  return out;
}

async function run(concurrency: number, seconds: number) {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const body = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      const res = await fetch(`${values.url}/infer/object_detection`, { method: "POST", headers: { "content-type": "application/json" }, body });
      await res.arrayBuffer();
      if (res.ok) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { concurrency, requests: latencies.length, errors, reqPerSec: latencies.length / elapsed, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) };
}

const seconds = Number(values.seconds);
await run(1, Number(values.warmup));
for (const concurrency of values.concurrency.split(",").map(Number)) {
  const before = await batchSizes();
  const r = await run(concurrency, seconds);
  const after = await batchSizes();
  const batches = [...after.entries()]
    .sort(([a], [b]) => a - b)
    .map(([size, n]) => [size, n - (before.get(size) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([size, n]) => `${size}x${n}`)
    .join(" ");
  console.log(
    `concurrency ${r.concurrency}: ${r.reqPerSec.toFixed(2)} req/s, p50 ${r.p50.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.requests} ok, ${r.errors} errors; batches ${batches}`,
  );
}

// Allocator soak: what glibc's handling of large buffers does to decode time and resident memory. Two workers (as two
// vision workers) decode a 12 MP photo and full-HD scenes in turn, collecting garbage as the server does; the process's
// resident memory is read throughout and after an idle pause.
//
//   nice -n 10 bun bench/malloc-soak.ts [--keep-large-buffers] [--decodes N] [--workers N]
//
// --keep-large-buffers applies MALLOC_KEEP_LARGE_BUFFERS (src/workers/memory-release.ts) at start, as the server does.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { keepLargeBuffers } from "../src/workers/memory-release.ts";
import { feedImages } from "./images.ts";
import type { SoakReply, SoakRun } from "./malloc-soak.worker.ts";

const { values } = parseArgs({
  options: {
    "keep-large-buffers": { type: "boolean", default: false },
    decodes: { type: "string", default: "200" },
    workers: { type: "string", default: "2" },
  },
});
if (values["keep-large-buffers"]) console.log("keepLargeBuffers:", JSON.stringify(keepLargeBuffers()));

const rssMiB = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;
const cpuSeconds = () => {
  const usage = process.resourceUsage();
  return (usage.userCPUTime + usage.systemCPUTime) / 1e6;
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

function nextReply(worker: Worker): Promise<SoakReply> {
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<SoakReply>) => resolve(event.data);
    worker.onerror = (event) => resolve({ type: "failed", message: event.message });
  });
}

// One 12 MP photo, then three full-HD scenes: the 36 MB buffer comes back after other sizes used the heap.
const [hd, photo] = await feedImages(["1920x1080", "4032x3024"]);
const jpegs = [photo!.jpeg, hd!.jpeg, hd!.jpeg, hd!.jpeg];
const workers = Array.from({ length: Number(values.workers) }, () => new Worker(new URL("./malloc-soak.worker.ts", import.meta.url)));
await Promise.all(workers.map(nextReply));
const rssBefore = rssMiB();
let rssPeak = rssBefore;
const rssEverySecond: number[] = [];
let ticks = 0;
const sampler = setInterval(() => {
  const rss = rssMiB();
  rssPeak = Math.max(rssPeak, rss);
  if (++ticks % 10 === 0) rssEverySecond.push(Math.round(rss));
}, 100);
const run: SoakRun = { jpegs, decodes: Number(values.decodes), gcEveryBytes: 64 * 2 ** 20 };
const cpuStart = cpuSeconds();
const wallStart = performance.now();
const replies = await Promise.all(workers.map((worker) => (worker.postMessage(run), nextReply(worker))));
const wall = (performance.now() - wallStart) / 1000;
const cpu = cpuSeconds() - cpuStart;
clearInterval(sampler);
const rssEnd = rssMiB();
await Bun.sleep(2000);
const rssIdle = rssMiB();
for (const worker of workers) worker.terminate();

const times: number[][] = jpegs.map(() => []);
for (const reply of replies) {
  if (reply.type !== "ran") throw new Error(`soak worker: ${JSON.stringify(reply)}`);
  reply.decodeMs.forEach((ms, k) => times[k]!.push(...ms));
}
const photoMs = times[0]!;
const hdMs = times.slice(1).flat();
const decodes = photoMs.length + hdMs.length;
console.log(
  JSON.stringify({
    keepLargeBuffers: values["keep-large-buffers"],
    workers: workers.length,
    decodes,
    wallSeconds: +wall.toFixed(1),
    cpuMsPerDecode: +((cpu * 1000) / decodes).toFixed(1),
    photo12mpMs: { median: +median(photoMs).toFixed(1), min: +Math.min(...photoMs).toFixed(1) },
    fullHdMs: { median: +median(hdMs).toFixed(1), min: +Math.min(...hdMs).toFixed(1) },
    rssMiB: { before: Math.round(rssBefore), peak: Math.round(rssPeak), end: Math.round(rssEnd), idle2s: Math.round(rssIdle) },
    rssEverySecondMiB: rssEverySecond,
  }),
);
process.exit(0);

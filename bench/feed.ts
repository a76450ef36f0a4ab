// Feed measure (issue #16): how many requests this server's cores can feed a device, measured on the CPU alone.
//
// On a GPU the model is cheap and the cores are the limit. So: per image, (a) the decode floor, every core doing nothing but
// decoding that JPEG (bench/decode-floor.ts), and (b) this server serving a model whose inference costs next to nothing
// (free-yolov8n/1: YOLOv8n detection's input and output, test/fixtures/free-model.ts) at a few closed-loop levels, with its
// CPU time per request by thread group; their ratio says what share of the decoding cores' work the server turns into answers.
import { measureDecodeFloor, type DecodeFloorResult } from "./decode-floor.ts";
import type { BenchImage } from "./images.ts";
import { sendRequest, type LoadTarget } from "./request-sender.ts";
import { checkFeedTargets, type FeedImageResult, type FeedLevel, type FeedResult } from "./results.ts";
import { measureServerLevel } from "./server-level.ts";
import { arenaBytes, scrapeMetrics } from "./server-metrics.ts";
import { startBenchServer } from "./server-process.ts";
import { requestBodies } from "./tasks.ts";
import { THREAD_GROUPS } from "./thread-cpu.ts";

const FEED_MODEL_ID = "free-yolov8n/1";
const FEED_ROUTE = "/infer/object_detection";

export interface FeedOptions {
  cacheDir: string;
  images: BenchImage[];
  concurrency: number[];
  warmupSeconds: number;
  seconds: number;
  /** Decode floor workers: one per core. */
  floorWorkers: number;
  /** The server's GC_EVERY_MB, in bytes: the floor's workers collect as its vision workers do. */
  gcEveryBytes: number;
  timeoutSeconds: number;
}

/** A level's share of the decode floor, by throughput and by CPU time. */
export function feedLevel(level: Omit<FeedLevel, "ofFloor" | "cpuOfFloor">, floor: Pick<DecodeFloorResult, "imagesPerSec" | "cpuMsPerDecode">): FeedLevel {
  const cpuMsPerRequest = THREAD_GROUPS.reduce((sum, group) => sum + level.cpuMsPerRequest[group], 0);
  return { ...level, ofFloor: level.reqPerSec / floor.imagesPerSec, cpuOfFloor: floor.cpuMsPerDecode / cpuMsPerRequest };
}

export async function measureFeed(options: FeedOptions, log: (message: string) => void): Promise<FeedResult | string> {
  const server = await startBenchServer("src/main.ts", { MODEL_CACHE_DIR: options.cacheDir, PRELOAD_MODELS: FEED_MODEL_ID, DEMO_MODEL_ID: "" });
  try {
    const images: FeedImageResult[] = [];
    for (const image of options.images) {
      log(`feed: ${image.name} (${(image.jpeg.length / 1024).toFixed(0)} KiB)`);
      const floor = await measureDecodeFloor(image.jpeg, {
        workers: options.floorWorkers,
        warmupSeconds: options.warmupSeconds,
        seconds: options.seconds,
        gcEveryBytes: options.gcEveryBytes,
      });
      log(
        `  decode floor: ${floor.imagesPerSec.toFixed(2)} images/s (${floor.workers} workers, p50 ${floor.decodeMs.p50.toFixed(1)} ms per decode, ${floor.cpuMsPerDecode.toFixed(1)} ms of CPU)`,
      );
      const target: LoadTarget = { url: server.url, path: FEED_ROUTE, bodies: requestBodies(FEED_MODEL_ID, [image]), timeoutMs: options.timeoutSeconds * 1000 };
      const probe = await sendRequest(target, target.bodies[0]!);
      if (probe.kind !== "answered" || probe.status !== 200) return `the server answered ${JSON.stringify(probe)} on ${FEED_ROUTE} for ${image.name}`;
      const levels: FeedLevel[] = [];
      for (const concurrency of options.concurrency) {
        const level = feedLevel(await measureServerLevel(server, target, FEED_MODEL_ID, { concurrency, warmupSeconds: options.warmupSeconds, seconds: options.seconds }), floor);
        log(
          `  server c=${concurrency}: ${level.reqPerSec.toFixed(2)} req/s, ${(level.ofFloor * 100).toFixed(0)}% of the floor (${(level.cpuOfFloor * 100).toFixed(0)}% by CPU time), p50 ${level.latencyMs.p50.toFixed(1)} ms`,
        );
        levels.push(level);
      }
      images.push({ image: { name: image.name, width: image.width, height: image.height, bytes: image.jpeg.length }, floor, levels });
    }
    const scrape = await scrapeMetrics(server.url);
    const measured = {
      modelId: FEED_MODEL_ID,
      route: FEED_ROUTE,
      arenaBytes: arenaBytes(scrape, FEED_MODEL_ID),
      arenaSlots: scrape.get(`arena_slots{model_id="${FEED_MODEL_ID}"}`) ?? Number.NaN,
      images,
    };
    return { ...measured, targets: checkFeedTargets(measured) };
  } finally {
    await server.stop();
  }
}

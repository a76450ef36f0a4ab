// Specification of the feed measure's arithmetic: the decode floor from its workers, each level's share of it, and issue #16's targets.
import { describe, expect, test } from "bun:test";
import { decodeFloor, measureDecodeFloor } from "../../../bench/decode-floor.ts";
import { feedLevel } from "../../../bench/feed.ts";
import { sceneJpeg } from "../../../bench/images.ts";
import { checkFeedTargets, feedRatioRequired, type FeedImageResult, type FeedLevel } from "../../../bench/results.ts";
import { emptyOutcomes, type OutcomeCounts } from "../../../bench/request-sender.ts";

const EMPTY_CPU = { http: 0, vision: 0, libvips: 0, onnxruntime: 0, runtime: 0, exited: 0 };
const NO_LATENCY = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };

function level(concurrency: number, reqPerSec: number, floorImagesPerSec: number, outcomes: OutcomeCounts = { ...emptyOutcomes(), statuses: { "200": 10 } }): FeedLevel {
  return feedLevel(
    {
      concurrency,
      warmupSeconds: 1,
      seconds: 10,
      ok: reqPerSec * 10,
      reqPerSec,
      latencyMs: NO_LATENCY,
      outcomes,
      drainSeconds: 0,
      batchSizes: {},
      stageMeansMs: { queue_wait: 0, preprocess: 0, batch_wait: 0, inference: 0, postprocess: 0 },
      cpuMsPerRequest: { ...EMPTY_CPU, vision: 10, libvips: 10 },
      rssMiB: 0,
    },
    { imagesPerSec: floorImagesPerSec, cpuMsPerDecode: 10 },
  );
}

function image(width: number, height: number, floorImagesPerSec: number, levels: FeedLevel[]): FeedImageResult {
  return {
    image: { name: `${width}x${height}.jpg`, width, height, bytes: 1 },
    floor: decodeFloor([Array(floorImagesPerSec * 10).fill(5)], 10, floorImagesPerSec * 10 * 0.005),
    levels,
  };
}

describe("decode floor", () => {
  test("counts every worker's decodes inside the window, per second of it, and the CPU time per decode", () => {
    const floor = decodeFloor(
      [
        [10, 12, 14],
        [11, 13],
      ],
      2,
      0.06,
    );
    expect(floor).toMatchObject({ workers: 2, seconds: 2, decodes: 5, imagesPerSec: 2.5 });
    expect(floor.cpuMsPerDecode).toBeCloseTo(12, 9);
    expect(floor.decodeMs.p50).toBe(12);
  });

  test("one worker decoding a real JPEG for a short window counts its decodes", async () => {
    const frame = await sceneJpeg(320, 240, 1);
    const floor = await measureDecodeFloor(frame.jpeg, { workers: 1, warmupSeconds: 0.1, seconds: 0.3, gcEveryBytes: 0 });
    expect(floor.workers).toBe(1);
    expect(floor.decodes).toBeGreaterThan(0);
    expect(floor.imagesPerSec).toBeCloseTo(floor.decodes / 0.3, 6);
    expect(floor.decodeMs.p50).toBeLessThan(300);
    // The worker's own thread, sharp's and libvips's: at most what one busy core and the window allow, with some slack.
    expect(floor.cpuMsPerDecode).toBeGreaterThan(0);
    expect(floor.cpuMsPerDecode * floor.decodes).toBeLessThan(2 * 300);
  });
});

describe("feed targets", () => {
  test("a level's share of the floor is its req/s over the floor's images/s, and by CPU the floor's ms per decode over its ms per request", () => {
    const half = level(32, 45, 90);
    expect(half.ofFloor).toBe(0.5);
    expect(half.cpuOfFloor).toBe(0.5);
  });

  test("ask 0.6 of the floor for a VGA frame and 0.7 from full HD up", () => {
    expect(feedRatioRequired({ width: 640, height: 480 })).toBe(0.6);
    expect(feedRatioRequired({ width: 1920, height: 1080 })).toBe(0.7);
    expect(feedRatioRequired({ width: 4032, height: 3024 })).toBe(0.7);
  });

  test("check each image at 32 clients, the arena against 80 MiB, and that every request was answered", () => {
    const checks = checkFeedTargets({
      modelId: "free-yolov8n/1",
      route: "/infer/object_detection",
      arenaBytes: 318 * 2 ** 20,
      arenaSlots: 64,
      images: [
        image(640, 480, 300, [level(32, 190, 300), level(128, 100, 300)]),
        image(1920, 1080, 100, [level(32, 65, 100), level(128, 75, 100, { statuses: { "200": 5, "503": 2 }, timeouts: 1, failures: 0 })]),
      ],
    });
    expect(checks.map((c) => [c.name, c.holds])).toEqual([
      ["feed / decode floor at 640x480, concurrency 32", true],
      ["feed / decode floor at 1920x1080, concurrency 32", false],
      ["arena of a 640x640 detection model at default settings, MiB", false],
      ["feed requests neither answered nor refused with 503", false],
    ]);
    expect(checks[0]!.measured).toBeCloseTo(190 / 300, 9);
    expect(checks[2]!.measured).toBe(318);
    expect(checks[3]!.measured).toBe(1);
  });
});

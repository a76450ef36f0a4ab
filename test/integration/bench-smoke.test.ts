// The benchmark is not a test; this keeps it working: `bun run bench --smoke` runs every phase briefly and writes its results.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchResult } from "../../bench/results.ts";
import { REPO_ROOT } from "./server-process.ts";

test("bun run bench --smoke measures the bare model, the server, the open loop, the baseline, the feed measure and the soak, and writes JSON and Markdown", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-smoke-test-"));
  try {
    const proc = Bun.spawn(["bun", "bench/run.ts", "--smoke", "--out", out], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
    const [log, errors, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code, `${log}\n${errors}`).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as BenchResult;
    const [detection] = result.tasks;
    expect(detection!.task).toBe("object-detection");
    expect(detection!.bare!.batches.length).toBeGreaterThan(0);
    expect(detection!.server!.closedLoop.map((l) => l.concurrency)).toEqual([1, 4]);
    expect(detection!.server!.closedLoop.every((l) => l.reqPerSec > 0)).toBe(true);
    for (const level of detection!.server!.closedLoop) {
      expect(level.cpuMsPerRequest.vision).toBeGreaterThan(0);
      expect(level.cpuMsPerRequest.onnxruntime).toBeGreaterThan(0);
    }
    expect(detection!.server!.openLoop).toHaveLength(1);
    expect(detection!.baseline!.closedLoop[0]!.reqPerSec).toBeGreaterThan(0);
    expect(detection!.targets.length).toBeGreaterThan(0);
    expect(detection!.server!.arenaBytes).toBeGreaterThan(0);
    // The feed measure: per image, the decode floor and the free model served at one small level.
    const feed = result.feed!;
    expect(feed.modelId).toBe("free-yolov8n/1");
    expect(feed.images.map((i) => `${i.image.width}x${i.image.height}`)).toEqual(["640x480", "1920x1080", "4032x3024"]);
    for (const { floor, levels } of feed.images) {
      expect(floor.imagesPerSec).toBeGreaterThan(0);
      expect(levels.map((l) => l.concurrency)).toEqual([4]);
      expect(levels[0]!.ofFloor).toBeCloseTo(levels[0]!.reqPerSec / floor.imagesPerSec, 9);
      expect(levels[0]!.cpuMsPerRequest.vision).toBeGreaterThan(0);
      expect(floor.cpuMsPerDecode).toBeGreaterThan(0);
      expect(levels[0]!.cpuOfFloor).toBeGreaterThan(0);
    }
    expect(feed.arenaBytes).toBeGreaterThan(0);
    expect(feed.targets.map((t) => t.name)).toContain("feed / decode floor at 1920x1080, concurrency 4");
    expect(result.soak!.requests).toBeGreaterThan(0);
    expect(result.machine.cores).toBeGreaterThan(0);
    const report = readFileSync(join(out, "latest.md"), "utf8");
    expect(report).toContain("### Object detection");
    expect(report).toContain("CPU time of the server per answered request, by thread");
    expect(report).toContain("### Feed: `free-yolov8n/1`");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 240_000);

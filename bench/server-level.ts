// One closed-loop level against a benchmark server, with what the server reports about it: batch sizes and stage times from
// /metrics, CPU time per request by thread group from /proc, and its resident memory at the level's end.
import { closedLoop } from "./closed-loop.ts";
import { successes, type LoadTarget } from "./request-sender.ts";
import type { ServerLevel } from "./results.ts";
import { batchSizesBetween, scrapeMetrics, stageMeansBetween } from "./server-metrics.ts";
import type { BenchServer } from "./server-process.ts";
import { cpuMsPerRequest } from "./thread-cpu.ts";

export async function measureServerLevel(
  server: BenchServer,
  target: LoadTarget,
  modelId: string,
  level: { concurrency: number; warmupSeconds: number; seconds: number },
): Promise<ServerLevel> {
  const before = await scrapeMetrics(server.url);
  const cpuBefore = server.threadCpu();
  const result = await closedLoop(target, level);
  const cpuAfter = server.threadCpu();
  const after = await scrapeMetrics(server.url);
  return {
    ...result,
    batchSizes: Object.fromEntries(batchSizesBetween(before, after, modelId)),
    stageMeansMs: stageMeansBetween(before, after, modelId),
    cpuMsPerRequest: cpuMsPerRequest(server.pid, cpuBefore, cpuAfter, successes(result.outcomes)),
    rssMiB: server.memory().rssMiB,
  };
}

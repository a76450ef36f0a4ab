// Server entry point: configuration -> demo models -> pipeline threads -> HTTP, and a graceful shutdown (SIGTERM, SIGHUP, SIGINT).
import { loadConfig, type ServerConfig } from "./config.ts";
import { installDemoModels } from "./demo/install.ts";
import { createApp } from "./http/app.ts";
import { earlyAnswer } from "./http/guards/early-answer.ts";
import { PackageWriter } from "./models/package-writer.ts";
import { ShutdownDrain } from "./http/shutdown.ts";
import { describeLanes } from "./pipeline/inference-lanes.ts";
import { Pipeline } from "./pipeline/pipeline.ts";
import { keepLargeBuffers } from "./workers/memory-release.ts";

export interface RunningServer {
  url: string;
  pipeline: Pipeline;
  stop(): Promise<void>;
}

/** Installs the built-in demo models (README "Demo") into the cache on first start, from files in this repository. */
async function ensureDemoModels(config: ServerConfig): Promise<void> {
  const { demoModelId } = config.startup;
  const { modelCacheDir } = config.models;
  if (!demoModelId) return;
  const writer = new PackageWriter({ modelCacheDir, roboflowApiTimeoutMs: config.roboflow.roboflowApiTimeoutMs });
  const installed = await installDemoModels(modelCacheDir, writer, demoModelId);
  if (installed.length > 0) console.log(`installed the demo models ${installed.join(", ")} in ${modelCacheDir}`);
}

export async function startServer(config: ServerConfig = loadConfig()): Promise<RunningServer> {
  // Process-wide (every thread's malloc arenas), so before any worker starts decoding.
  if (config.memory.keepLargeBuffers) keepLargeBuffers();
  await ensureDemoModels(config);
  const pipeline = await Pipeline.start(config);
  for (const id of config.startup.preloadModels) await pipeline.host.get(id);
  const drain = new ShutdownDrain(earlyAnswer());
  // Every request goes through the app's fetch (not Bun's per-route handlers, which would pass the drain by).
  // MAX_REQUEST_BYTES is enforced by the app (a JSON 413, chunked bodies included); Bun's own limit,
  // which answers a bare 413 before the app runs, is lifted so that it never comes first.
  const { host, port } = config.http;
  const server = Bun.serve({
    hostname: host,
    port,
    idleTimeout: 30,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: drain.wrap(createApp(pipeline, config).fetch),
  });
  const url = `http://${host === "0.0.0.0" ? "localhost" : host}:${server.port}`;
  console.log(
    `listening on ${url} (ONNX Runtime ${pipeline.ortVersion}, provider ${pipeline.activeProvider ?? "chosen at first model load"}, ${config.vision.numWorkers} vision workers, ${describeLanes(pipeline.lanes)}, MAX_BATCH_SIZE ${config.batching.maxBatchSize})`,
  );
  return {
    url,
    pipeline,
    async stop() {
      // Refuse new requests (503, Connection: close) while those admitted finish, then stop listening and the threads.
      await drain.drain();
      await server.stop(false);
      await pipeline.stop();
    },
  };
}

if (import.meta.main) {
  // Handlers first: a signal that comes while models preload (or just as "listening" is logged) waits for the start to
  // finish and then drains, instead of killing the process with the default action.
  const starting = startServer();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining and stopping`);
    await (await starting).stop();
    process.exit(0);
  };
  // A hang-up (a closed terminal, a supervisor's reload) stops the server as gracefully as a termination.
  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) process.on(signal, () => void shutdown(signal));
  await starting;
}

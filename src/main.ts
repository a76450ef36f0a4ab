// Server entry point: configuration -> demo models -> pipeline threads -> HTTP, and a graceful shutdown.
import { loadConfig, type ServerConfig } from "./config.ts";
import { installDemoModels } from "./demo/install.ts";
import { createApp } from "./http/app.ts";
import { describeLanes } from "./pipeline/inference-lanes.ts";
import { Pipeline } from "./pipeline/pipeline.ts";

export interface RunningServer {
  url: string;
  pipeline: Pipeline;
  stop(): Promise<void>;
}

/** Installs the built-in demo models (README "Demo") into the cache on first start, from files in this repository. */
async function ensureDemoModels(config: ServerConfig): Promise<void> {
  if (!config.demoModelId) return;
  const installed = await installDemoModels(config.modelCacheDir, config.demoModelId);
  if (installed.length > 0) console.log(`installed the demo models ${installed.join(", ")} in ${config.modelCacheDir}`);
}

export async function startServer(config: ServerConfig = loadConfig()): Promise<RunningServer> {
  await ensureDemoModels(config);
  const pipeline = await Pipeline.start(config);
  for (const id of config.preloadModels) await pipeline.registry.get(id);
  // MAX_REQUEST_BYTES is enforced by the app (a JSON 413, chunked bodies included); Bun's own limit,
  // which answers a bare 413 before the app runs, is lifted so that it never comes first.
  const app = createApp(pipeline).listen({ hostname: config.host, port: config.port, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
  const server = app.server!;
  const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${server.port}`;
  console.log(
    `listening on ${url} (ONNX Runtime ${pipeline.ortVersion}, provider ${pipeline.activeProvider ?? "chosen at first model load"}, ${config.numWorkers} vision workers, ${describeLanes(pipeline.lanes)}, MAX_BATCH_SIZE ${config.maxBatchSize})`,
  );
  return {
    url,
    pipeline,
    async stop() {
      // Stop accepting, let requests in flight finish, then stop the threads.
      await server.stop(false);
      await pipeline.stop();
    },
  };
}

if (import.meta.main) {
  const running = await startServer();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining and stopping`);
    await running.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

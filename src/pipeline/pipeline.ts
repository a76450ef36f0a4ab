// Pipeline: the server's threads (vision pool, one inference worker per device) and the objects that route work between them.
import type { ServerConfig } from "../config.ts";
import { ModelRegistry } from "../models/registry.ts";
import { RoboflowApi } from "../models/roboflow-api.ts";
import { Dispatcher } from "./dispatcher.ts";
import { DeviceGroup } from "./device-group.ts";
import { ServerMetrics } from "./metrics.ts";
import { Control } from "./protocol.ts";
import { VisionPool } from "./vision-pool.ts";

export class Pipeline {
  readonly metrics = new ServerMetrics();
  readonly registry: ModelRegistry;
  readonly dispatcher: Dispatcher;
  private constructor(
    readonly config: ServerConfig,
    readonly pool: VisionPool,
    readonly device: DeviceGroup,
    readonly ortVersion: string,
    readonly availableProviders: string[],
  ) {
    this.registry = new ModelRegistry(config, device, pool, new RoboflowApi(config));
    this.dispatcher = new Dispatcher(this.registry, pool, config, this.metrics);
  }

  /** Starts every thread and waits until each has said it is ready. */
  static async start(config: ServerConfig): Promise<Pipeline> {
    const control = new SharedArrayBuffer(Control.WORDS * 4);
    const pool = new VisionPool(config.numWorkers, { control, urlInput: config.urlInput, maxImagePixels: config.maxImagePixels, gcEveryBytes: config.gcEveryBytes }, { taskTimeoutMs: config.visionTaskTimeoutMs });
    // The device reports batches before the dispatcher exists; route through a late-bound reference.
    let pipeline: Pipeline | undefined;
    const device = new DeviceGroup(
      {
        control,
        ortLibPath: config.ortLibPath,
        executionProviders: config.executionProviders,
        intraOpThreads: config.ortIntraOpThreads,
        batchMaxWaitMs: config.batchMaxWaitMs,
        maxBatchSize: config.maxBatchSize,
        batchProbe: config.batchSizeProbe,
        tensorrt: { engineCachePath: config.tensorrtCachePath, fp16: config.tensorrtFp16 },
      },
      config.cudaDevices,
      {
        onInferred: (batch) => pipeline?.dispatcher.onInferred(batch),
        onBatchFailed: (key, start, count, error) => pipeline?.dispatcher.onBatchFailed(key, start, count, error),
      },
    );
    const [{ ortVersion, availableProviders }] = await Promise.all([device.ready(), pool.ready()]);
    pipeline = new Pipeline(config, pool, device, ortVersion, availableProviders);
    return pipeline;
  }

  /** The execution provider serving the loaded models (the first one's; every model is loaded on every device). */
  get activeProvider(): string | null {
    return this.registry.list()[0]?.activeProvider ?? null;
  }

  async stop(): Promise<void> {
    await this.device.stop();
    await this.pool.stop();
  }
}

// Pipeline: the server's threads (vision pool, inference workers per device) and the objects that route work between them.
import { availableParallelism } from "node:os";
import { installedGpuProviders } from "../../native-bindings/ort.ts";
import { locateOrtLibrary } from "../../native-bindings/locate.ts";
import type { ServerConfig } from "../config.ts";
import { ModelRegistry } from "../models/registry.ts";
import { RoboflowDownloader } from "../models/roboflow/download.ts";
import { Dispatcher } from "./dispatcher.ts";
import { DeviceGroup } from "./device-group.ts";
import { planInferenceLanes, type LanePlan } from "./inference-lanes.ts";
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
    readonly lanes: LanePlan,
    readonly ortVersion: string,
    readonly availableProviders: string[],
  ) {
    this.registry = new ModelRegistry(config, device, pool, new RoboflowDownloader(config));
    this.dispatcher = new Dispatcher(this.registry, pool, config, this.metrics);
  }

  /** The inference workers and intra-op threads `config` calls for on this machine (see inference-lanes.ts). */
  static lanePlan(config: ServerConfig): LanePlan {
    const installed: string[] = installedGpuProviders(locateOrtLibrary(config.ortLibPath || undefined));
    return planInferenceLanes({
      workersPerDevice: config.inferenceWorkersPerDevice,
      intraOpThreads: config.ortIntraOpThreads,
      deviceIds: config.cudaDevices,
      cores: availableParallelism(),
      gpuProviders: config.executionProviders.filter((provider) => installed.includes(provider)),
    });
  }

  /** Starts every thread and waits until each has said it is ready. */
  static async start(config: ServerConfig): Promise<Pipeline> {
    const lanes = Pipeline.lanePlan(config);
    const control = new SharedArrayBuffer(Control.WORDS * 4);
    const pool = new VisionPool(config.numWorkers, { control, urlInput: config.urlInput, maxImagePixels: config.maxImagePixels, gcEveryBytes: config.gcEveryBytes }, { taskTimeoutMs: config.visionTaskTimeoutMs });
    // The device reports batches before the dispatcher exists; route through a late-bound reference.
    let pipeline: Pipeline | undefined;
    const device = new DeviceGroup(
      {
        control,
        ortLibPath: config.ortLibPath,
        executionProviders: config.executionProviders,
        intraOpThreads: lanes.intraOpThreads,
        batchMaxWaitMs: config.batchMaxWaitMs,
        maxBatchSize: config.maxBatchSize,
        batchProbe: config.batchSizeProbe,
        tensorrt: { engineCachePath: config.tensorrtCachePath, fp16: config.tensorrtFp16 },
      },
      lanes.workerDeviceIds,
      {
        onInferred: (batch) => pipeline?.dispatcher.onInferred(batch),
        onBatchFailed: (key, start, count, error) => pipeline?.dispatcher.onBatchFailed(key, start, count, error),
      },
    );
    const [{ ortVersion, availableProviders }] = await Promise.all([device.ready(), pool.ready()]);
    pipeline = new Pipeline(config, pool, device, lanes, ortVersion, availableProviders);
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

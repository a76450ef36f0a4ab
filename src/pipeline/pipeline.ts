// Pipeline: the server's threads (vision pool, inference workers per device) and the objects that route work between them.
import { availableParallelism } from "node:os";
import { locateOrtLibrary } from "../../native-bindings/locate.ts";
import { importModel, type ImportOptions, type ImportResult } from "../models/import-model.ts";
import { PackageWriter } from "../models/package-writer.ts";
import { RoboflowDownloader, type RoboflowSettings } from "../models/roboflow/download.ts";
import type { UrlInputSettings } from "../vision/url-policy.ts";
import type { BatchingSettings } from "../workers/batcher.ts";
import type { MemorySettings } from "../workers/collection-pacer.ts";
import type { OrtSettings, VisionSettings } from "../workers/protocol.ts";
import type { AdmissionSettings } from "./admission.ts";
import { Dispatcher } from "./dispatcher.ts";
import { DeviceGroup } from "./device-group.ts";
import { plannedArenaSlots, planInferenceLanes, type LanePlan } from "./inference-lanes.ts";
import { ServerMetrics } from "./metrics.ts";
import { ModelHost, type ModelHostSettings } from "./model-host.ts";
import { importArenaProblem } from "./arena-size.ts";
import { inspectOnnxInWorker } from "./model-inspector.ts";
import { Control } from "../workers/protocol.ts";
import { checkExecutionProviders, gpuProvidersAhead, type ProviderCheck } from "./provider-check.ts";
import { VisionPool } from "./vision-pool.ts";

/** The configuration sections the pipeline's parts are built with (src/config.ts). */
export interface PipelineSettings {
  models: ModelHostSettings;
  admission: AdmissionSettings;
  batching: BatchingSettings;
  ort: OrtSettings;
  vision: VisionSettings;
  urlInput: UrlInputSettings;
  memory: MemorySettings;
  roboflow: RoboflowSettings;
}

/** What the ONNX Runtime settings come to on this machine: the library and providers resolved, and the lanes. */
export interface OrtPlan {
  /** ortLibPath is the library's path, executionProviders those the provider check left. */
  ort: OrtSettings;
  lanes: LanePlan;
  providerCheck: ProviderCheck;
}

export class Pipeline {
  readonly metrics = new ServerMetrics();
  readonly host: ModelHost;
  readonly dispatcher: Dispatcher;
  private constructor(
    readonly settings: PipelineSettings,
    readonly pool: VisionPool,
    readonly device: DeviceGroup,
    control: SharedArrayBuffer,
    readonly lanes: LanePlan,
    readonly ortVersion: string,
    readonly availableProviders: string[],
    readonly providerCheck: ProviderCheck,
  ) {
    const doorbell = new Int32Array(control);
    const ringDoorbell = () => {
      Atomics.add(doorbell, Control.DOORBELL, 1);
      Atomics.notify(doorbell, Control.DOORBELL);
    };
    const roboflow = new RoboflowDownloader({ ...settings.roboflow, modelCacheDir: settings.models.modelCacheDir });
    this.host = new ModelHost(settings.models, settings.admission, settings.batching, device, pool, ringDoorbell, roboflow);
    this.dispatcher = new Dispatcher(this.host, pool, settings.urlInput, this.metrics);
  }

  /**
   * The library, execution providers, devices and lanes the ONNX Runtime settings call for on this machine: the GPU
   * providers asked for are checked first (provider-check.ts), and the lanes planned for what runs (inference-lanes.ts).
   */
  static plan(requested: OrtSettings): OrtPlan {
    const ortLibPath = locateOrtLibrary(requested.ortLibPath || undefined);
    const providerCheck = checkExecutionProviders(ortLibPath, requested.executionProviders, requested.cudaDevices, requested.cudnnConvAlgoSearch);
    const lanes = planInferenceLanes({
      workersPerDevice: requested.inferenceWorkersPerDevice,
      intraOpThreads: requested.ortIntraOpThreads,
      deviceIds: providerCheck.deviceIds,
      cores: availableParallelism(),
      gpuProviders: gpuProvidersAhead(providerCheck.providers),
    });
    return { ort: { ...requested, ortLibPath, executionProviders: providerCheck.providers }, lanes, providerCheck };
  }

  /**
   * ARENA_SLOTS, or when it is unset the most slots the lane plan can give (as if every GPU asked for ran): what an
   * import outside the server checks against MAX_ARENA_BYTES, without loading ONNX Runtime or touching a GPU.
   */
  static mostArenaSlots(settings: Pick<PipelineSettings, "ort" | "models" | "batching">): number {
    if (settings.models.arenaSlots > 0) return settings.models.arenaSlots;
    const { ort } = settings;
    const plan = (gpuProviders: string[]) =>
      planInferenceLanes({
        workersPerDevice: ort.inferenceWorkersPerDevice,
        intraOpThreads: ort.ortIntraOpThreads,
        deviceIds: ort.cudaDevices,
        cores: availableParallelism(),
        gpuProviders,
      });
    // The GPUs' plan, or the CPU's when the provider check falls back to it.
    const { maxBatchSize } = settings.batching;
    return Math.max(plannedArenaSlots(plan(gpuProvidersAhead(ort.executionProviders)), maxBatchSize), plannedArenaSlots(plan([]), maxBatchSize));
  }

  /** The inference workers and intra-op threads the ONNX Runtime settings call for on this machine (see plan). */
  static lanePlan(ort: OrtSettings): LanePlan {
    return Pipeline.plan(ort).lanes;
  }

  /** Starts every thread and waits until each has said it is ready. */
  static async start(requested: PipelineSettings): Promise<Pipeline> {
    const { ort, lanes, providerCheck } = Pipeline.plan(requested.ort);
    if (providerCheck.fallbacks.length > 0) {
      console.log(`execution providers ${ort.executionProviders.join(",")}; not the ones before them: ${providerCheck.fallbacks.join("; ")}`);
    }
    // ARENA_SLOTS unset (0): sized for the lanes (inference-lanes.ts).
    const arenaSlots = requested.models.arenaSlots || plannedArenaSlots(lanes, requested.batching.maxBatchSize);
    const settings: PipelineSettings = { ...requested, ort, models: { ...requested.models, arenaSlots } };
    const control = new SharedArrayBuffer(Control.WORDS * 4);
    const pool = new VisionPool({ control, vision: settings.vision, urlInput: settings.urlInput, memory: settings.memory });
    // The device reports batches before the dispatcher exists; route through a late-bound reference.
    let pipeline: Pipeline | undefined;
    const device = new DeviceGroup({ control, ort: settings.ort, batching: settings.batching, intraOpThreads: lanes.intraOpThreads }, lanes.workerDeviceIds, {
      onInferred: (batch) => pipeline?.dispatcher.onInferred(batch),
      onBatchFailed: (instance, start, count, error) => pipeline?.dispatcher.onBatchFailed(instance, start, count, error),
    });
    const [{ ortVersion, availableProviders }] = await Promise.all([device.ready(), pool.ready()]);
    pipeline = new Pipeline(settings, pool, device, control, lanes, ortVersion, availableProviders, providerCheck);
    return pipeline;
  }

  /**
   * Imports an uploaded ONNX file as a package into the model cache: the upload is staged inside MODEL_CACHE_DIR (where a
   * killed import's leftovers are swept, see package-writer.ts) and becomes the weights file; ONNX Runtime inspects it off
   * this thread. A replaced model still loaded is unloaded, so the next request loads the new package.
   */
  async importModel(upload: Blob, options: ImportOptions, overwrite: boolean): Promise<ImportResult> {
    const { models, batching, ort, roboflow } = this.settings;
    const writer = new PackageWriter({ modelCacheDir: models.modelCacheDir, roboflowApiTimeoutMs: roboflow.roboflowApiTimeoutMs });
    const staged = await writer.stage("import");
    try {
      const path = staged.path("upload.onnx");
      await staged.writeFile("upload.onnx", upload);
      const result = await importModel(path, options, {
        cacheDir: models.modelCacheDir,
        writer,
        staged,
        overwrite,
        inspect: (file, imageSize) => inspectOnnxInWorker(file, imageSize, ort.ortLibPath || undefined),
        arenaProblem: importArenaProblem({ maxBatchSize: batching.maxBatchSize, arenaSlots: models.arenaSlots, maxArenaBytes: models.maxArenaBytes }),
      });
      if (result.replaced) await this.host.unload(result.modelId.id);
      return result;
    } finally {
      await staged.discard();
    }
  }

  /** The execution provider serving the loaded models (the first one's; every model is loaded on every device). */
  get activeProvider(): string | null {
    const first = this.host.list()[0];
    if (!first) return null;
    return this.device.provider(first.id)?.activeProvider ?? first.activeProvider;
  }

  /**
   * Why the execution providers preferred to the one in use do not run: the start-up check's reasons, then the first
   * model's (a provider that started for the check may still fail a model). Empty when the first choice runs.
   */
  get providerFallbacks(): string[] {
    const first = this.host.list()[0];
    const model = first ? (this.device.provider(first.id)?.fallbacks ?? []) : [];
    return [...new Set([...this.providerCheck.fallbacks, ...model])];
  }

  async stop(): Promise<void> {
    await this.device.stop();
    await this.pool.stop();
  }
}

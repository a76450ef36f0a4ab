// Roboflow download: fetches a model missing from MODEL_CACHE_DIR as the reference does (docs/compatibility.md §3.1-3.2), a version
// through the `ort` endpoint, then its signed environment and weights URLs, an instant model (no version) through
// `getWeights`, whose answer carries the environment itself, and writes its package through the package writer.
import { hostname } from "node:os";
import { HttpError } from "../../errors.ts";
import { SingleFlight } from "../../single-flight.ts";
import { cacheSubdir } from "../cache-layout.ts";
import type { ModelId } from "../model-id.ts";
import { BrokenPackageError, cachedPackageDir, packageDir } from "../package.ts";
import { PackageWriter, weightsFileName, type StagedPackage } from "../package-writer.ts";
import {
  apiGet,
  describeGetWeights,
  describeOrt,
  getWeightsUrl,
  isRecord,
  malformedResponseError,
  ortUrl,
  PUBLIC_MODELS,
  redactUrl,
  RoboflowApiError,
  scrubKey,
  usableKey,
  type BodySink,
} from "./api.ts";

/** The Roboflow API section of the configuration. */
export interface RoboflowSettings {
  /** API_BASE_URL, without a trailing slash. */
  apiBaseUrl: string;
  /** ROBOFLOW_API_KEY / API_KEY: used when a request carries no key; empty = none. */
  roboflowApiKey: string;
  /** ROBOFLOW_API_REQUEST_TIMEOUT: a call or download that receives nothing for this long fails with 504. */
  roboflowApiTimeoutMs: number;
}

export interface RoboflowDownloadSettings extends RoboflowSettings {
  /** Where downloaded packages go (MODEL_CACHE_DIR). */
  modelCacheDir: string;
}

/** Downloads at least this large (or of unknown size) log their progress. */
const LARGE_DOWNLOAD_BYTES = 8 * 2 ** 20;
const PROGRESS_INTERVAL_MS = 2_000;

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Downloads models into the cache; one download per model at a time, shared by everyone asking for it. */
export class RoboflowDownloader {
  /** Downloads in progress by model id, each with the API key it uses; each ends with the package's directory. */
  private readonly downloads = new SingleFlight<string, string, string | null>();
  private readonly writer: PackageWriter;
  private readonly deviceId = hostname() || "bun-inference";

  constructor(
    private readonly settings: RoboflowDownloadSettings,
    private readonly log: Pick<Console, "log" | "error"> = console,
  ) {
    this.writer = new PackageWriter(settings, log);
  }

  /** The key a download for this request uses: the request's, else the configured one; null when neither is usable. */
  keyFor(requestKey: string | null | undefined): string | null {
    return usableKey(requestKey) ?? usableKey(this.settings.roboflowApiKey);
  }

  /**
   * Makes sure the package of `modelId` is in the cache. A package already there is used as it is (no API call).
   * Otherwise it is downloaded with the request's key (else the configured one); without any key only Roboflow's
   * public models are fetched, and for any other model this returns and the caller answers 404 as before.
   * Concurrent callers share one download; one whose key differs from a download that failed for its key tries its own.
   */
  async ensureCached(modelId: ModelId, requestKey?: string | null): Promise<void> {
    const apiKey = this.keyFor(requestKey);
    if (!apiKey && !PUBLIC_MODELS.has(modelId.id)) return;
    await this.downloads.run(modelId.id, {
      tag: apiKey,
      done: () => cachedPackageDir(this.settings.modelCacheDir, modelId) ?? undefined,
      work: () => this.download(modelId, apiKey),
      // Someone else's key was refused (or could not see the model): ours may do better.
      retry: (error, sharedKey) => error instanceof RoboflowApiError && error.keyDependent && sharedKey !== apiKey,
    });
  }

  private async download(modelId: ModelId, apiKey: string | null): Promise<string> {
    const { apiBaseUrl } = this.settings;
    const started = performance.now();
    this.log.log(`model ${modelId.id} is not in MODEL_CACHE_DIR: downloading it from ${redactUrl(apiBaseUrl)}${apiKey ? "" : " (public model, no API key)"}`);
    let staged: StagedPackage | null = null;
    try {
      staged = await this.writer.stage(cacheSubdir(modelId));
      const described =
        modelId.version === null
          ? describeGetWeights(await this.getJson(getWeightsUrl(apiBaseUrl, modelId, apiKey), modelId, "model description", apiKey))
          : describeOrt(await this.getJson(ortUrl(apiBaseUrl, modelId, apiKey, this.deviceId), modelId, "model description", apiKey));
      const weightsName = weightsFileName(described.taskType, described.modelType);

      if (described.classes) await staged.writeFile("class_names.txt", described.classes.map(String).join("\n"));
      const environment = typeof described.environment === "string" ? await this.getJson(described.environment, modelId, "environment.json", apiKey) : described.environment;
      if (!isRecord(environment)) throw new BrokenPackageError("environment.json from the Roboflow API is not a JSON object.");
      const weightsBytes = await this.getFile(described.weightsUrl, staged, weightsName, modelId, apiKey);
      const env = described.colors === undefined ? environment : { ...environment, COLORS: described.colors };
      await staged.writeFile("environment.json", JSON.stringify(env));
      if (described.keypointsMetadata !== undefined) await staged.writeFile("keypoints_metadata.json", JSON.stringify(described.keypointsMetadata));
      const modelTypeJson: Record<string, string> = { project_task_type: described.taskType, model_type: described.modelType, model_id: modelId.id };
      if (described.modelVariant !== undefined) modelTypeJson.model_variant = described.modelVariant;
      await staged.writeFile("model_type.json", JSON.stringify(modelTypeJson));

      const target = packageDir(this.settings.modelCacheDir, modelId);
      await staged.installBeside(target);
      this.log.log(
        `cached ${modelId.id} (${described.taskType}, ${described.modelType}, ${weightsName} ${mib(weightsBytes)} MiB) in ${target} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      return target;
    } catch (error) {
      const message = error instanceof HttpError ? `${error.status} ${error.message}` : String(error);
      this.log.error(`downloading ${modelId.id} failed: ${scrubKey(message, apiKey)}`);
      throw error instanceof HttpError ? error : new HttpError(500, "Internal error. Could not write the downloaded model into MODEL_CACHE_DIR.");
    } finally {
      await staged?.discard();
    }
  }

  /** One GET of the API or a signed URL, its failures logged without the key. */
  private get(url: string, modelId: ModelId, what: string, apiKey: string | null, sink: BodySink): Promise<number> {
    return apiGet(url, this.settings.roboflowApiTimeoutMs, sink, (problem) => this.log.error(`${modelId.id}: GET ${redactUrl(url)} (${what}) ${scrubKey(problem, apiKey)}`));
  }

  /** GETs a JSON document from the API or a signed URL. */
  private async getJson(url: string, modelId: ModelId, what: string, apiKey: string | null): Promise<unknown> {
    const chunks: Uint8Array[] = [];
    await this.get(url, modelId, what, apiKey, { chunk: (chunk) => void chunks.push(chunk) });
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      this.log.error(`${modelId.id}: the ${what} from ${redactUrl(url)} is not JSON`);
      throw malformedResponseError();
    }
  }

  /** Streams a signed URL into the staged file `name`, refusing at once when its declared size does not fit the disk; returns its size. */
  private async getFile(url: string, staged: StagedPackage, name: string, modelId: ModelId, apiKey: string | null): Promise<number> {
    const file = await staged.open(name);
    let total = 0;
    let received = 0;
    let began = performance.now();
    let lastReport = began;
    const reportProgress = () => total === 0 || total >= LARGE_DOWNLOAD_BYTES;
    try {
      await this.get(url, modelId, name, apiKey, {
        start: async (length) => {
          total = length;
          began = lastReport = performance.now();
          if (length > 0) await staged.ensureRoom(length);
        },
        chunk: async (chunk) => {
          received += chunk.byteLength;
          await file.write(chunk);
          const now = performance.now();
          if (reportProgress() && now - lastReport >= PROGRESS_INTERVAL_MS) {
            lastReport = now;
            this.log.log(`downloading ${modelId.id} ${name}: ${mib(received)}${total ? ` of ${mib(total)} MiB (${Math.floor((100 * received) / total)}%)` : " MiB"}`);
          }
        },
      });
    } finally {
      await file.close();
    }
    if (reportProgress() && received >= LARGE_DOWNLOAD_BYTES) {
      this.log.log(`downloaded ${modelId.id} ${name}: ${mib(received)} MiB in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    }
    return received;
  }
}

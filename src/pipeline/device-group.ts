// Device group: every inference worker (each device's, see inference-lanes.ts), seen from the main thread as one device.
//
// Each worker holds its own ONNX Runtime sessions but all of them batch the same model arenas: a model is loaded
// on every device and its arena attached to every worker. Workers claim the slots of a batch by compare-and-swap
// (src/workers/slot-claim.ts), so whichever device is free takes the next batch and no slot runs twice.
import type { HttpError } from "../errors.ts";
import type { PixelEncoding } from "../models/input-encoding.ts";
import type { ArenaHandOver, BatchReport, InferenceInit } from "../workers/protocol.ts";
import { InferenceDevice, type DeviceEvents, type LoadedSession, type ProviderReport } from "./inference-device.ts";

/** What the model registry needs from the inference side, whether one device or several. */
export type ModelDevice = Pick<InferenceDevice, "ready" | "load" | "attach" | "unload" | "stop">;

/** Several devices' reports as one: each distinct provider in use (e.g. "cuda" or, where a device fell back, "cuda,cpu"), every distinct reason. */
function combineReports(reports: readonly ProviderReport[]): ProviderReport {
  return { activeProvider: [...new Set(reports.map((r) => r.activeProvider))].join(","), fallbacks: [...new Set(reports.flatMap((r) => r.fallbacks))] };
}

export class DeviceGroup implements ModelDevice {
  private readonly devices: InferenceDevice[];
  private readonly batches: number[];

  /** One inference worker per entry of `deviceIds`; they share `init.control` (doorbell and stop word). */
  constructor(init: Omit<InferenceInit, "deviceId">, deviceIds: readonly number[], events: DeviceEvents) {
    if (deviceIds.length === 0) throw new Error("a device group needs at least one device");
    this.batches = deviceIds.map(() => 0);
    this.devices = deviceIds.map(
      (deviceId, index) =>
        new InferenceDevice(
          { ...init, deviceId },
          {
            onInferred: (batch: BatchReport) => {
              this.batches[index]!++;
              events.onInferred(batch);
            },
            onBatchFailed: (instance: number, start: number, count: number, error: HttpError) => events.onBatchFailed(instance, start, count, error),
          },
        ),
    );
  }

  get size(): number {
    return this.devices.length;
  }

  /** Batches each worker has run so far, in the order of its device ids. */
  batchesPerDevice(): number[] {
    return [...this.batches];
  }

  /** Resolves once every worker has loaded ONNX Runtime (the same library, so the first answer stands for all). */
  async ready(): Promise<{ ortVersion: string; availableProviders: string[] }> {
    const [first] = await Promise.all(this.devices.map((device) => device.ready()));
    return first!;
  }

  /**
   * Loads the model on every device. If any device fails, the others unload it again and the load fails. The
   * session description is the first device's (every device loads the same file); the provider names each distinct
   * one in use, e.g. "cuda" or, where a device fell back, "cuda,cpu".
   */
  async load(instance: number, label: string, path: string, probeInput: { width: number; height: number }, pixelEncoding: PixelEncoding | null): Promise<LoadedSession> {
    const results = await Promise.allSettled(this.devices.map((device) => device.load(instance, label, path, probeInput, pixelEncoding)));
    const failure = results.find((result) => result.status === "rejected");
    if (failure) {
      results.forEach((result, i) => result.status === "fulfilled" && this.devices[i]!.unload(instance));
      throw failure.reason;
    }
    const loaded = results.map((result) => (result as PromiseFulfilledResult<LoadedSession>).value);
    return { session: loaded[0]!.session, ...combineReports(loaded) };
  }

  /** The provider the instance runs on across the devices (updated after each device's batch probe), once loaded everywhere. */
  provider(instance: number): ProviderReport | undefined {
    const reports = this.devices.map((device) => device.provider(instance));
    return reports.every((report) => report !== undefined) ? combineReports(reports as ProviderReport[]) : undefined;
  }

  attach(handOver: ArenaHandOver): void {
    for (const device of this.devices) device.attach(handOver);
  }

  unload(instance: number): void {
    for (const device of this.devices) device.unload(instance);
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((device) => device.stop()));
  }
}

// Inference lanes: how many inference workers run on each device, and how many intra-op threads each of their
// ONNX Runtime sessions uses.
//
// Every worker holds its own session of each model and batches the same arenas (see device-group.ts). On a GPU one
// worker per device keeps it busy. On the CPU, ONNX Runtime's intra-op threads split each operator of a small model
// and wait for each other after every one, while sessions on their own cores never wait (BENCHMARKS.md, "Inference
// lanes"). So on the CPU several workers ("lanes") share out the cores by default, each thread count named
// explicitly: ONNX Runtime's own default (0) was slower than the same count named.
//
// On a GPU the session's intra-op threads only run the few nodes left to the CPU (shape arithmetic), while ORT's default
// pool (one thread per core, spinning while idle) would compete with the vision workers for the cores: one thread,
// the caller's, runs them (and sessions on a GPU never spin: native-bindings/ort.ts). Which providers run at all is
// checked before planning (provider-check.ts): after a fallback to the CPU the lanes are planned as for a CPU.

/** Intra-op threads per session on a GPU by default: the calling thread alone, no pool. */
export const GPU_INTRA_OP_THREADS = 1;

/** Most lanes the CPU gets by default: beyond this, sessions multiply memory for little more throughput. */
export const MAX_AUTO_CPU_LANES = 4;

export interface LaneSettings {
  /** INFERENCE_WORKERS_PER_DEVICE; 0 chooses by device (auto). */
  workersPerDevice: number;
  /** ORT_INTRA_OP_THREADS; 0 lets this plan (or ONNX Runtime) choose. */
  intraOpThreads: number;
  /** The device ordinals: the GPUs that passed the provider check, else CUDA_DEVICES' first (the CPU runs as one device unless more are listed). */
  deviceIds: readonly number[];
  /** Cores this process may use. */
  cores: number;
  /** The GPU execution providers asked for (EXECUTION_PROVIDERS) that ran the provider check. */
  gpuProviders: readonly string[];
}

export interface LanePlan {
  /** Whether a GPU provider will be tried first; the CPU plan applies otherwise. */
  onGpu: boolean;
  /** One entry per inference worker: the device ordinal it runs on, each device's workers next to each other. */
  workerDeviceIds: number[];
  /** Intra-op threads per session (0: ONNX Runtime's default). */
  intraOpThreads: number;
}

/**
 * Arena slots per model when ARENA_SLOTS is not set. On GPUs every worker can run a full batch while the next one
 * fills, so (workers + 1) x MAX_BATCH_SIZE: two GPUs do not share the slots one would have. CPU lanes run the small
 * batches the probe allows, so one MAX_BATCH_SIZE of slots keeps them fed (at least four per lane): twice as many
 * served no more (BENCHMARKS.md, "Pixel inputs and arena slots") and only held more memory.
 */
export function plannedArenaSlots(plan: LanePlan, maxBatchSize: number): number {
  const workers = plan.workerDeviceIds.length;
  return plan.onGpu ? (workers + 1) * maxBatchSize : Math.max(maxBatchSize, 4 * workers);
}

export function planInferenceLanes(settings: LaneSettings): LanePlan {
  const onGpu = settings.gpuProviders.length > 0;
  const cores = Math.max(1, Math.floor(settings.cores));
  const perDevice = settings.workersPerDevice > 0 ? settings.workersPerDevice : onGpu ? 1 : Math.min(MAX_AUTO_CPU_LANES, cores);
  const workerDeviceIds = settings.deviceIds.flatMap((id) => Array.from({ length: perDevice }, () => id));
  // On the CPU each session gets its share of the cores: more threads than cores spin against each other.
  const intraOpThreads = settings.intraOpThreads > 0 ? settings.intraOpThreads : onGpu ? GPU_INTRA_OP_THREADS : Math.max(1, Math.floor(cores / workerDeviceIds.length));
  return { onGpu, workerDeviceIds, intraOpThreads };
}

/** The plan in words, for the start-up line: e.g. "2 inference workers on the CPU, 1 intra-op thread each". */
export function describeLanes(plan: LanePlan): string {
  const workers = plan.workerDeviceIds.length;
  const where = plan.onGpu ? `GPU ${[...new Set(plan.workerDeviceIds)].join(",")}` : "the CPU";
  const threads = plan.intraOpThreads > 0 ? `${plan.intraOpThreads} intra-op thread${plan.intraOpThreads === 1 ? "" : "s"} each` : "ONNX Runtime's default intra-op threads";
  return `${workers} inference worker${workers === 1 ? "" : "s"} on ${where}, ${threads}`;
}

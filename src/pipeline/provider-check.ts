// Start-up check of the GPU execution providers: do they start and run a convolution on each listed GPU?
//
// The inference lanes are planned before any model loads (inference-lanes.ts), and a GPU plan on a machine whose GPU
// provider cannot run would leave the CPU with one single-threaded worker. So before planning, a tiny convolution
// (which needs cuDNN, loaded lazily by the CUDA provider) is opened and run on every GPU in CUDA_DEVICES with the GPU
// providers asked for, falling back as the session loaders would (provider-fallback.ts). GPUs where none runs are left
// out; when none is left, the server is planned as for the CPU and told why (README "Docker and GPUs").
import { installedGpuProviders, OrtRuntime, type CudnnConvAlgoSearch, type GpuProvider } from "../../native-bindings/ort.ts";
import { ProtoWriter } from "../models/onnx/protobuf.ts";
import { openRunnableSession, providerLabel } from "../workers/provider-fallback.ts";

/** One GPU's result: the GPU provider that ran the check (null: none did) and why the ones before it did not. */
export interface DeviceCheck {
  deviceId: number;
  provider: string | null;
  fallbacks: string[];
}

export interface ProviderCheck {
  /** The providers the inference workers are given, in order of preference: from the best one that ran onwards. */
  providers: string[];
  /** The devices to plan lanes on: the GPUs where a GPU provider ran or, planned as for the CPU, the first listed. */
  deviceIds: number[];
  /** Why a preferred provider does not run, e.g. "GPU 0: CUDA: <ORT's message>". */
  fallbacks: string[];
}

const GPU_PROVIDERS: readonly string[] = ["tensorrt", "cuda"] satisfies GpuProvider[];

/** The GPU providers that would be tried before the CPU, in order (none when "cpu" comes first). */
export function gpuProvidersAhead(requested: readonly string[]): string[] {
  const cpu = requested.indexOf("cpu");
  return (cpu < 0 ? requested : requested.slice(0, cpu)).filter((provider) => GPU_PROVIDERS.includes(provider));
}

/**
 * What the check's results mean for the workers: the GPUs where a GPU provider ran, given the requested providers
 * from the best of those onwards; or, when none ran anywhere, the CPU alone (if it was asked for). `notInstalled`
 * says why GPU providers asked for were not even tried.
 */
export function resolveProviderCheck(
  requested: readonly string[],
  deviceIds: readonly number[],
  results: readonly DeviceCheck[],
  notInstalled: readonly string[] = [],
): ProviderCheck {
  if (gpuProvidersAhead(requested).length === 0) return { providers: [...requested], deviceIds: [...deviceIds], fallbacks: [] };
  const fallbacks = [...notInstalled, ...results.flatMap((result) => result.fallbacks.map((reason) => `GPU ${result.deviceId}: ${reason}`))];
  const ran = results.filter((result) => result.provider !== null);
  if (ran.length > 0) {
    const best = Math.min(...ran.map((result) => requested.indexOf(result.provider!)));
    return { providers: requested.slice(best), deviceIds: ran.map((result) => result.deviceId), fallbacks };
  }
  if (!requested.includes("cpu")) {
    throw new Error(`EXECUTION_PROVIDERS=${requested.join(",")}: none of them runs here and cpu is not listed: ${fallbacks.join("; ")}`);
  }
  return { providers: ["cpu"], deviceIds: deviceIds.slice(0, 1), fallbacks };
}

const FLOAT = 1;
export const CHECK_INPUT_SHAPE = [1, 3, 8, 8];
export const CHECK_OUTPUT_SHAPE = [1, 4, 6, 6];

/**
 * The check's model, as ONNX bytes: y = Conv(x[1,3,8,8], w[4,3,3,3]) with every weight 1/27, so an input of ones gives
 * ones. Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 */
export function providerCheckModel(): Uint8Array {
  const valueInfo = (name: string, dims: number[]) => {
    const shape = new ProtoWriter();
    for (const dim of dims) shape.message(1, new ProtoWriter().varint(1, dim));
    return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, new ProtoWriter().varint(1, FLOAT).message(2, shape)));
  };
  const weightDims = [4, 3, 3, 3];
  const weights = new Float32Array(weightDims.reduce((a, b) => a * b, 1)).fill(1 / 27);
  const graph = new ProtoWriter()
    .message(1, new ProtoWriter().string(1, "x").string(1, "w").string(2, "y").string(4, "Conv"))
    .string(2, "provider-check")
    .message(5, new ProtoWriter().packedVarints(1, weightDims).varint(2, FLOAT).string(8, "w").bytes(9, new Uint8Array(weights.buffer)))
    .message(11, valueInfo("x", CHECK_INPUT_SHAPE))
    .message(12, valueInfo("y", CHECK_OUTPUT_SHAPE));
  return new ProtoWriter().varint(1, 8).string(2, "bun-inference-server").message(7, graph).message(8, new ProtoWriter().varint(2, 17)).finish();
}

/**
 * Opens and runs the check model on one GPU with the GPU providers in order, then the CPU: a CPU session means that
 * no GPU provider ran, and its fallbacks say why (ORT's messages, also logged as each provider gives way).
 */
function checkDevice(runtime: OrtRuntime, providers: readonly string[], deviceId: number, cudnnConvAlgoSearch: CudnnConvAlgoSearch): DeviceCheck {
  const model = { name: `the GPU provider check model on GPU ${deviceId}`, bytes: providerCheckModel() };
  const input = new Float32Array(CHECK_INPUT_SHAPE.reduce((a, b) => a * b, 1)).fill(1);
  try {
    const { session, fallbacks } = openRunnableSession(
      [...providers, "cpu"],
      (list) => runtime.createSession(model, { executionProviders: list, deviceId, intraOpThreads: 1, cudnnConvAlgoSearch, tensorrt: {} }),
      (session) => void session.runAllocating([{ name: "x", data: input, shape: CHECK_INPUT_SHAPE }]),
      (reason, next) => console.warn(`GPU ${deviceId}: ${reason}; trying ${providerLabel(next)}`),
    );
    session.release();
    return { deviceId, provider: session.activeProvider === "cpu" ? null : session.activeProvider, fallbacks };
  } catch (error) {
    return { deviceId, provider: null, fallbacks: [(error as Error).message] };
  }
}

/** Checks already made in this process, by their arguments. */
const checks = new Map<string, ProviderCheck>();
/**
 * The runtime the checks ran on. Never released: releasing ORT's last env unloads the GPU provider libraries, and
 * loading them again in the same process (for the inference workers) is not something to rely on.
 */
let checkRuntime: OrtRuntime | undefined;

/**
 * Which of `requested` run on which of `deviceIds` with the ONNX Runtime at `libraryPath`, checked once per process.
 * Only the GPU providers listed before "cpu" are tried, and only those whose library is installed: nothing is loaded
 * when there are none.
 */
export function checkExecutionProviders(libraryPath: string, requested: readonly string[], deviceIds: readonly number[], cudnnConvAlgoSearch: CudnnConvAlgoSearch): ProviderCheck {
  const key = JSON.stringify([libraryPath, requested, deviceIds, cudnnConvAlgoSearch]);
  const known = checks.get(key);
  if (known) return known;
  const installed: string[] = installedGpuProviders(libraryPath);
  const ahead = gpuProvidersAhead(requested);
  const tried = ahead.filter((provider) => installed.includes(provider));
  const notInstalled = ahead
    .filter((provider) => !installed.includes(provider))
    .map((provider) => `${providerLabel(provider)}: no provider library beside ${libraryPath} (bun run setup:gpu installs it)`);
  let results: DeviceCheck[] = [];
  if (tried.length > 0) {
    checkRuntime ??= OrtRuntime.load(libraryPath);
    const runtime = checkRuntime;
    results = deviceIds.map((deviceId) => checkDevice(runtime, tried, deviceId, cudnnConvAlgoSearch));
  }
  const check = resolveProviderCheck(requested, deviceIds, results, notInstalled);
  checks.set(key, check);
  return check;
}

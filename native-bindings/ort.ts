// ONNX Runtime through its C API over bun:ffi: runtime (library + OrtEnv), sessions, zero-copy runs. The only file that knows ORT's C API.
//
// Public surface:
//   OrtRuntime.load(libPath?)          one per thread: loads the library (file or folder), creates the OrtEnv (logging level warning)
//     .version                         ORT's version string, e.g. "1.29.0"
//     .libraryPath                     the library that was loaded
//     .availableProviders()            GetAvailableProviders, e.g. ["CPUExecutionProvider"]
//     .createSession(model, options?)  an OrtSession from a file path or { name, bytes }; executionProviders default ["cuda", "cpu"],
//                                      each GPU provider that cannot start falling back to the next
//     .adoptSession(handle, provider)  takes over a session another thread's runtime created and detached
//     .release()                       releases still-open sessions, then the env; idempotent
//   OrtSession
//     .inputs / .outputs               TensorInfo: name, elementType, shape (symbolic dims by name, "?" if unnamed)
//     .activeProvider                  "tensorrt" | "cuda" | "cpu": the preferred execution provider actually appended
//     .fallbacks                       why each provider preferred to it did not start ("CUDA: <ORT's message>")
//     .metadata                        the model's custom metadata map (Ultralytics keeps names/imgsz/task there)
//     .run(inputs, outputs)            zero-copy: ORT reads and writes the caller's typed arrays in place
//     .runAllocating(inputs)           ORT allocates the outputs; returns copies with their concrete shapes
//     .detach()                        gives up the session unreleased: its handle, for another thread's runtime to adopt
//     .release()                       idempotent
//   OrtError                           every non-null OrtStatus*, with ORT's own message and error code
//   installedGpuProviders(libPath)     the GPU providers whose library sits next to libonnxruntime (no library loaded)
//   cudaProviderOptions, tensorRtProviderOptions   the provider option maps our settings become
//
// Typed arrays per element type: float32 Float32Array, float64 Float64Array, int8 Int8Array, uint8 and bool Uint8Array,
// int16 Int16Array, uint16/float16/bfloat16 Uint16Array (raw bits), int32 Int32Array, uint32 Uint32Array,
// int64 BigInt64Array, uint64 BigUint64Array.
import { CString, FFIType, dlopen, linkSymbols, ptr, read, toArrayBuffer, type ConvertFns, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { locateOrtLibrary } from "./locate.ts";
import { ORT_API_VERSION, OrtApiSlot, type OrtApiMember } from "./ort-api.ts";

/** ONNX tensor element types, indexed by their ONNXTensorElementDataType code. */
const ELEMENT_TYPES = [
  "undefined",
  "float32",
  "uint8",
  "int8",
  "uint16",
  "int16",
  "int32",
  "int64",
  "string",
  "bool",
  "float16",
  "float64",
  "uint32",
  "uint64",
  "complex64",
  "complex128",
  "bfloat16",
  "float8e4m3fn",
  "float8e4m3fnuz",
  "float8e5m2",
  "float8e5m2fnuz",
  "uint4",
  "int4",
  "float4e2m1",
  "uint2",
  "int2",
  "float8e8m0",
] as const;

export type ElementType = (typeof ELEMENT_TYPES)[number];

export type TensorArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

type TensorArrayConstructor = { new (length: number): TensorArray; readonly name: string };

/** The typed array that holds each element type the zero-copy path supports. */
const ARRAY_FOR_ELEMENT_TYPE: Partial<Record<ElementType, TensorArrayConstructor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

export interface TensorInfo {
  name: string;
  elementType: ElementType;
  /** Fixed sizes as numbers; dynamic dims as their symbolic name, or "?" when the model leaves them unnamed. */
  shape: (number | string)[];
}

export type ExecutionProvider = "tensorrt" | "cuda" | "cpu";
export type GpuProvider = Exclude<ExecutionProvider, "cpu">;

const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ["tensorrt", "cuda", "cpu"];

/** Each GPU provider is a shared library that ONNX Runtime loads from the folder holding libonnxruntime. */
const PROVIDER_LIBRARIES: Record<GpuProvider, string> = {
  tensorrt: "libonnxruntime_providers_tensorrt.so",
  cuda: "libonnxruntime_providers_cuda.so",
};

const PROVIDER_LABELS: Record<ExecutionProvider, string> = { tensorrt: "TensorRT", cuda: "CUDA", cpu: "CPU" };

/** ORT's names for the GPU providers, as GetAvailableProviders lists those a build of libonnxruntime can host. */
const ORT_PROVIDER_NAMES: Record<GpuProvider, string> = { tensorrt: "TensorrtExecutionProvider", cuda: "CUDAExecutionProvider" };

/**
 * How cuDNN picks convolution algorithms (ORT's cudnn_conv_algo_search). EXHAUSTIVE times every algorithm for each new
 * input shape, on the thread running the batch, so every new batch size stalls the GPU's models; HEURISTIC asks
 * cuDNN's heuristics and times nothing; DEFAULT takes the first algorithm.
 */
export type CudnnConvAlgoSearch = "EXHAUSTIVE" | "HEURISTIC" | "DEFAULT";

export const CUDNN_CONV_ALGO_SEARCHES: readonly CudnnConvAlgoSearch[] = ["EXHAUSTIVE", "HEURISTIC", "DEFAULT"];

/** TensorRT execution provider settings (ORT's trt_* provider options). */
export interface TensorRtOptions {
  /** Folder where built engines (and the timing cache) are kept across restarts; unset = every start rebuilds them. */
  engineCachePath?: string;
  /** Lets TensorRT pick float16 kernels (faster; outputs differ slightly from float32). */
  fp16?: boolean;
  /**
   * One optimisation profile per dynamic input (shapes by input name). Without it TensorRT builds an engine
   * for the first shape it sees and rebuilds whenever a batch falls outside the shapes seen so far.
   */
  profile?: { min: Record<string, number[]>; opt: Record<string, number[]>; max: Record<string, number[]> };
}

export interface SessionOptions {
  intraOpThreads?: number;
  interOpThreads?: number;
  /**
   * In order of preference; default ["cuda", "cpu"]. A GPU provider is backed by the GPU providers listed after it
   * (ORT gives them the nodes it cannot run); when it cannot start, the next one is tried. Without "cpu", a session
   * no GPU provider can serve is an error instead of a CPU fallback.
   */
  executionProviders?: readonly string[];
  /** GPU ordinal (CUDA and TensorRT); default 0. */
  deviceId?: number;
  /** Default "HEURISTIC". */
  cudnnConvAlgoSearch?: CudnnConvAlgoSearch;
  tensorrt?: TensorRtOptions;
  /**
   * Whether idle intra-op threads spin waiting for work. Default: yes on the CPU (ORT's default), no when a GPU
   * provider is appended: there the few CPU nodes do not pay for cores spun away from the vision workers.
   */
  spinning?: boolean;
  /** Default "all" (ORT_ENABLE_ALL). */
  graphOptimization?: "all" | "extended" | "basic" | "disabled";
}

/** A model to open: a file path, or the model's bytes with a name for messages. */
export type ModelSource = string | { name: string; bytes: Uint8Array };

/** A caller-owned tensor: `data` must be the typed array for the declared element type and hold exactly prod(shape) elements. */
export interface BoundTensor {
  name: string;
  data: TensorArray;
  shape: number[];
}

/** A tensor ORT allocated, copied out into JS memory. */
export interface OutputTensor {
  name: string;
  elementType: ElementType;
  shape: number[];
  data: TensorArray;
}

/** An OrtStatus turned into an exception: ORT's message, its OrtErrorCode and the API function that returned it. */
export class OrtError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly apiFunction: string,
  ) {
    super(message);
    this.name = "OrtError";
  }
}

const { ptr: P, i32, u32, u64, void: VOID, cstring } = FFIType;

/** Argument types of the OrtApi functions that return OrtStatus* (NULL on success). */
const STATUS_FUNCTIONS = {
  CreateEnv: [i32, P, P],
  GetAllocatorWithDefaultOptions: [P],
  AllocatorFree: [P, P],
  CreateCpuMemoryInfo: [i32, i32, P],
  GetAvailableProviders: [P, P],
  ReleaseAvailableProviders: [P, i32],
  CreateSessionOptions: [P],
  SetSessionGraphOptimizationLevel: [P, i32],
  SetIntraOpNumThreads: [P, i32],
  SetInterOpNumThreads: [P, i32],
  AddSessionConfigEntry: [P, P, P],
  CreateCUDAProviderOptions: [P],
  UpdateCUDAProviderOptions: [P, P, P, u64],
  SessionOptionsAppendExecutionProvider_CUDA_V2: [P, P],
  CreateTensorRTProviderOptions: [P],
  UpdateTensorRTProviderOptions: [P, P, P, u64],
  SessionOptionsAppendExecutionProvider_TensorRT_V2: [P, P],
  CreateSession: [P, P, P, P],
  CreateSessionFromArray: [P, P, u64, P, P],
  SessionGetInputCount: [P, P],
  SessionGetOutputCount: [P, P],
  SessionGetInputName: [P, u64, P, P],
  SessionGetOutputName: [P, u64, P, P],
  SessionGetInputTypeInfo: [P, u64, P],
  SessionGetOutputTypeInfo: [P, u64, P],
  CastTypeInfoToTensorInfo: [P, P],
  GetTensorElementType: [P, P],
  GetDimensionsCount: [P, P],
  GetDimensions: [P, P, u64],
  GetSymbolicDimensions: [P, P, u64],
  SessionGetModelMetadata: [P, P],
  ModelMetadataGetCustomMetadataMapKeys: [P, P, P, P],
  ModelMetadataLookupCustomMetadataMap: [P, P, P, P],
  CreateTensorWithDataAsOrtValue: [P, P, u64, P, u64, i32, P],
  Run: [P, P, P, P, u64, P, u64, P],
  GetTensorTypeAndShape: [P, P],
  GetTensorMutableData: [P, P],
} as const satisfies Partial<Record<OrtApiMember, readonly FFIType[]>>;

/** The OrtApi functions that report no status: error inspection and the Release* family. */
const PLAIN_FUNCTIONS = {
  GetErrorCode: { args: [P], returns: i32 },
  GetErrorMessage: { args: [P], returns: cstring },
  ReleaseStatus: { args: [P], returns: VOID },
  ReleaseEnv: { args: [P], returns: VOID },
  ReleaseMemoryInfo: { args: [P], returns: VOID },
  ReleaseSessionOptions: { args: [P], returns: VOID },
  ReleaseCUDAProviderOptions: { args: [P], returns: VOID },
  ReleaseTensorRTProviderOptions: { args: [P], returns: VOID },
  ReleaseSession: { args: [P], returns: VOID },
  ReleaseTypeInfo: { args: [P], returns: VOID },
  ReleaseTensorTypeAndShapeInfo: { args: [P], returns: VOID },
  ReleaseModelMetadata: { args: [P], returns: VOID },
  ReleaseValue: { args: [P], returns: VOID },
} as const satisfies Partial<Record<OrtApiMember, { args: readonly FFIType[]; returns: FFIType }>>;

type StatusSymbols = { [K in keyof typeof STATUS_FUNCTIONS]: { args: (typeof STATUS_FUNCTIONS)[K]; returns: typeof P } };
type PlainFunctions = ConvertFns<typeof PLAIN_FUNCTIONS>;
/** Status functions as callers see them: they return nothing and throw OrtError instead of returning a status. */
type CheckedFunctions = { [K in keyof StatusSymbols]: (...args: Parameters<ConvertFns<StatusSymbols>[K]>) => void };
type OrtFunctions = CheckedFunctions & PlainFunctions;

const OrtLoggingLevelWarning = 2;
const OrtArenaAllocator = 1;
const OrtMemTypeDefault = 0;
const GRAPH_OPTIMIZATION_LEVELS = { disabled: 0, basic: 1, extended: 2, all: 99 } as const;

const POINTER_SIZE = 8;

/** A NUL-terminated UTF-8 copy of `text` for C; the caller keeps it referenced until C is done with it. */
function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf8");
}

/** A C array of pointers to the given buffers (const char* const*, const OrtValue* const*). */
function pointerArray(pointers: readonly (Pointer | number)[]): BigUint64Array {
  return BigUint64Array.from(pointers, (pointer) => BigInt(pointer));
}

/** Calls `call` with the address of a zeroed 8-byte out-parameter and returns the pointer C stored there (null for NULL). */
function outPointer(call: (out: Pointer) => void): Pointer | null {
  const slot = new BigUint64Array(1);
  call(ptr(slot));
  return slot[0] === 0n ? null : (read.ptr(ptr(slot), 0) as Pointer);
}

/** Like outPointer, for out-parameters whose NULL would be an ORT bug rather than an answer. */
function outHandle(what: string, call: (out: Pointer) => void): Pointer {
  const handle = outPointer(call);
  if (handle === null) throw new Error(`ONNX Runtime returned no ${what}`);
  return handle;
}

/** Calls `call` with the address of an integer out-parameter (size_t, int64_t, int, enum) and returns its value. */
function outInteger(call: (out: Pointer) => void): number {
  const slot = new BigInt64Array(1);
  call(ptr(slot));
  return Number(slot[0]);
}

function outInt32(call: (out: Pointer) => void): number {
  const slot = new Int32Array(1);
  call(ptr(slot));
  return slot[0]!;
}

function elementTypeOf(code: number): ElementType {
  const type = ELEMENT_TYPES[code];
  if (type === undefined) throw new Error(`unknown ONNX tensor element type code ${code}`);
  return type;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** Validates a preference list of execution providers ("tensorrt", "cuda", "cpu"). */
export function parseExecutionProviders(providers: readonly string[]): ExecutionProvider[] {
  const unknown = providers.filter((provider) => !EXECUTION_PROVIDERS.includes(provider as ExecutionProvider));
  if (unknown.length > 0 || providers.length === 0) {
    throw new Error(`executionProviders must list some of ${EXECUTION_PROVIDERS.join(", ")}, got [${providers.join(", ")}]`);
  }
  return providers as ExecutionProvider[];
}

/** The library file of a GPU provider, in the folder that holds libonnxruntime at `libraryPath`. */
function providerLibraryPath(libraryPath: string, provider: GpuProvider): string {
  return join(dirname(libraryPath), PROVIDER_LIBRARIES[provider]);
}

/**
 * The GPU providers ONNX Runtime at `libraryPath` can try: those whose provider library is installed beside it. A
 * file check that loads nothing: whether a GPU is present is only known once a session starts on it.
 */
export function installedGpuProviders(libraryPath: string): GpuProvider[] {
  return (Object.keys(PROVIDER_LIBRARIES) as GpuProvider[]).filter((provider) => existsSync(providerLibraryPath(libraryPath, provider)));
}

/** The CUDA provider options (key -> value, as UpdateCUDAProviderOptions takes them) for a device and algorithm search. */
export function cudaProviderOptions(deviceId: number, convAlgoSearch: CudnnConvAlgoSearch = "HEURISTIC"): Record<string, string> {
  return { device_id: String(deviceId), cudnn_conv_algo_search: convAlgoSearch };
}

/** Session config entries (ORT's session.* keys) for a session with or without threads that may spin. */
export function sessionConfigEntries(spinning: boolean): Record<string, string> {
  return spinning ? {} : { "session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0" };
}

/** `name:1x3x640x640,other:…`, the shape syntax of ORT's trt_profile_*_shapes options. */
function profileShapes(shapes: Record<string, number[]>): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${name}:${dims.join("x")}`)
    .join(",");
}

/** The TensorRT provider options (key -> value, as UpdateTensorRTProviderOptions takes them) for these settings. */
export function tensorRtProviderOptions(deviceId: number, settings: TensorRtOptions): Record<string, string> {
  const options: Record<string, string> = { device_id: String(deviceId), trt_fp16_enable: settings.fp16 ? "1" : "0" };
  if (settings.engineCachePath) {
    options.trt_engine_cache_enable = "1";
    options.trt_engine_cache_path = settings.engineCachePath;
    // The timing cache makes rebuilding an engine for a new shape or GPU much faster; it lives beside the engines.
    options.trt_timing_cache_enable = "1";
    options.trt_timing_cache_path = settings.engineCachePath;
  }
  if (settings.profile) {
    options.trt_profile_min_shapes = profileShapes(settings.profile.min);
    options.trt_profile_opt_shapes = profileShapes(settings.profile.opt);
    options.trt_profile_max_shapes = profileShapes(settings.profile.max);
  }
  return options;
}

/** Provider options as the two parallel C string arrays ORT's Update*ProviderOptions take; keep the result referenced during the call. */
function optionArrays(options: Record<string, string>) {
  const toArray = (texts: string[]) => {
    const buffers = texts.map(cString);
    return { buffers, pointers: pointerArray(buffers.map((buffer) => ptr(buffer))), count: texts.length };
  };
  return { keys: toArray(Object.keys(options)), values: toArray(Object.values(options)) };
}

/** Binds the OrtApi function table: status functions are wrapped so that a non-null OrtStatus* throws OrtError. */
function bindOrtApi(api: Pointer): { functions: OrtFunctions; close(): void } {
  const slotAddress = (member: OrtApiMember) => read.ptr(api, OrtApiSlot[member] * POINTER_SIZE);
  const statusEntries = Object.entries(STATUS_FUNCTIONS).map(([name, args]) => [name, { args, returns: P, ptr: slotAddress(name as OrtApiMember) }]);
  const plainEntries = Object.entries(PLAIN_FUNCTIONS).map(([name, signature]) => [name, { ...signature, ptr: slotAddress(name as OrtApiMember) }]);
  const statusLibrary = linkSymbols(Object.fromEntries(statusEntries) as StatusSymbols);
  const plainLibrary = linkSymbols(Object.fromEntries(plainEntries) as typeof PLAIN_FUNCTIONS);
  const plain = plainLibrary.symbols;

  const throwIfError = (apiFunction: string, status: Pointer | bigint | null) => {
    if (status === null) return;
    const statusPointer = status as Pointer;
    try {
      // ORT ends some messages with a newline.
      const message = (plain.GetErrorMessage(statusPointer) ?? "(no message)").trimEnd();
      throw new OrtError(message, plain.GetErrorCode(statusPointer), apiFunction);
    } finally {
      plain.ReleaseStatus(statusPointer);
    }
  };
  const checked = Object.fromEntries(
    Object.entries(statusLibrary.symbols).map(([name, fn]) => [name, (...args: unknown[]) => throwIfError(name, (fn as (...a: unknown[]) => Pointer | null)(...args))]),
  ) as CheckedFunctions;

  return {
    functions: { ...checked, ...plain },
    close() {
      statusLibrary.close();
      plainLibrary.close();
    },
  };
}

/** Loaded ONNX Runtime: the bound API, the OrtEnv, and what every session shares. Create one per thread. */
export class OrtRuntime {
  readonly version: string;
  private readonly ort: OrtFunctions;
  private readonly closeBindings: () => void;
  private readonly closeLibrary: () => void;
  private readonly env: Pointer;
  private readonly allocator: Pointer;
  private readonly cpuMemoryInfo: Pointer;
  private readonly openSessions = new Set<OrtSession>();
  private released = false;

  private constructor(readonly libraryPath: string) {
    const library = dlopen(libraryPath, { OrtGetApiBase: { args: [], returns: P } });
    this.closeLibrary = () => library.close();
    try {
      const apiBase = library.symbols.OrtGetApiBase();
      if (apiBase === null) throw new Error(`OrtGetApiBase returned NULL in ${libraryPath}`);
      // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
      const baseFunctions = linkSymbols({
        GetApi: { args: [u32], returns: P, ptr: read.ptr(apiBase, 0) as Pointer },
        GetVersionString: { args: [], returns: cstring, ptr: read.ptr(apiBase, POINTER_SIZE) as Pointer },
      } as const);
      const api = baseFunctions.symbols.GetApi(ORT_API_VERSION);
      this.version = baseFunctions.symbols.GetVersionString() ?? "unknown";
      baseFunctions.close();
      if (api === null) {
        throw new Error(`${libraryPath} (ONNX Runtime ${this.version}) does not provide ORT_API_VERSION ${ORT_API_VERSION}`);
      }
      const bindings = bindOrtApi(api as Pointer);
      this.ort = bindings.functions;
      this.closeBindings = bindings.close;
    } catch (error) {
      library.close();
      throw error;
    }

    const ort = this.ort;
    const logId = cString("bun-inference-server");
    this.env = outHandle("OrtEnv", (out) => ort.CreateEnv(OrtLoggingLevelWarning, logId, out));
    try {
      // The default allocator is owned by ORT and never released; it frees the strings ORT hands us.
      this.allocator = outHandle("allocator", (out) => ort.GetAllocatorWithDefaultOptions(out));
      this.cpuMemoryInfo = outHandle("memory info", (out) => ort.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, out));
    } catch (error) {
      ort.ReleaseEnv(this.env);
      this.closeBindings();
      this.closeLibrary();
      throw error;
    }
  }

  /**
   * Loads ONNX Runtime from `libPath`: the library file or its folder, as ORT_LIB_PATH may be; by default wherever
   * locateOrtLibrary() finds it (ORT_LIB_PATH, else the GPU runtime setup:gpu installed, else the npm package's).
   */
  static load(libPath?: string): OrtRuntime {
    return new OrtRuntime(locateOrtLibrary(libPath));
  }

  /** Execution providers compiled into this build, e.g. ["CPUExecutionProvider"]. */
  availableProviders(): string[] {
    this.assertOpen();
    const ort = this.ort;
    const count = new Int32Array(1);
    const list = outPointer((out) => ort.GetAvailableProviders(out, ptr(count)));
    if (list === null) return [];
    try {
      return Array.from({ length: count[0]! }, (_, i) => new CString(read.ptr(list, i * POINTER_SIZE) as Pointer));
    } finally {
      ort.ReleaseAvailableProviders(list, count[0]!);
    }
  }

  /**
   * Opens a model on the first execution provider in `executionProviders` that starts. A GPU provider is tried when
   * its provider library sits next to libonnxruntime; if appending it or creating the session fails (a CPU-only
   * build, a library that cannot load, no such GPU), a warning with ORT's message is logged, the reason is kept in
   * the session's `fallbacks`, and the next provider is tried. A provider that starts may still fail at the first
   * run (cuDNN, cuFFT and NVRTC load lazily): that is for the caller to try (src/workers/provider-fallback.ts).
   */
  createSession(model: ModelSource, options: SessionOptions = {}): OrtSession {
    this.assertOpen();
    const providers = parseExecutionProviders(options.executionProviders ?? ["cuda", "cpu"]);
    const name = typeof model === "string" ? model : model.name;
    const failures: string[] = [];
    for (const [index, provider] of providers.entries()) {
      if (provider === "cpu") return this.openSession(model, options, provider, [], failures);
      const missing = this.missingProviderLibrary(provider);
      if (missing !== null) {
        failures.push(`${PROVIDER_LABELS[provider]}: ${missing}`);
        continue;
      }
      // GPU providers listed after this one take the nodes it cannot run (TensorRT backed by CUDA).
      const backups = providers.slice(index + 1).filter((p): p is GpuProvider => p !== "cpu" && this.missingProviderLibrary(p) === null);
      try {
        return this.openSession(model, options, provider, [provider, ...backups], failures);
      } catch (error) {
        const message = (error as Error).message;
        failures.push(`${PROVIDER_LABELS[provider]}: ${message}`);
        const next = providers[index + 1];
        if (next) console.warn(`${PROVIDER_LABELS[provider]} execution provider failed for ${name}; trying ${PROVIDER_LABELS[next]}: ${message}`);
      }
    }
    const requested = providers.map((p) => PROVIDER_LABELS[p]).join(", ");
    throw new Error(`${requested} execution provider requested for ${name} but unavailable: ${failures.join("; ")}`);
  }

  /**
   * Takes ownership of a session that another thread's runtime of this process created and detached (see
   * OrtSession.detach): both runtimes bind the same library and share ORT's process-wide env, so the handle is valid
   * here. Lets one thread pay for session creation while another keeps running batches.
   */
  adoptSession(handle: Pointer, activeProvider: ExecutionProvider): OrtSession {
    this.assertOpen();
    const session = OrtSession.open(this.sessionContext(), handle, activeProvider, []);
    this.openSessions.add(session);
    return session;
  }

  /** Releases sessions still open, the memory info and the env; later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const session of this.openSessions) session.release();
    this.ort.ReleaseMemoryInfo(this.cpuMemoryInfo);
    this.ort.ReleaseEnv(this.env);
    this.closeBindings();
    this.closeLibrary();
  }

  /** Refuses use after release: the bound function pointers would dangle. */
  private assertOpen(): void {
    if (this.released) throw new Error("OrtRuntime used after release()");
  }

  /** Why a GPU provider cannot be tried (its provider library is not installed), or null when it can. */
  private missingProviderLibrary(provider: GpuProvider): string | null {
    const library = providerLibraryPath(this.libraryPath, provider);
    return existsSync(library) ? null : `${library} does not exist (bun run setup:gpu installs it)`;
  }

  /** Creates a session with `gpuProviders` appended in order; `reported` is the provider it is reported under. */
  private openSession(model: ModelSource, options: SessionOptions, reported: ExecutionProvider, gpuProviders: readonly GpuProvider[], fallbacks: readonly string[]): OrtSession {
    const ort = this.ort;
    const sessionOptions = outHandle("session options", (out) => ort.CreateSessionOptions(out));
    try {
      ort.SetSessionGraphOptimizationLevel(sessionOptions, GRAPH_OPTIMIZATION_LEVELS[options.graphOptimization ?? "all"]);
      if (options.intraOpThreads !== undefined) ort.SetIntraOpNumThreads(sessionOptions, options.intraOpThreads);
      if (options.interOpThreads !== undefined) ort.SetInterOpNumThreads(sessionOptions, options.interOpThreads);
      for (const [key, value] of Object.entries(sessionConfigEntries(options.spinning ?? gpuProviders.length === 0))) {
        ort.AddSessionConfigEntry(sessionOptions, cString(key), cString(value));
      }
      const deviceId = options.deviceId ?? 0;
      for (const provider of gpuProviders) {
        this.assertBuiltWith(provider);
        if (provider === "tensorrt") this.appendTensorRt(sessionOptions, tensorRtProviderOptions(deviceId, options.tensorrt ?? {}));
        else this.appendCuda(sessionOptions, cudaProviderOptions(deviceId, options.cudnnConvAlgoSearch));
      }
      const handle = outHandle("session", (out) => {
        if (typeof model === "string") ort.CreateSession(this.env, cString(model), sessionOptions, out);
        else ort.CreateSessionFromArray(this.env, ptr(model.bytes), model.bytes.byteLength, sessionOptions, out);
      });
      const session = OrtSession.open(this.sessionContext(), handle, reported, [...fallbacks]);
      this.openSessions.add(session);
      return session;
    } finally {
      // The session keeps its own copy of the options.
      ort.ReleaseSessionOptions(sessionOptions);
    }
  }

  /**
   * Refuses a GPU provider this libonnxruntime was built without. The npm package's Linux library is such a CPU-only
   * build: its provider-host interface lacks what the GPU providers' kernels call back into, so their libraries must
   * never be loaded into it (README "Docker and GPUs").
   */
  private assertBuiltWith(provider: GpuProvider): void {
    const available = this.availableProviders();
    if (available.includes(ORT_PROVIDER_NAMES[provider])) return;
    throw new Error(
      `${this.libraryPath} (ONNX Runtime ${this.version}) is built without ${PROVIDER_LABELS[provider]} (it lists ${available.join(", ")}); ` +
        `bun run setup:gpu installs a GPU build, used by default or through ORT_LIB_PATH`,
    );
  }

  private appendCuda(sessionOptions: Pointer, settings: Record<string, string>): void {
    const ort = this.ort;
    const cudaOptions = outHandle("CUDA provider options", (out) => ort.CreateCUDAProviderOptions(out));
    try {
      const { keys, values } = optionArrays(settings);
      ort.UpdateCUDAProviderOptions(cudaOptions, keys.pointers, values.pointers, keys.count);
      ort.SessionOptionsAppendExecutionProvider_CUDA_V2(sessionOptions, cudaOptions);
    } finally {
      // Appending copies the options into the provider factory.
      ort.ReleaseCUDAProviderOptions(cudaOptions);
    }
  }

  private appendTensorRt(sessionOptions: Pointer, settings: Record<string, string>): void {
    const ort = this.ort;
    const trtOptions = outHandle("TensorRT provider options", (out) => ort.CreateTensorRTProviderOptions(out));
    try {
      const { keys, values } = optionArrays(settings);
      ort.UpdateTensorRTProviderOptions(trtOptions, keys.pointers, values.pointers, keys.count);
      ort.SessionOptionsAppendExecutionProvider_TensorRT_V2(sessionOptions, trtOptions);
    } finally {
      ort.ReleaseTensorRTProviderOptions(trtOptions);
    }
  }

  private sessionContext(): SessionContext {
    return {
      ort: this.ort,
      allocator: this.allocator,
      cpuMemoryInfo: this.cpuMemoryInfo,
      onRelease: (session) => this.openSessions.delete(session),
    };
  }
}

/** What a session borrows from its runtime. */
interface SessionContext {
  ort: OrtFunctions;
  allocator: Pointer;
  cpuMemoryInfo: Pointer;
  onRelease(session: OrtSession): void;
}

/** A loaded model: its I/O signature, metadata, and the two ways to run it. */
export class OrtSession {
  private released = false;
  /** NUL-terminated names, kept for the session's lifetime so that Run's name arrays always point at live memory. */
  private readonly cNames: Map<string, Buffer>;

  private constructor(
    private readonly context: SessionContext,
    private readonly handle: Pointer,
    readonly activeProvider: ExecutionProvider,
    /** Why each provider preferred to `activeProvider` did not start, e.g. "CUDA: <ORT's message>". */
    readonly fallbacks: readonly string[],
    readonly inputs: TensorInfo[],
    readonly outputs: TensorInfo[],
    readonly metadata: Record<string, string>,
  ) {
    this.cNames = new Map([...inputs, ...outputs].map((info) => [info.name, cString(info.name)]));
  }

  /** Reads the session's signature and metadata; takes ownership of `handle` (released on failure too). */
  static open(context: SessionContext, handle: Pointer, activeProvider: ExecutionProvider, fallbacks: readonly string[]): OrtSession {
    try {
      const reader = new SessionReader(context, handle);
      return new OrtSession(context, handle, activeProvider, fallbacks, reader.inputs(), reader.outputs(), reader.metadata());
    } catch (error) {
      context.ort.ReleaseSession(handle);
      throw error;
    }
  }

  /**
   * Zero-copy run: inputs and outputs are caller-owned typed arrays (often views of a SharedArrayBuffer);
   * ORT reads and writes them in place. Output shapes must be fully known.
   */
  run(inputs: BoundTensor[], outputs: BoundTensor[]): void {
    const ort = this.api();
    const values = new TensorValues(ort, this.context.cpuMemoryInfo);
    try {
      const inputHandles = inputs.map((tensor) => values.wrap(tensor, this.declared(this.inputs, tensor.name, "input")));
      const outputHandles = outputs.map((tensor) => values.wrap(tensor, this.declared(this.outputs, tensor.name, "output")));
      ort.Run(this.handle, null, this.namePointers(inputs), pointerArray(inputHandles), inputs.length, this.namePointers(outputs), outputs.length, pointerArray(outputHandles));
    } finally {
      values.release();
    }
  }

  /** Runs with ORT allocating every output; returns copies (used at model load to learn concrete output shapes). */
  runAllocating(inputs: BoundTensor[]): OutputTensor[] {
    const ort = this.api();
    const values = new TensorValues(ort, this.context.cpuMemoryInfo);
    // ORT fills these NULL slots with OrtValues it allocated; we own and release them.
    const outputHandles = new BigUint64Array(this.outputs.length);
    try {
      const inputHandles = inputs.map((tensor) => values.wrap(tensor, this.declared(this.inputs, tensor.name, "input")));
      ort.Run(this.handle, null, this.namePointers(inputs), pointerArray(inputHandles), inputs.length, this.namePointers(this.outputs), this.outputs.length, outputHandles);
      return this.outputs.map((info, i) => copyTensor(ort, info.name, Number(outputHandles[i]) as Pointer));
    } finally {
      values.release();
      for (const handle of outputHandles) if (handle !== 0n) ort.ReleaseValue(Number(handle) as Pointer);
    }
  }

  /** Releases the session; later calls do nothing. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.context.ort.ReleaseSession(this.handle);
    this.context.onRelease(this);
  }

  /**
   * Gives the session up without releasing it and returns its handle, for OrtRuntime.adoptSession on another thread
   * of this process. This object is unusable afterwards, and the adopting runtime releases the session.
   */
  detach(): Pointer {
    this.api();
    this.released = true;
    this.context.onRelease(this);
    return this.handle;
  }

  private api(): OrtFunctions {
    if (this.released) throw new Error("OrtSession used after release()");
    return this.context.ort;
  }

  private declared(infos: TensorInfo[], name: string, role: "input" | "output"): TensorInfo {
    const info = infos.find((candidate) => candidate.name === name);
    if (!info) throw new Error(`model has no ${role} named "${name}" (${role}s: ${infos.map((i) => i.name).join(", ")})`);
    return info;
  }

  private namePointers(tensors: readonly { name: string }[]): BigUint64Array {
    return pointerArray(tensors.map((tensor) => ptr(this.cNames.get(tensor.name)!)));
  }
}

/**
 * OrtValues created over caller-owned typed arrays for one run. Holding the arrays here until release()
 * keeps them reachable while ORT uses their memory: an OrtValue over an array the GC has freed reads garbage.
 */
class TensorValues {
  private readonly created: { handle: Pointer; tensor: BoundTensor }[] = [];

  constructor(
    private readonly ort: OrtFunctions,
    private readonly memoryInfo: Pointer,
  ) {}

  wrap(tensor: BoundTensor, declared: TensorInfo): Pointer {
    const { name, data, shape } = tensor;
    const expectedArray = ARRAY_FOR_ELEMENT_TYPE[declared.elementType];
    if (!expectedArray) throw new Error(`tensor "${name}": element type ${declared.elementType} is not supported`);
    if (!(data instanceof expectedArray)) {
      throw new Error(`tensor "${name}" is ${declared.elementType}: expected a ${expectedArray.name}, got a ${data.constructor.name}`);
    }
    if (shape.some((dim) => !Number.isInteger(dim) || dim < 0)) {
      throw new Error(`tensor "${name}": shape [${shape.join(", ")}] must be non-negative integers`);
    }
    if (elementCount(shape) !== data.length) {
      throw new Error(`tensor "${name}": shape [${shape.join(", ")}] holds ${elementCount(shape)} elements but the array has ${data.length}`);
    }
    // bun:ffi's ptr() cannot address empty memory (it returns an Error instead of a pointer).
    if (data.length === 0) throw new Error(`tensor "${name}" is empty; zero-length tensors cannot be bound`);
    const dims = BigInt64Array.from(shape, (dim) => BigInt(dim));
    const handle = outHandle("OrtValue", (out) =>
      this.ort.CreateTensorWithDataAsOrtValue(
        this.memoryInfo,
        ptr(data),
        data.byteLength,
        dims.length > 0 ? ptr(dims) : null,
        dims.length,
        ELEMENT_TYPES.indexOf(declared.elementType),
        out,
      ),
    );
    this.created.push({ handle, tensor });
    return handle;
  }

  release(): void {
    for (const { handle } of this.created) this.ort.ReleaseValue(handle);
    this.created.length = 0;
  }
}

/** Copies an ORT-allocated tensor into a fresh typed array. */
function copyTensor(ort: OrtFunctions, name: string, value: Pointer): OutputTensor {
  const info = outHandle("tensor type and shape", (out) => ort.GetTensorTypeAndShape(value, out));
  let elementType: ElementType;
  let shape: number[];
  try {
    elementType = elementTypeOf(outInt32((out) => ort.GetTensorElementType(info, out)));
    shape = readShape(ort, info).map(Number);
  } finally {
    ort.ReleaseTensorTypeAndShapeInfo(info);
  }
  const arrayType = ARRAY_FOR_ELEMENT_TYPE[elementType];
  if (!arrayType) throw new Error(`output "${name}": element type ${elementType} cannot be copied out`);
  const count = elementCount(shape);
  const data = new arrayType(count);
  if (count > 0) {
    const source = outHandle("tensor data", (out) => ort.GetTensorMutableData(value, out));
    new Uint8Array(data.buffer).set(new Uint8Array(toArrayBuffer(source, 0, data.byteLength)));
  }
  return { name, elementType, shape, data };
}

/** A shape's dims: numbers where fixed, the symbolic name (or "?") where dynamic. */
function readShape(ort: OrtFunctions, info: Pointer): (number | string)[] {
  const rank = outInteger((out) => ort.GetDimensionsCount(info, out));
  if (rank === 0) return [];
  const dims = new BigInt64Array(rank);
  ort.GetDimensions(info, ptr(dims), rank);
  const symbols = new BigUint64Array(rank);
  ort.GetSymbolicDimensions(info, ptr(symbols), rank);
  return Array.from(dims, (dim, i) => {
    if (dim >= 0n) return Number(dim);
    const symbol = symbols[i] === 0n ? "" : new CString(Number(symbols[i]) as Pointer);
    return symbol === "" ? "?" : symbol;
  });
}

/** Reads a session's inputs, outputs and metadata, freeing every string and info ORT hands out. */
class SessionReader {
  constructor(
    private readonly context: SessionContext,
    private readonly session: Pointer,
  ) {}

  inputs(): TensorInfo[] {
    const { ort } = this.context;
    const count = outInteger((out) => ort.SessionGetInputCount(this.session, out));
    return Array.from({ length: count }, (_, i) =>
      this.tensorInfo(
        this.takeString(outHandle("input name", (out) => ort.SessionGetInputName(this.session, i, this.context.allocator, out))),
        outHandle("input type info", (out) => ort.SessionGetInputTypeInfo(this.session, i, out)),
      ),
    );
  }

  outputs(): TensorInfo[] {
    const { ort } = this.context;
    const count = outInteger((out) => ort.SessionGetOutputCount(this.session, out));
    return Array.from({ length: count }, (_, i) =>
      this.tensorInfo(
        this.takeString(outHandle("output name", (out) => ort.SessionGetOutputName(this.session, i, this.context.allocator, out))),
        outHandle("output type info", (out) => ort.SessionGetOutputTypeInfo(this.session, i, out)),
      ),
    );
  }

  metadata(): Record<string, string> {
    const { ort, allocator } = this.context;
    const metadata = outHandle("model metadata", (out) => ort.SessionGetModelMetadata(this.session, out));
    try {
      const keyCount = new BigInt64Array(1);
      const keys = outPointer((out) => ort.ModelMetadataGetCustomMetadataMapKeys(metadata, allocator, out, ptr(keyCount)));
      if (keys === null) return {};
      const keyPointers = Array.from({ length: Number(keyCount[0]) }, (_, i) => read.ptr(keys, i * POINTER_SIZE) as Pointer);
      const entries: [string, string][] = [];
      try {
        for (const keyPointer of keyPointers) {
          // The key ORT handed us is already a NUL-terminated C string: pass it straight back.
          const value = outPointer((out) => ort.ModelMetadataLookupCustomMetadataMap(metadata, allocator, keyPointer, out));
          entries.push([new CString(keyPointer), value === null ? "" : this.takeString(value)]);
        }
      } finally {
        for (const keyPointer of keyPointers) ort.AllocatorFree(allocator, keyPointer);
        ort.AllocatorFree(allocator, keys);
      }
      return Object.fromEntries(entries);
    } finally {
      ort.ReleaseModelMetadata(metadata);
    }
  }

  /** Copies a string ORT allocated with the default allocator, then frees it. */
  private takeString(pointer: Pointer): string {
    try {
      return new CString(pointer);
    } finally {
      this.context.ort.AllocatorFree(this.context.allocator, pointer);
    }
  }

  /** Takes ownership of `typeInfo`. */
  private tensorInfo(name: string, typeInfo: Pointer): TensorInfo {
    const { ort } = this.context;
    try {
      // The tensor view is borrowed from typeInfo; NULL means a sequence or map, which we do not serve.
      const tensor = outPointer((out) => ort.CastTypeInfoToTensorInfo(typeInfo, out));
      if (tensor === null) throw new Error(`model value "${name}" is not a tensor`);
      return {
        name,
        elementType: elementTypeOf(outInt32((out) => ort.GetTensorElementType(tensor, out))),
        shape: readShape(ort, tensor),
      };
    } finally {
      ort.ReleaseTypeInfo(typeInfo);
    }
  }
}

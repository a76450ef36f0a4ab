// Thread names: each of the server's threads names itself, so `top -H`, `perf` and the benchmark's per-thread CPU
// accounting (bench/thread-cpu.ts) can tell vision work from inference from the runtime's own threads. Linux only;
// elsewhere naming does nothing.
//
// A thread created by native code inherits its creator's name: ONNX Runtime's intra-op threads start while a session
// is being created, so the session loader takes their name for that call (see withThreadName).
import { dlopen, FFIType } from "bun:ffi";

export const THREAD_NAMES = {
  vision: "vision",
  inferenceRun: "ort-run",
  sessionLoader: "ort-loader",
  ortIntraOp: "ort-intra-op",
  modelInspector: "onnx-inspect",
} as const;

export type ThreadName = (typeof THREAD_NAMES)[keyof typeof THREAD_NAMES];

/** Linux keeps 15 bytes of a thread's name (16 with the terminating zero). */
const MAX_NAME_BYTES = 15;

const pthread = (() => {
  if (process.platform !== "linux") return null;
  try {
    return dlopen("libc.so.6", {
      pthread_self: { args: [], returns: FFIType.u64 },
      pthread_setname_np: { args: [FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    }).symbols;
  } catch {
    return null;
  }
})();

/** Names the calling thread; returns whether the name was set. */
export function nameThread(name: ThreadName): boolean {
  if (!pthread) return false;
  const bytes = new TextEncoder().encode(name).subarray(0, MAX_NAME_BYTES);
  const terminated = new Uint8Array(bytes.length + 1);
  terminated.set(bytes);
  return pthread.pthread_setname_np(pthread.pthread_self(), terminated) === 0;
}

/** Runs `work` under `name` and returns to `home` after, so threads that `work` starts are named `name`. */
export function withThreadName<T>(name: ThreadName, home: ThreadName, work: () => T): T {
  nameThread(name);
  try {
    return work();
  } finally {
    nameThread(home);
  }
}

// Memory release on unload: hands an unloaded model's memory back to the system at once instead of whenever every
// thread's garbage collector gets round to it (Linux/glibc; elsewhere these do nothing and collection does it).
//
// An arena is a SharedArrayBuffer viewed from every thread; its pages go back only when the last view in the last
// thread has been collected, and an idle worker may keep a stale view (a conservative stack root) for a long time.
// Once a model has drained, no thread uses its arena any more, so its pages can be dropped (MADV_DONTNEED: a stale
// view would read zeros, never fault). ONNX Runtime frees a released session with free(), which glibc mostly keeps.
import { dlopen, FFIType, ptr } from "bun:ffi";

const MADV_DONTNEED = 4;
const SC_PAGESIZE = 30;

const libc = (() => {
  if (process.platform !== "linux") return null;
  try {
    return dlopen("libc.so.6", {
      madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
      mallopt: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      malloc_trim: { args: [FFIType.u64], returns: FFIType.i32 },
      sysconf: { args: [FFIType.i32], returns: FFIType.i64 },
    }).symbols;
  } catch {
    return null;
  }
})();

const pageSize = libc ? Number(libc.sysconf(SC_PAGESIZE)) || 4096 : 4096;

/** Drops the resident pages of a buffer no thread will use again; returns the bytes released (0 where unsupported). */
export function releasePages(buffer: SharedArrayBuffer | ArrayBuffer): number {
  if (!libc || buffer.byteLength < pageSize) return 0;
  const start = Number(ptr(new Uint8Array(buffer)));
  const first = Math.ceil(start / pageSize) * pageSize;
  const end = Math.floor((start + buffer.byteLength) / pageSize) * pageSize;
  if (end <= first) return 0;
  return libc.madvise(first, end - first, MADV_DONTNEED) === 0 ? end - first : 0;
}

/** Returns free heap memory to the system (glibc's malloc_trim), e.g. after ONNX Runtime released a session. */
export function trimHeap(): void {
  libc?.malloc_trim(0);
}

/** The allocator part of the memory section of the configuration, applied once per process at start-up (src/main.ts). */
export interface MallocSettings {
  /** MALLOC_KEEP_LARGE_BUFFERS: keepLargeBuffers() at start-up. */
  keepLargeBuffers: boolean;
}

/** glibc's mallopt parameters (malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;

/**
 * MALLOC_KEEP_LARGE_BUFFERS' glibc parameters: allocations up to 128 MiB come from malloc's heaps instead of a fresh mmap each
 * (a decoded 12 MP image is 36 MB, past glibc's 32 MiB ceiling for its own adaptive threshold), and up to 256 MiB of free
 * memory at a heap's top is kept for the next image instead of being returned at once (BENCHMARKS.md "Feed").
 */
export const KEPT_LARGE_BUFFERS = { mmapThresholdBytes: 128 * 2 ** 20, trimThresholdBytes: 256 * 2 ** 20 } as const;

/** Which of the two parameters the environment leaves to us: glibc reads MALLOC_*_ and GLIBC_TUNABLES itself at start, and those win. */
export function mallocParametersLeftToUs(env: Record<string, string | undefined>): { mmapThreshold: boolean; trimThreshold: boolean } {
  const tunables = env.GLIBC_TUNABLES ?? "";
  return {
    mmapThreshold: env.MALLOC_MMAP_THRESHOLD_ === undefined && !tunables.includes("glibc.malloc.mmap_threshold"),
    trimThreshold: env.MALLOC_TRIM_THRESHOLD_ === undefined && !tunables.includes("glibc.malloc.trim_threshold"),
  };
}

/**
 * Applies KEPT_LARGE_BUFFERS process-wide (every thread's malloc arenas), except a parameter the environment sets.
 * Returns which parameters it set (none where glibc is not reachable).
 */
export function keepLargeBuffers(env: Record<string, string | undefined> = process.env): { mmapThreshold: boolean; trimThreshold: boolean } {
  const left = mallocParametersLeftToUs(env);
  return {
    mmapThreshold: left.mmapThreshold && libc?.mallopt(M_MMAP_THRESHOLD, KEPT_LARGE_BUFFERS.mmapThresholdBytes) === 1,
    trimThreshold: left.trimThreshold && libc?.mallopt(M_TRIM_THRESHOLD, KEPT_LARGE_BUFFERS.trimThresholdBytes) === 1,
  };
}

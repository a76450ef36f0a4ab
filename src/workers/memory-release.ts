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

// Specification of MALLOC_KEEP_LARGE_BUFFERS' allocator parameters: set once per process, never over what the environment gave glibc.
import { describe, expect, test } from "bun:test";
import { keepLargeBuffers, mallocParametersLeftToUs } from "../../../src/workers/memory-release.ts";

describe("keepLargeBuffers", () => {
  test("sets both glibc parameters where the environment sets neither", () => {
    expect(mallocParametersLeftToUs({})).toEqual({ mmapThreshold: true, trimThreshold: true });
    // The test process is Linux with glibc (as the server's image): mallopt accepts both values.
    if (process.platform === "linux") expect(keepLargeBuffers({})).toEqual({ mmapThreshold: true, trimThreshold: true });
  });

  test("leaves a parameter the environment gives glibc (MALLOC_*_ or GLIBC_TUNABLES) alone", () => {
    expect(mallocParametersLeftToUs({ MALLOC_MMAP_THRESHOLD_: "131072" })).toEqual({ mmapThreshold: false, trimThreshold: true });
    expect(mallocParametersLeftToUs({ MALLOC_TRIM_THRESHOLD_: "0" })).toEqual({ mmapThreshold: true, trimThreshold: false });
    expect(mallocParametersLeftToUs({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1:glibc.malloc.mmap_threshold=4096" })).toEqual({ mmapThreshold: false, trimThreshold: false });
    expect(mallocParametersLeftToUs({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" })).toEqual({ mmapThreshold: true, trimThreshold: true });
    expect(keepLargeBuffers({ MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "0" })).toEqual({ mmapThreshold: false, trimThreshold: false });
  });
});

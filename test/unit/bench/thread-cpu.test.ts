// Specification of the benchmark's per-thread CPU accounting: which group a thread belongs to, and CPU per request.
import { expect, test } from "bun:test";
import { cpuMsPerRequest, parseStat, readThreadCpu, threadGroup, type ThreadCpuSample } from "../../../bench/thread-cpu.ts";

const PID = 100;

function sample(processSeconds: number, threads: [number, string, number][]): ThreadCpuSample {
  return { processSeconds, threads: new Map(threads.map(([tid, name, cpuSeconds]) => [tid, { name, cpuSeconds }])) };
}

test("groups the process's first thread as http, named server threads by their work, and the rest as runtime", () => {
  expect(threadGroup(PID, PID, "bun")).toBe("http");
  expect(threadGroup(101, PID, "vision")).toBe("vision");
  for (const name of ["ort-run", "ort-loader", "ort-intra-op", "onnx-inspect"]) expect(threadGroup(102, PID, name)).toBe("onnxruntime");
  expect(threadGroup(103, PID, "libvips worker")).toBe("libvips");
  for (const name of ["Bun Pool 0", "HeapHelper", "JITWorker", "Worker"]) expect(threadGroup(104, PID, name)).toBe("runtime");
});

test("reads a thread's name and user + system CPU seconds from a stat line, even when the name holds spaces and parentheses", () => {
  const line = "4242 (libvips (x) w) S 1 4242 4242 0 -1 4194368 100 0 0 0 250 75 0 0 20 0 9 0 123 456789 1234 18446744073709551615";
  expect(parseStat(line)).toEqual({ name: "libvips (x) w", cpuSeconds: 3.25 });
  expect(() => parseStat("garbage")).toThrow("not a /proc stat line");
});

test("divides each group's CPU time between two samples by the requests answered", () => {
  const before = sample(10, [
    [PID, "bun", 4],
    [101, "vision", 3],
    [102, "ort-run", 3],
  ]);
  const after = sample(16, [
    [PID, "bun", 5],
    [101, "vision", 5],
    [102, "ort-run", 6],
  ]);
  expect(cpuMsPerRequest(PID, before, after, 100)).toEqual({ http: 10, vision: 20, libvips: 0, onnxruntime: 30, runtime: 0, exited: 0 });
});

test("counts threads born in between from zero and leaves the time of threads that ended as exited", () => {
  const before = sample(10, [
    [PID, "bun", 5],
    [101, "libvips worker", 5],
  ]);
  // Thread 101 ended after using 1 s more; thread 102 started and used 2 s.
  const after = sample(14, [
    [PID, "bun", 6],
    [102, "libvips worker", 2],
  ]);
  expect(cpuMsPerRequest(PID, before, after, 1000)).toEqual({ http: 1, vision: 0, libvips: 2, onnxruntime: 0, runtime: 0, exited: 1 });
});

test("counts a thread id given out again as a new thread", () => {
  const before = sample(10, [
    [PID, "bun", 2],
    [101, "vision", 8],
  ]);
  const after = sample(13, [
    [PID, "bun", 2],
    [101, "vision", 1],
  ]);
  expect(cpuMsPerRequest(PID, before, after, 1000).vision).toBe(1);
});

test.skipIf(process.platform !== "linux")("reads every live thread of a real process, the first one included", () => {
  const own = readThreadCpu(process.pid);
  expect(own.threads.has(process.pid)).toBe(true);
  const live = [...own.threads.values()].reduce((sum, t) => sum + t.cpuSeconds, 0);
  expect(own.processSeconds).toBeGreaterThanOrEqual(live - 0.01 * own.threads.size);
});

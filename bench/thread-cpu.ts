// CPU time per thread of a running server, from /proc/<pid>/task/*/stat, grouped by what each thread does.
//
// The server names its threads (src/workers/thread-name.ts); libvips and the JavaScript runtime name theirs. Two
// samples around a load level give CPU milliseconds per answered request in each group: where the cores went.
import { readdirSync, readFileSync } from "node:fs";
import { THREAD_NAMES } from "../src/workers/thread-name.ts";

export const THREAD_GROUPS = ["http", "vision", "libvips", "onnxruntime", "runtime", "exited"] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number];
export type CpuByGroup = Record<ThreadGroup, number>;

/** Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture it runs on today. */
const TICKS_PER_SECOND = 100;

const ONNXRUNTIME_THREADS = new Set<string>([THREAD_NAMES.inferenceRun, THREAD_NAMES.sessionLoader, THREAD_NAMES.ortIntraOp, THREAD_NAMES.modelInspector]);

/**
 * What a thread does, from its id and name: the process's first thread is the HTTP thread (Elysia and the dispatcher);
 * "exited" is only ever the remainder left by threads that ended between two samples.
 */
export function threadGroup(tid: number, pid: number, name: string): Exclude<ThreadGroup, "exited"> {
  if (tid === pid) return "http";
  if (name === THREAD_NAMES.vision) return "vision";
  if (ONNXRUNTIME_THREADS.has(name)) return "onnxruntime";
  if (name.startsWith("libvips")) return "libvips";
  return "runtime";
}

/** A /proc stat line's thread name and user + system CPU seconds (the name is in parentheses and may hold spaces). */
export function parseStat(line: string): { name: string; cpuSeconds: number } {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  // After ") " come field 3 (state) onwards; utime and stime are fields 14 and 15.
  const fields = line.slice(close + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`no CPU times in /proc stat line: ${line.slice(0, 80)}`);
  return { name: line.slice(open + 1, close), cpuSeconds: ticks / TICKS_PER_SECOND };
}

export interface ThreadCpuSample {
  /** The whole process's CPU seconds, threads that have ended included. */
  processSeconds: number;
  /** Live threads: id -> name and CPU seconds. */
  threads: Map<number, { name: string; cpuSeconds: number }>;
}

/** Reads every thread's CPU time of process `pid`; a thread that ends while being read is skipped. */
export function readThreadCpu(pid: number): ThreadCpuSample {
  const threads = new Map<number, { name: string; cpuSeconds: number }>();
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(entry), parseStat(readFileSync(`/proc/${pid}/task/${entry}/stat`, "utf8")));
    } catch {
      continue;
    }
  }
  return { processSeconds: parseStat(readFileSync(`/proc/${pid}/stat`, "utf8")).cpuSeconds, threads };
}

/**
 * CPU milliseconds per request in each thread group between two samples that `answered` requests lie between.
 * Threads that ended in between leave time in the process's total that no live thread holds: that remainder is "exited".
 */
export function cpuMsPerRequest(pid: number, before: ThreadCpuSample, after: ThreadCpuSample, answered: number): CpuByGroup {
  const ms = Object.fromEntries(THREAD_GROUPS.map((group) => [group, 0])) as CpuByGroup;
  if (answered <= 0) return ms;
  let liveSeconds = 0;
  for (const [tid, thread] of after.threads) {
    const previous = before.threads.get(tid);
    // A thread id the kernel handed out again starts from zero.
    const seconds = previous && previous.cpuSeconds <= thread.cpuSeconds ? thread.cpuSeconds - previous.cpuSeconds : thread.cpuSeconds;
    ms[threadGroup(tid, pid, thread.name)] += seconds;
    liveSeconds += seconds;
  }
  ms.exited = Math.max(0, after.processSeconds - before.processSeconds - liveSeconds);
  for (const group of THREAD_GROUPS) ms[group] = (ms[group] * 1000) / answered;
  return ms;
}

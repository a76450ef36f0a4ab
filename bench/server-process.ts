// Server under test: a server script run as a child process on a free port, with its resident memory read from /proc.
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readThreadCpu, type ThreadCpuSample } from "./thread-cpu.ts";

export const REPO_ROOT = resolve(import.meta.dir, "..");

export interface MemoryReading {
  /** Resident set size now (VmRSS). */
  rssMiB: number;
  /** The largest resident set size so far (VmHWM). */
  peakMiB: number;
}

export interface BenchServer {
  url: string;
  pid: number;
  memory(): MemoryReading;
  /** CPU time of each of the server's threads so far. */
  threadCpu(): ThreadCpuSample;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * Runs `bun <script>` from the repository root with `env` over the current environment, and
 * resolves once it prints `listening on <url>` (our server and the sequential baseline both do).
 */
export async function startBenchServer(script: string, env: Record<string, string>, timeoutMs = 120_000): Promise<BenchServer> {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(["bun", script], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let log = "";
  const url = await new Promise<string>((resolveUrl, reject) => {
    let found = false;
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        log += decoder.decode(chunk);
        const m = /listening on (http:\/\/\S+)/.exec(log);
        if (m && !found) {
          found = true;
          clearTimeout(timer);
          resolveUrl(m[1]!);
        }
      }
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${script} exited with ${code} before listening:\n${log}`));
    });
  });
  return {
    url,
    pid: proc.pid,
    memory: () => ({ rssMiB: statusKiB(proc.pid, "VmRSS") / 1024, peakMiB: statusKiB(proc.pid, "VmHWM") / 1024 }),
    threadCpu: () => readThreadCpu(proc.pid),
    output: () => log,
    async stop() {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await proc.exited;
      clearTimeout(killer);
    },
  };
}

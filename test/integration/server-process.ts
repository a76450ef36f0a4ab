// Test helper: runs the real server (`bun src/main.ts`) as a child process on a free port.
import type { Subprocess } from "bun";
import { resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const FIXTURE_CACHE = resolve(REPO_ROOT, "test/fixtures/models");

export interface ServerProcess {
  url: string;
  /** The server's process id (e.g. to read /proc/<pid>/status). */
  pid: number;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<number>;
}

/** A loopback port nothing listens on: a test that forgets its fake Roboflow API fails at once, and never reaches the internet. */
export const NO_ROBOFLOW_API = "http://127.0.0.1:9";

/** The command that runs the server. */
export const SERVER_COMMAND = ["bun", "src/main.ts"];

/**
 * Starts the server with `env` on top of a quiet default: no demo model, two vision workers, port 0,
 * one inference worker that batches up to MAX_BATCH_SIZE exactly (no batch probe), so tests of batching see the
 * sizes they set, no refusal for the expected wait (answers must not depend on this machine's speed; admission has
 * its own tests), and no Roboflow API key or reachable API (tests that download bring their own fake).
 * `command` replaces SERVER_COMMAND (e.g. to run it inside a wrapper).
 */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000, command: string[] = SERVER_COMMAND): Promise<ServerProcess> {
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(command, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DEMO_MODEL_ID: "",
      NUM_WORKERS: "2",
      BATCH_SIZE_PROBE: "false",
      INFERENCE_WORKERS_PER_DEVICE: "1",
      MAX_QUEUE_WAIT_MS: "0",
      API_BASE_URL: NO_ROBOFLOW_API,
      ROBOFLOW_API_KEY: "",
      API_KEY: "",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let log = "";
  let url = "";
  const listening = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        log += decoder.decode(chunk);
        const match = /listening on (http:\/\/\S+)/.exec(log);
        if (match && !url) {
          url = match[1]!;
          clearTimeout(timer);
          resolveUrl(url);
        }
      }
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      if (!url) reject(new Error(`server exited with ${code} before listening:\n${log}`));
    });
  });
  url = await listening;
  return {
    url,
    pid: proc.pid,
    output: () => log,
    post: (path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

// Specification of the memory request bodies may hold, over real HTTP. With SERVER_API_KEYS set, a body sent to a route
// whose JSON may carry `api_key` has to be read before the server knows whether to answer 401: 32 clients sending 60 MB
// bodies without a key must not make it hold 32 x 60 MB. Measured as the server process's resident set size (VmRSS).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

const MIB = 2 ** 20;
const CLIENTS = 32;
const BODY_BYTES = 60_000_000;

let server: ServerProcess;
let cache: string;

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), "body-memory-"));
  server = await startServerProcess({ MODEL_CACHE_DIR: cache, NUM_WORKERS: "1", SERVER_API_KEYS: "body-memory-key-41c7" });
});

afterAll(async () => {
  await server?.stop();
  rmSync(cache, { recursive: true, force: true });
});

function rss(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

test(`${CLIENTS} keyless ${BODY_BYTES / 1e6} MB bodies at once raise resident memory by less than 512 MiB, each answered 401 or 503 with Retry-After`, async () => {
  const prefix = '{"model_id":"some-model/1","image":{"type":"base64","value":"';
  const suffix = '"}}';
  const body = new Blob([prefix, "A".repeat(BODY_BYTES - prefix.length - suffix.length), suffix]);
  const pid = server.pid;
  const idle = rss(pid);
  let highest = idle;
  const sampler = setInterval(() => (highest = Math.max(highest, rss(pid))), 25);
  const answers = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const response = await fetch(`${server.url}/infer/object_detection`, { method: "POST", headers: { "content-type": "application/json" }, body });
      return { status: response.status, retryAfter: response.headers.get("retry-after"), message: ((await response.json()) as { message: string }).message };
    }),
  );
  clearInterval(sampler);
  highest = Math.max(highest, rss(pid));
  await Bun.sleep(2_000);
  const after = rss(pid);
  const statuses = answers.map((a) => a.status);
  console.log(
    `RSS idle ${(idle / MIB).toFixed(0)} MiB, highest ${(highest / MIB).toFixed(0)} MiB, 2 s after ${(after / MIB).toFixed(0)} MiB; answers: ${statuses.filter((s) => s === 401).length} x 401, ${statuses.filter((s) => s === 503).length} x 503`,
  );
  for (const answer of answers) {
    if (answer.status === 503) expect(answer).toMatchObject({ retryAfter: "1", message: expect.stringContaining("MAX_REQUEST_BYTES_IN_FLIGHT") });
    else expect(answer).toMatchObject({ status: 401, message: expect.stringMatching(/^Unauthorized/) });
  }
  expect(highest - idle).toBeLessThan(512 * MIB);
  expect(after - idle).toBeLessThan(256 * MIB);
}, 120_000);

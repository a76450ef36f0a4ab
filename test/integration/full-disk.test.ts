// Specification of downloads into a full MODEL_CACHE_DIR, over real HTTP: the answer names the full disk (507), not the
// network, and a weights file whose declared size cannot fit is refused before it is downloaded. The server runs in its
// own mount namespace (`unshare`) over a 4 MiB tmpfs cache; where namespaces are not allowed the test says so and skips.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeRoboflowApi, type FakeRoboflowApi } from "./fake-roboflow-api.ts";
import { expectError, postJson } from "./hostile-fixtures.ts";
import { FIXTURE_CACHE, SERVER_COMMAND, startServerProcess, type ServerProcess } from "./server-process.ts";

const KEY = "full-disk-key-60b2";
const TMPFS = "size=4m";

/** True when this machine lets an unprivileged process mount a tmpfs in its own user and mount namespace. */
function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), "tmpfs-probe-"));
  try {
    return Bun.spawnSync(["unshare", "-rm", "sh", "-c", `mount -t tmpfs -o ${TMPFS} tmpfs "${dir}"`], { stderr: "ignore", stdout: "ignore" }).exitCode === 0;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const available = canMountTmpfs();
if (!available) console.warn("full-disk.test.ts: skipped, this machine does not allow `unshare -rm` with a tmpfs mount");

let api: FakeRoboflowApi;
let cache: string;
let server: ServerProcess;

beforeAll(async () => {
  if (!available) return;
  api = startFakeRoboflowApi({
    keys: [KEY],
    models: {
      // 12 MB of weights: more than the 4 MiB disk holds.
      "declared-big/1": { dir: join(FIXTURE_CACHE, "fixture-yolov8n/1") },
      "undeclared-big/1": { dir: join(FIXTURE_CACHE, "fixture-yolov8n/1"), undeclaredLength: true },
      "small/1": { dir: join(FIXTURE_CACHE, "colour-probe/1") },
    },
  });
  cache = mkdtempSync(join(tmpdir(), "full-disk-cache-"));
  const inNamespace = ["unshare", "-rm", "sh", "-c", `mount -t tmpfs -o ${TMPFS} tmpfs "$MODEL_CACHE_DIR" && exec ${SERVER_COMMAND.join(" ")}`];
  server = await startServerProcess({ MODEL_CACHE_DIR: cache, API_BASE_URL: api.url, ROBOFLOW_API_KEY: KEY, ROBOFLOW_API_REQUEST_TIMEOUT: "5" }, 60_000, inNamespace);
});

afterAll(async () => {
  await server?.stop();
  api?.stop();
  if (cache) rmSync(cache, { recursive: true, force: true });
});

const NO_SPACE = "Insufficient storage: no space left in MODEL_CACHE_DIR for the model package.";

describe.skipIf(!available)("a full MODEL_CACHE_DIR", () => {
  test("refuses a download whose declared size does not fit with 507 naming the full disk, before downloading it", async () => {
    for (let attempt = 0; attempt < 2; attempt++) expectError(await postJson(server, "/model/add", { model_id: "declared-big/1" }), 507, NO_SPACE);
    expect(api.hits("weights", "declared-big/1")).toBe(2);
    expect(server.output()).toContain("bytes to write");
  }, 30_000);

  test("answers 507 naming the full disk when the disk fills while the weights arrive", async () => {
    expectError(await postJson(server, "/model/add", { model_id: "undeclared-big/1" }), 507, NO_SPACE);
    expect(server.output()).not.toContain("Could not connect to Roboflow API");
  }, 30_000);

  test("leaves no partial package behind: a model that fits is downloaded and served afterwards", async () => {
    expect((await postJson(server, "/model/add", { model_id: "small/1" })).status).toBe(200);
    expectError(await postJson(server, "/model/add", { model_id: "declared-big/1" }), 507, NO_SPACE);
  }, 30_000);
});

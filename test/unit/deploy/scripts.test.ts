// Specification of build.sh, run.sh and the container health check, run here against a stand-in `docker` that records its arguments.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "deploy-scripts-"));
  // Each `docker` call appends one line: its arguments separated by NUL-free tabs.
  writeFileSync(join(dir, "docker"), `#!/usr/bin/env bash\n( IFS=$'\\t'; echo "$*" ) >> "${dir}/calls"\n`);
  chmodSync(join(dir, "docker"), 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a script with the stand-in docker first on PATH; returns each docker call's arguments. */
function runScript(script: string, env: Record<string, string> = {}, args: string[] = []): string[][] {
  rmSync(join(dir, "calls"), { force: true });
  const run = Bun.spawnSync(["bash", join(ROOT, script), ...args], {
    cwd: dir,
    env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, ...env },
  });
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
  return readFileSync(join(dir, "calls"), "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split("\t"));
}

/** Every environment variable src/config.ts reads. */
function serverSettings(): string[] {
  const source = readFileSync(join(ROOT, "src/config.ts"), "utf8");
  const names = [...source.matchAll(/\(env, "([A-Z0-9_]+)"|env\.([A-Z0-9_]+)/g)].map((m) => m[1] ?? m[2]!);
  return [...new Set(names)].sort();
}

describe("build.sh", () => {
  test("builds the GPU and CPU targets from the repository root with fresh base images", () => {
    const calls = runScript("build.sh");
    expect(calls).toEqual([
      ["build", "--pull", "--target", "gpu", "-t", "bun-inference-server-gpu:latest", "."],
      ["build", "--pull", "--target", "cpu", "-t", "bun-inference-server-cpu:latest", "."],
    ]);
  });

  test("takes the image name and tag from IMAGE and TAG and passes extra arguments to both builds", () => {
    const calls = runScript("build.sh", { IMAGE: "registry.local/infer", TAG: "1.2" }, ["--build-arg", "WITH_TENSORRT=1"]);
    expect(calls.map((c) => c[5])).toEqual(["registry.local/infer-gpu:1.2", "registry.local/infer-cpu:1.2"]);
    for (const call of calls) expect(call.slice(6)).toEqual(["--build-arg", "WITH_TENSORRT=1", "."]);
  });
});

describe("run.sh", () => {
  test("runs the GPU image on every GPU, on port 9001, with the model cache in a named volume", () => {
    const [call] = runScript("run.sh");
    expect(call!.slice(0, 1)).toEqual(["run"]);
    const joined = call!.join(" ");
    expect(joined).toContain("--gpus all");
    expect(joined).toContain("-p 9001:9001");
    expect(joined).toContain("-e PORT=9001");
    expect(joined).toContain("-v bun-inference-cache:/tmp/cache");
    expect(call!.at(-1)).toBe("bun-inference-server-gpu:latest");
  });

  test("passes each setting that is set through by name, so values such as API keys never appear in its arguments", () => {
    const [call] = runScript("run.sh", { MAX_BATCH_SIZE: "16", NUM_WORKERS: "8", CUDA_DEVICES: "0,1", API_KEY: "secret-key", PORT: "9101" });
    const joined = call!.join(" ");
    for (const name of ["MAX_BATCH_SIZE", "NUM_WORKERS", "CUDA_DEVICES", "API_KEY"]) expect(joined).toContain(`-e ${name} `);
    expect(joined).not.toContain("secret-key");
    expect(joined).not.toContain("BATCH_MAX_WAIT_MS");
    expect(joined).toContain("-p 9101:9101");
  });

  test("knows every server setting, except the cache folder the image fixes", () => {
    const script = readFileSync(join(ROOT, "run.sh"), "utf8");
    const listed = new Set(/SETTINGS=\(([^)]*)\)/.exec(script)![1]!.split(/\s+/).filter(Boolean));
    const missing = serverSettings().filter((name) => !listed.has(name) && name !== "MODEL_CACHE_DIR" && name !== "PORT");
    expect(missing).toEqual([]);
  });
});

describe("shell scripts", () => {
  test("parse, and pass shellcheck where it is installed", () => {
    for (const script of ["build.sh", "run.sh"]) {
      expect(Bun.spawnSync(["bash", "-n", join(ROOT, script)]).exitCode).toBe(0);
    }
    if (!Bun.which("shellcheck")) {
      console.log("shellcheck is not installed (apt-get install shellcheck): skipped");
      return;
    }
    const run = Bun.spawnSync(["shellcheck", join(ROOT, "build.sh"), join(ROOT, "run.sh")]);
    expect(run.stdout.toString()).toBe("");
    expect(run.exitCode).toBe(0);
  });
});

describe("scripts/healthcheck.ts", () => {
  // Spawned asynchronously: the server under test answers from this process's event loop.
  const check = (port: number) => Bun.spawn(["bun", join(ROOT, "scripts/healthcheck.ts")], { env: { ...process.env, PORT: String(port) } }).exited;

  test("exits 0 when the server answers /healthz and 1 when it answers with an error", async () => {
    let healthy = true;
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => new Response("{}", { status: new URL(request.url).pathname === "/healthz" && healthy ? 200 : 503 }),
    });
    try {
      expect(await check(server.port!)).toBe(0);
      healthy = false;
      expect(await check(server.port!)).toBe(1);
    } finally {
      await server.stop(true);
    }
  });

  test("exits 1 when nothing listens", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const port = server.port!;
    await server.stop(true);
    expect(await check(port)).toBe(1);
  });
});

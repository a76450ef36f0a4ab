// Specification of fault containment over real HTTP: broken model packages are refused at load with a clear
// message while other models keep serving, and SIGTERM, SIGHUP and SIGINT drain admitted requests before exiting 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

let cache: string;
let png: string;

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), "faults-cache-"));
  cpSync(join(FIXTURE_CACHE, "colour-probe"), join(cache, "colour-probe"), { recursive: true });
  // Weights that are not an ONNX model at all.
  cpSync(join(FIXTURE_CACHE, "colour-probe"), join(cache, "corrupt-weights"), { recursive: true });
  writeFileSync(join(cache, "corrupt-weights/1/weights.onnx"), "this is not a protobuf");
  // A valid ONNX model whose outputs fit no detection layout: a classifier's [batch, 3] in a detection package.
  cpSync(join(FIXTURE_CACHE, "colour-probe"), join(cache, "wrong-outputs"), { recursive: true });
  cpSync(join(FIXTURE_CACHE, "cls-probe/1/best.onnx"), join(cache, "wrong-outputs/1/weights.onnx"));
  png = (
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 10, g: 200, b: 90 } } })
      .png()
      .toBuffer()
  ).toString("base64");
});

afterAll(() => {
  rmSync(cache, { recursive: true, force: true });
});

const body = (modelId: string) => ({ model_id: modelId, image: { type: "base64", value: png } });

describe("broken model packages", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ MODEL_CACHE_DIR: cache, PRELOAD_MODELS: "colour-probe/1" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("a weights file that is not ONNX is refused at load with ONNX Runtime's reason, and nothing is left loaded", async () => {
    const res = await server.post("/infer/object_detection", body("corrupt-weights/1"));
    expect(res.status).toBe(500);
    const { message } = await res.json();
    expect(message).toStartWith("Model package is broken.");
    expect(message).toContain("corrupt-weights/1");
    expect(message).toContain("Protobuf parsing failed");
    expect(message).not.toMatch(/\bat \/|\.ts:\d+/);
    const registry = await (await fetch(`${server.url}/model/registry`)).json();
    expect(JSON.stringify(registry)).not.toContain("corrupt-weights");
  });

  test("a model whose outputs fit no decoding for its task is refused with the shapes it has and the ones expected", async () => {
    const res = await server.post("/infer/object_detection", body("wrong-outputs/1"));
    expect(res.status).toBe(500);
    expect((await res.json()).message).toMatch(/Model package is broken.*\[batch, 7 \(4 \+ 3 classes\), anchors\].*\[batch, 3\]/);
  });

  test("other models keep serving", async () => {
    const res = await server.post("/infer/object_detection", body("colour-probe/1"));
    expect(res.status).toBe(200);
  });
});

/** One kept-alive HTTP/1.1 connection, requests sent on it one after another, as a pooling client does. */
async function keptAlive(url: string) {
  const { hostname, port } = new URL(url);
  let received = Buffer.alloc(0);
  let closed = false;
  let wake = () => {};
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_socket, chunk) {
        received = Buffer.concat([received, Buffer.from(chunk)]);
        wake();
      },
      close() {
        closed = true;
        wake();
      },
      error() {
        closed = true;
        wake();
      },
    },
  });
  return {
    /** The answer to GET `path` on this connection, or null when the connection closed without one. */
    async get(path: string): Promise<{ status: number; headers: Record<string, string>; body: string } | null> {
      received = Buffer.alloc(0);
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
      for (;;) {
        const end = received.indexOf("\r\n\r\n");
        if (end >= 0) {
          const [statusLine, ...lines] = received.subarray(0, end).toString("latin1").split("\r\n");
          const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
          const length = Number(headers["content-length"] ?? 0);
          if (received.length >= end + 4 + length) return { status: Number(statusLine!.split(" ")[1]), headers, body: received.subarray(end + 4, end + 4 + length).toString() };
        }
        if (closed) return null;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    close: () => socket.end(),
  };
}

describe("signals", () => {
  test("SIGTERM stops admission, answers the requests already admitted, and exits 0", async () => {
    // A lone image waits for its partial batch this long, so it is still in flight when SIGTERM arrives.
    const server = await startServerProcess({ MODEL_CACHE_DIR: cache, PRELOAD_MODELS: "colour-probe/1", BATCH_MAX_WAIT_MS: "1500", MAX_BATCH_SIZE: "4" });
    const inFlight = server.post("/infer/object_detection", body("colour-probe/1"));
    await Bun.sleep(300);
    const exited = server.stop();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect((await res.json()).predictions).toBeArray();
    expect(await exited).toBe(0);
    expect(server.output()).toContain("SIGTERM: draining and stopping");
  });

  test("SIGHUP drains like SIGTERM: every request in flight is answered, a request on a kept-alive connection gets 503 with Connection: close, and the exit is 0", async () => {
    // Up to 32 images wait for their partial batch this long, so all 17 are still in flight when SIGHUP arrives.
    const server = await startServerProcess({ MODEL_CACHE_DIR: cache, PRELOAD_MODELS: "colour-probe/1", BATCH_MAX_WAIT_MS: "2000", MAX_BATCH_SIZE: "32" });
    const connection = await keptAlive(server.url);
    expect((await connection.get("/healthz"))?.status).toBe(200);
    const inFlight = Array.from({ length: 17 }, () =>
      server.post("/infer/object_detection", body("colour-probe/1")).then(
        (r) => r.status,
        (e: Error) => e.message,
      ),
    );
    await Bun.sleep(500);
    process.kill(server.pid, "SIGHUP");
    await Bun.sleep(300);
    const during = await connection.get("/healthz");
    expect(during).toMatchObject({ status: 503, headers: { connection: "close", "retry-after": "1" } });
    expect(JSON.parse(during!.body).message).toBe("Server is shutting down. Retry on another connection.");
    connection.close();
    expect(await Promise.all(inFlight)).toEqual(new Array(17).fill(200));
    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain("SIGHUP: draining and stopping");
  }, 30_000);
});

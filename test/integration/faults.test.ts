// Specification of fault containment over real HTTP: broken model packages are refused at load with a clear
// message while other models keep serving, and SIGTERM drains admitted requests before exiting 0.
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
  png = (await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 10, g: 200, b: 90 } } }).png().toBuffer()).toString("base64");
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

describe("SIGTERM", () => {
  test("stops admission, answers the requests already admitted, and exits 0", async () => {
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
});

// Specification of a newcomer's first start: the demo model is built into an empty cache and served, and SIGTERM stops cleanly.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { startServerProcess } from "./server-process.ts";

const cacheDir = mkdtempSync(join(tmpdir(), "demo-cache-"));

afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

test("builds the demo model on first start, serves it without a network, and exits 0 on SIGTERM", async () => {
  const server = await startServerProcess({ MODEL_CACHE_DIR: cacheDir, DEMO_MODEL_ID: "demo-shapes/1", PRELOAD_MODELS: "demo-shapes/1" });
  try {
    for (const file of ["weights.onnx", "environment.json", "class_names.txt", "model_type.json"]) {
      expect(existsSync(join(cacheDir, "demo-shapes/1", file))).toBe(true);
    }
    expect(readFileSync(join(cacheDir, "demo-shapes/1/class_names.txt"), "utf8").trim().split("\n")).toEqual(["circle", "square", "triangle", "hex-nut", "blob"]);

    const info = await (await fetch(`${server.url}/info`)).json();
    expect(info.execution_provider).toBe("cpu");

    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="500" height="375"><rect width="500" height="375" fill="#335"/><circle cx="150" cy="150" r="80" fill="#e33"/><rect x="280" y="180" width="150" height="120" fill="#3c6"/></svg>`;
    const image = (await sharp(Buffer.from(svg)).jpeg().toBuffer()).toString("base64");
    const res = await server.post("/infer/object_detection", { model_id: "demo-shapes/1", image: { type: "base64", value: image }, confidence: 0.3 });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.image).toEqual({ width: 500, height: 375 });
    expect(body.predictions.length).toBeGreaterThan(0);
    for (const p of body.predictions) {
      expect(["circle", "square", "triangle", "hex-nut", "blob"]).toContain(p.class);
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(500);
    }
  } finally {
    expect(await server.stop()).toBe(0);
  }
  expect(server.output()).toContain("SIGTERM: draining and stopping");
});

// The README's example (README "Demo"): draws examples/shapes.jpg, a hand-placed scene with every demo class, then
// sends it to a server running the demo models and writes what comes back beside it:
//   examples/shapes-detections.json    POST /infer/object_detection (demo-shapes/1)
//   examples/shapes-detections.jpg     POST /demo-shapes/1?format=image&labels=true (the server's drawing)
//   examples/shapes-segmentation.jpg   POST /infer/instance_segmentation (demo-shapes-seg/1) with visualize_predictions
//   bun scripts/demo/example.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startBenchServer } from "../../bench/server-process.ts";
import { placedShape, renderSceneJpeg, type SceneSpec } from "./scenes.ts";

const EXAMPLES = resolve(import.meta.dir, "../../examples");

/** 1280x720, a dark gradient, the five classes filled and outlined, two shapes overlapping. */
export const EXAMPLE_SCENE: SceneSpec = {
  width: 1280,
  height: 720,
  background: { kind: "linear", from: "#1d2b45", to: "#3d5579", angle: 30 },
  texture: { cells: 6, opacity: 0.12, seed: 7 },
  shapes: [
    placedShape(0, 210, 230, 220, 1, { style: "filled", colour: "#f2c14e", strokeWidth: 0 }),
    placedShape(1, 560, 200, 170, 2, { style: "filled", colour: "#e8eef7", strokeWidth: 0 }),
    placedShape(2, 900, 250, 230, 3, { style: "outlined", colour: "#f78c6b", strokeWidth: 16 }),
    placedShape(3, 1130, 540, 190, 4, { style: "filled", colour: "#c0c7d1", strokeWidth: 0 }),
    placedShape(4, 400, 520, 240, 5, { style: "filled", colour: "#7bd389", strokeWidth: 0 }),
    placedShape(0, 720, 560, 120, 6, { style: "outlined", colour: "#9ad1f5", strokeWidth: 10 }),
    placedShape(1, 520, 640, 90, 7, { style: "filled", colour: "#f25f5c", strokeWidth: 0 }),
    placedShape(2, 960, 600, 70, 8, { style: "filled", colour: "#ffe066", strokeWidth: 0 }),
  ],
  noise: 3,
  blur: 0,
  jpegQuality: 90,
};

async function post(url: string, path: string, body: object): Promise<Response> {
  const response = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response;
}

if (import.meta.main) {
  const jpeg = await renderSceneJpeg(EXAMPLE_SCENE, 7);
  await Bun.write(join(EXAMPLES, "shapes.jpg"), jpeg);
  const cache = mkdtempSync(join(tmpdir(), "demo-example-"));
  const server = await startBenchServer("src/main.ts", { MODEL_CACHE_DIR: cache });
  try {
    const image = { type: "base64", value: Buffer.from(jpeg).toString("base64") };
    const detections = await (await post(server.url, "/infer/object_detection", { model_id: "demo-shapes/1", image })).json();
    // inference_id, detection_id and time change with every request: the committed answer shows their shape, not their values.
    await Bun.write(join(EXAMPLES, "shapes-detections.json"), JSON.stringify(detections, null, 2) + "\n");
    const drawn = await fetch(`${server.url}/demo-shapes/1?format=image&labels=true`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: image.value,
    });
    if (!drawn.ok) throw new Error(`format=image: ${drawn.status} ${await drawn.text()}`);
    await Bun.write(join(EXAMPLES, "shapes-detections.jpg"), await drawn.arrayBuffer());
    const segmentation = await (
      await post(server.url, "/infer/instance_segmentation", {
        model_id: "demo-shapes-seg/1",
        image,
        visualize_predictions: true,
        visualization_labels: true,
        visualization_stroke_width: 2,
      })
    ).json();
    await Bun.write(join(EXAMPLES, "shapes-segmentation.jpg"), Buffer.from(segmentation.visualization, "base64"));
    console.log(`${detections.predictions.length} detections, ${segmentation.predictions.length} segmented shapes; wrote ${EXAMPLES}/shapes*.{jpg,json}`);
  } finally {
    await server.stop();
    rmSync(cache, { recursive: true, force: true });
  }
}

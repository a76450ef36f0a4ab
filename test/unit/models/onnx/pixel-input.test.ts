// withPixelInput: the rewritten model takes HWC pixels (8-bit, or 8.8 fixed point) and answers what the exported model
// answers for the same pixels converted the reference's way (docs/compatibility.md §4, §4.1).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrtRuntime } from "../../../../native-bindings/ort.ts";
import type { PixelEncoding } from "../../../../src/models/input-encoding.ts";
import { withPixelInput } from "../../../../src/models/onnx/pixel-input.ts";
import { attr, OnnxGraph } from "../../../fixtures/onnx/graph.ts";

const dir = mkdtempSync(join(tmpdir(), "pixel-input-"));
const runtime = OrtRuntime.load();
afterAll(() => {
  runtime.release();
  rmSync(dir, { recursive: true, force: true });
});

const IMAGENET = { element: "uint8", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } satisfies PixelEncoding;
const UNIT = { element: "uint8", mean: [0, 0, 0], std: [1, 1, 1] } satisfies PixelEncoding;

/** images[batch, 3, 2, 4] -> a per-channel weighted sum of every pixel (so position and channel both matter). */
function probeModel(batch: number | string = "batch", inputName = "images"): Uint8Array {
  const g = new OnnxGraph("probe");
  const images = g.input(inputName, [batch, 3, 2, 4]);
  const weights = g.floats(
    "w",
    [1, 3, 2, 4],
    Array.from({ length: 24 }, (_, i) => (i % 7) - 3 + i / 10),
  );
  const weighted = g.op("Mul", [images, weights]);
  g.op("ReduceSum", [weighted, g.int64s("axes", [2, 3])], { keepdims: attr.int(0) }, "sums");
  g.output("sums", [batch, 3]);
  return g.toBytes({ opset: 17 });
}

function run(model: Uint8Array, input: Float32Array | Uint8Array | Uint16Array, shape: number[]): Float32Array {
  const path = join(dir, `m${Math.random()}.onnx`);
  writeFileSync(path, model);
  const session = runtime.createSession(path, { executionProviders: ["cpu"], intraOpThreads: 1 });
  try {
    const [out] = session.runAllocating([{ name: session.inputs[0]!.name, data: input, shape }]);
    return out!.data as Float32Array;
  } finally {
    session.release();
  }
}

/** CHW pixels and the reference's float tensor for them: ((v / 255) - mean) / std in float32. */
function pixels(batch: number, norm: PixelEncoding): { bytes: Uint8Array; floats: Float32Array } {
  const bytes = Uint8Array.from({ length: batch * 3 * 2 * 4 }, (_, i) => (i * 37 + 11) % 256);
  const f = Math.fround;
  const floats = Float32Array.from(bytes, (v, i) => {
    const c = Math.floor(i / 8) % 3;
    return f(f(f(v / 255) - f(norm.mean[c]!)) / f(norm.std[c]!));
  });
  return { bytes, floats };
}

describe("withPixelInput", () => {
  for (const [label, norm] of [
    ["unit", UNIT],
    ["ImageNet", IMAGENET],
  ] as const) {
    test(`the 8-bit model answers exactly what the exported model answers for the same pixels (${label} normalisation)`, () => {
      const exported = probeModel();
      const rewritten = withPixelInput(exported, norm);
      expect(rewritten).not.toBeNull();
      const { bytes, floats } = pixels(2, norm);
      const expected = run(exported, floats, [2, 3, 2, 4]);
      const actual = run(rewritten!.model, bytes, [2, 3, 2, 4]);
      expect(Array.from(actual)).toEqual(Array.from(expected));
    });

    test(`the 8.8 fixed-point model answers what the exported model answers for whole levels (${label} normalisation)`, () => {
      const exported = probeModel();
      const rewritten = withPixelInput(exported, { ...norm, element: "uint16" });
      const { bytes, floats } = pixels(2, norm);
      const expected = run(exported, floats, [2, 3, 2, 4]);
      const actual = run(
        rewritten!.model,
        Uint16Array.from(bytes, (v) => v * 256),
        [2, 3, 2, 4],
      );
      expect(Array.from(actual)).toEqual(Array.from(expected));
    });
  }

  test("8.8 fixed point carries fractions of a level", () => {
    const rewritten = withPixelInput(probeModel(), { ...UNIT, element: "uint16" })!;
    const half = run(rewritten.model, new Uint16Array(24).fill(128), [1, 3, 2, 4]);
    const one = run(rewritten.model, new Uint16Array(24).fill(256), [1, 3, 2, 4]);
    half.forEach((v, c) => expect(v).toBeCloseTo(one[c]! / 2, 6));
  });

  test("keeps the input's name and reports the exported shape, dim names and fixed sizes", () => {
    expect(withPixelInput(probeModel("batch", "pixel_values"), UNIT)!.exported).toEqual({ name: "pixel_values", shape: ["batch", 3, 2, 4] });
    expect(withPixelInput(probeModel(1), UNIT)!.exported).toEqual({ name: "images", shape: [1, 3, 2, 4] });
  });

  test("the rewritten input keeps its [batch, 3, height, width] dims, with the encoding's element", () => {
    for (const element of ["uint8", "uint16"] as const) {
      const path = join(dir, `shape-${element}.onnx`);
      writeFileSync(path, withPixelInput(probeModel(), { ...UNIT, element })!.model);
      const session = runtime.createSession(path, { executionProviders: ["cpu"], intraOpThreads: 1 });
      expect(session.inputs).toEqual([{ name: "images", elementType: element, shape: ["batch", 3, 2, 4] }]);
      session.release();
    }
  });

  test("leaves models alone whose image input is not float32 with 3 channels first", () => {
    const g = new OnnxGraph("hwc");
    g.op("Identity", [g.input("x", ["batch", 2, 4, 3])], {}, "y");
    g.output("y", ["batch", 2, 4, 3]);
    expect(withPixelInput(g.toBytes({ opset: 17 }), UNIT)).toBeNull();
    const bytes = new OnnxGraph("u8");
    bytes.op("Identity", [bytes.input("x", ["batch", 3, 2, 4], "uint8")], {}, "y");
    bytes.output("y", ["batch", 3, 2, 4], "uint8");
    expect(withPixelInput(bytes.toBytes({ opset: 17 }), UNIT)).toBeNull();
  });

  test("refuses bytes that are not an ONNX model", () => {
    expect(() => withPixelInput(new TextEncoder().encode("not a model at all"), UNIT)).toThrow();
  });
});

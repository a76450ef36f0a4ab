// Tests of the ONNX Runtime wrapper (native-bindings/ort.ts) on tiny models built with our own ONNX writer.
import { afterAll, beforeAll, describe, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { locateOrtLibrary } from "../../../native-bindings/locate.ts";
import { OrtError, OrtRuntime, type OrtSession } from "../../../native-bindings/ort.ts";
import { OnnxGraph, attr } from "../../fixtures/onnx/graph.ts";

const METADATA = { names: "{0: 'cat', 1: 'dog', 2: 'bird'}", imgsz: "[640, 640]", task: "classify" };
const BIAS = [10, 20, 30];

let dir: string;
let runtime: OrtRuntime;
/** images[batch, 3] + bias → scores[batch, 3]; ArgMax(scores, axis 1) → best[batch] (int64). */
let scorerPath: string;
/** x[?, 2] → Identity → y[?, 2], the batch dim left unnamed. */
let unnamedPath: string;

function writeModel(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function scorerModel(): Uint8Array {
  const g = new OnnxGraph("scorer");
  const images = g.input("images", ["batch", 3]);
  const scores = g.op("Add", [images, g.floats("bias", [3], BIAS)], {}, "scores");
  g.op("ArgMax", [scores], { axis: attr.int(1), keepdims: attr.int(0) }, "best");
  g.output("scores", ["batch", 3]);
  g.output("best", ["batch"], "int64");
  return g.toBytes({ opset: 17, metadata: METADATA });
}

function unnamedBatchModel(): Uint8Array {
  const g = new OnnxGraph("unnamed");
  g.op("Identity", [g.input("x", ["", 2])], {}, "y");
  g.output("y", ["", 2]);
  return g.toBytes({ opset: 17 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ort-bindings-"));
  scorerPath = writeModel("scorer.onnx", scorerModel());
  unnamedPath = writeModel("unnamed.onnx", unnamedBatchModel());
  runtime = OrtRuntime.load();
});

afterAll(() => {
  runtime.release();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` with a fresh session, releasing it afterwards. */
function withSession<T>(path: string, body: (session: OrtSession) => T): T {
  const session = runtime.createSession(path, { executionProviders: ["cpu"] });
  try {
    return body(session);
  } finally {
    session.release();
  }
}

describe("OrtRuntime", () => {
  test("loads the bundled ONNX Runtime 1.29 and lists the CPU execution provider", () => {
    expect(runtime.version).toBe("1.29.0");
    expect(runtime.libraryPath).toBe(locateOrtLibrary());
    expect(runtime.availableProviders()).toContain("CPUExecutionProvider");
  });

  test("accepts ORT_LIB_PATH as the directory holding the library, and so does load", () => {
    const library = locateOrtLibrary();
    expect(locateOrtLibrary(dirname(library))).toBe(library);
    const fromFolder = OrtRuntime.load(dirname(library));
    expect(fromFolder.libraryPath).toBe(library);
    fromFolder.release();
  });

  test("names the paths it tried when the library is missing", () => {
    const missing = join(dir, "no-such-dir", "libonnxruntime.so");
    expect(() => OrtRuntime.load(locateOrtLibrary(missing))).toThrow(missing);
  });

  test("surfaces a corrupt model file as OrtError carrying ORT's message", () => {
    const corrupt = writeModel("corrupt.onnx", new TextEncoder().encode("this is not a protobuf"));
    let error: unknown;
    try {
      runtime.createSession(corrupt, { executionProviders: ["cpu"] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OrtError);
    expect((error as OrtError).message).toContain("Protobuf parsing failed");
    expect((error as OrtError).code).toBe(7); // ORT_INVALID_PROTOBUF
    expect((error as OrtError).apiFunction).toBe("CreateSession");
  });

  test("surfaces a missing model file as OrtError", () => {
    expect(() => runtime.createSession(join(dir, "absent.onnx"), { executionProviders: ["cpu"] })).toThrow(OrtError);
  });

  test("opens a model from its bytes, naming it in errors", () => {
    const session = runtime.createSession({ name: "the scorer", bytes: scorerModel() }, { executionProviders: ["cpu"] });
    expect(session.inputs.map((i) => i.name)).toEqual(["images"]);
    session.release();
    let error: unknown;
    try {
      runtime.createSession({ name: "garbage", bytes: new TextEncoder().encode("not a model") }, { executionProviders: ["cpu"] });
    } catch (caught) {
      error = caught;
    }
    expect((error as OrtError).apiFunction).toBe("CreateSessionFromArray");
    expect(() => runtime.createSession({ name: "the scorer", bytes: scorerModel() }, { executionProviders: ["cuda"] })).toThrow(/requested for the scorer but unavailable/);
  });

  test("rejects execution providers other than tensorrt, cuda and cpu", () => {
    expect(() => runtime.createSession(scorerPath, { executionProviders: ["rocm"] })).toThrow(/executionProviders/);
  });

  test("falls back to CPU when CUDA is preferred but unavailable, and reports cpu as the active provider", () => {
    // Where a CUDA library exists but cannot start, the fallback warns; keep test output quiet either way.
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      for (const executionProviders of [undefined, ["cuda", "cpu"]]) {
        const session = runtime.createSession(scorerPath, { executionProviders, deviceId: 0 });
        expect(session.activeProvider).toBe("cpu");
        session.release();
      }
    } finally {
      warn.mockRestore();
    }
  });

  test("refuses a CUDA-only session when CUDA is unavailable instead of silently using CPU", () => {
    expect(() => runtime.createSession(scorerPath, { executionProviders: ["cuda"] })).toThrow(/CUDA execution provider requested/);
  });

  test("accepts thread counts and graph optimisation levels", () => {
    for (const graphOptimization of ["all", "extended", "basic", "disabled"] as const) {
      const session = runtime.createSession(scorerPath, {
        executionProviders: ["cpu"],
        intraOpThreads: 1,
        interOpThreads: 1,
        graphOptimization,
      });
      const [scores] = session.runAllocating([{ name: "images", data: new Float32Array([1, 2, 3]), shape: [1, 3] }]);
      expect(Array.from(scores!.data as Float32Array)).toEqual([11, 22, 33]);
      session.release();
    }
  });

  test("release is idempotent and also releases sessions still open", () => {
    const own = OrtRuntime.load();
    const session = own.createSession(scorerPath, { executionProviders: ["cpu"] });
    own.release();
    own.release();
    session.release();
    expect(() => session.runAllocating([])).toThrow(/after release/);
    expect(() => own.createSession(scorerPath)).toThrow(/after release/);
  });
});

describe("OrtSession signature", () => {
  test("reads input and output names, element types and shapes", () => {
    withSession(scorerPath, (session) => {
      expect(session.inputs).toEqual([{ name: "images", elementType: "float32", shape: ["batch", 3] }]);
      expect(session.outputs).toEqual([
        { name: "scores", elementType: "float32", shape: ["batch", 3] },
        { name: "best", elementType: "int64", shape: ["batch"] },
      ]);
    });
  });

  test("reads symbolic batch dimensions by name", () => {
    withSession(scorerPath, (session) => {
      expect(session.inputs[0]!.shape[0]).toBe("batch");
    });
  });

  test('reports an unnamed dynamic dimension as "?"', () => {
    withSession(unnamedPath, (session) => {
      expect(session.inputs[0]!.shape).toEqual(["?", 2]);
      expect(session.outputs[0]!.shape).toEqual(["?", 2]);
    });
  });

  test("reads the model's custom metadata map", () => {
    withSession(scorerPath, (session) => {
      expect(session.metadata).toEqual(METADATA);
    });
  });

  test("reads an empty metadata map when the model has none", () => {
    withSession(unnamedPath, (session) => {
      expect(session.metadata).toEqual({});
    });
  });
});

describe("OrtSession.run", () => {
  test("reads inputs from and writes outputs into SharedArrayBuffer views at non-zero offsets, in place", () => {
    withSession(scorerPath, (session) => {
      const shared = new SharedArrayBuffer(256);
      const whole = new Float32Array(shared).fill(-7);
      const images = new Float32Array(shared, 16, 6);
      images.set([1, 2, 3, 300, 2, 1]);
      const scores = new Float32Array(shared, 64, 6);
      const best = new BigInt64Array(shared, 128, 2);

      session.run(
        [{ name: "images", data: images, shape: [2, 3] }],
        [
          { name: "scores", data: scores, shape: [2, 3] },
          { name: "best", data: best, shape: [2] },
        ],
      );

      expect(Array.from(scores)).toEqual([11, 22, 33, 310, 22, 31]);
      expect(Array.from(best)).toEqual([2n, 0n]);
      // The bytes around each view are untouched: ORT wrote exactly where the views point.
      expect(whole[3]).toBe(-7);
      expect(whole[10]).toBe(-7);
      expect(whole[15]).toBe(-7);
      expect(whole[16 + 6]).toBe(-7);
      expect(whole[31]).toBe(-7);
      expect(whole[36]).toBe(-7);
    });
  });

  test("keeps working while the GC runs between calls over short-lived arrays", () => {
    withSession(scorerPath, (session) => {
      for (let i = 0; i < 50; i++) {
        const scores = new Float32Array(3);
        session.run([{ name: "images", data: new Float32Array([i, i, i]), shape: [1, 3] }], [{ name: "scores", data: scores, shape: [1, 3] }]);
        expect(Array.from(scores)).toEqual(BIAS.map((b) => b + i));
        if (i % 10 === 0) Bun.gc(true);
      }
    });
  });

  test("surfaces a wrong input shape as OrtError carrying ORT's message", () => {
    withSession(scorerPath, (session) => {
      let error: unknown;
      try {
        session.run([{ name: "images", data: new Float32Array(4), shape: [1, 4] }], [{ name: "scores", data: new Float32Array(3), shape: [1, 3] }]);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(OrtError);
      expect((error as OrtError).message).toContain("Got invalid dimensions for input: images");
      expect((error as OrtError).code).toBe(2); // ORT_INVALID_ARGUMENT
      expect((error as OrtError).apiFunction).toBe("Run");
    });
  });

  test("rejects zero-length tensors before calling ORT", () => {
    withSession(scorerPath, (session) => {
      expect(() => session.run([{ name: "images", data: new Float32Array(0), shape: [0, 3] }], [{ name: "scores", data: new Float32Array(3), shape: [1, 3] }])).toThrow(
        /zero-length tensors cannot be bound/,
      );
    });
  });

  test("rejects a typed array that does not match the declared element type", () => {
    withSession(scorerPath, (session) => {
      expect(() => session.run([{ name: "images", data: new Uint8Array(3), shape: [1, 3] }], [{ name: "scores", data: new Float32Array(3), shape: [1, 3] }])).toThrow(
        /expected a Float32Array, got a Uint8Array/,
      );
    });
  });

  test("rejects a shape that does not match the array's length", () => {
    withSession(scorerPath, (session) => {
      expect(() => session.run([{ name: "images", data: new Float32Array(6), shape: [1, 3] }], [{ name: "scores", data: new Float32Array(3), shape: [1, 3] }])).toThrow(
        /holds 3 elements but the array has 6/,
      );
    });
  });

  test("rejects names the model does not declare", () => {
    withSession(scorerPath, (session) => {
      expect(() => session.run([{ name: "pixels", data: new Float32Array(3), shape: [1, 3] }], [])).toThrow(/no input named "pixels"/);
    });
  });
});

describe("OrtSession.runAllocating", () => {
  test("returns copies of every output with its concrete shape", () => {
    withSession(scorerPath, (session) => {
      const outputs = session.runAllocating([{ name: "images", data: new Float32Array([5, 0, 0, 0, 0, 5]), shape: [2, 3] }]);
      expect(outputs.map(({ name, elementType, shape }) => ({ name, elementType, shape }))).toEqual([
        { name: "scores", elementType: "float32", shape: [2, 3] },
        { name: "best", elementType: "int64", shape: [2] },
      ]);
      expect(outputs[0]!.data).toBeInstanceOf(Float32Array);
      expect(Array.from(outputs[0]!.data as Float32Array)).toEqual([15, 20, 30, 10, 20, 35]);
      expect(Array.from(outputs[1]!.data as BigInt64Array)).toEqual([2n, 2n]);
    });
  });
});

describe("handing a session to another thread", () => {
  test("a session detached here runs and is released on a worker thread that adopts its handle", async () => {
    const session = runtime.createSession(scorerPath, { executionProviders: ["cpu"] });
    const handle = session.detach();
    expect(() => session.run([], [])).toThrow(/used after release/);
    const worker = new Worker(new URL("./adopting.worker.ts", import.meta.url));
    try {
      const answer = await new Promise<{ scores?: number[]; inputs?: string[]; error?: string }>((resolve) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.postMessage({ handle, images: [1, 2, 3] });
      });
      expect(answer.error).toBeUndefined();
      expect(answer.inputs).toEqual(["images"]);
      expect(answer.scores).toEqual([11, 22, 33]);
    } finally {
      worker.terminate();
    }
  });

  test("detaching leaves the session out of its runtime's release", () => {
    const other = OrtRuntime.load();
    const handle = other.createSession(scorerPath, { executionProviders: ["cpu"] }).detach();
    other.release();
    const adopted = runtime.adoptSession(handle, "cpu");
    try {
      const scores = new Float32Array(3);
      adopted.run([{ name: "images", data: new Float32Array([0, 0, 0]), shape: [1, 3] }], [{ name: "scores", data: scores, shape: [1, 3] }]);
      expect(Array.from(scores)).toEqual(BIAS);
    } finally {
      adopted.release();
    }
  });
});

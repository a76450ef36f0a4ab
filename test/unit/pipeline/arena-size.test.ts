// Specification of arena sizing: the slots a model's arena gets, and MAX_ARENA_BYTES refusing an arena that is too large.
import { describe, expect, test } from "bun:test";
import { Arena } from "../../../src/workers/arena.ts";
import { ARENA_BYTES_CEILING, arenaLayoutFor, arenaSizeProblem, checkArenaSize, importArenaProblem } from "../../../src/pipeline/arena-size.ts";

const yolov8nOutputs = [{ name: "output0", shape: [84, 8400] }];

describe("arenaLayoutFor", () => {
  test("rounds ARENA_SLOTS up to whole batches, at least one, with scratch slots for a fixed batch", () => {
    const size = { width: 640, height: 480, element: "float32" } as const;
    expect(arenaLayoutFor({ capacity: 32, fixed: false }, 64, size, yolov8nOutputs)).toEqual({
      slots: 64,
      paddingSlots: 0,
      inputShape: [3, 480, 640],
      inputElement: "float32",
      outputs: yolov8nOutputs,
    });
    expect(arenaLayoutFor({ capacity: 32, fixed: false }, 40, size, yolov8nOutputs).slots).toBe(64);
    expect(arenaLayoutFor({ capacity: 8, fixed: true }, 4, size, yolov8nOutputs)).toMatchObject({ slots: 8, paddingSlots: 7 });
  });

  test("pixel inputs take a quarter (8 bits) or a half (16 bits) of the float tensor's bytes", () => {
    const floats = arenaLayoutFor({ capacity: 32, fixed: false }, 64, { width: 640, height: 640, element: "float32" }, yolov8nOutputs);
    const bytes = arenaLayoutFor({ capacity: 32, fixed: false }, 64, { width: 640, height: 640, element: "uint8" }, yolov8nOutputs);
    expect(bytes).toMatchObject({ inputShape: [3, 640, 640], inputElement: "uint8" });
    const outputBytes = 64 * 84 * 8400 * 4;
    expect(Arena.byteLength(floats) - outputBytes).toBeGreaterThan(4 * (Arena.byteLength(bytes) - outputBytes) - 4096);
    expect(new Arena(bytes, new SharedArrayBuffer(Arena.byteLength(bytes))).input(0)).toBeInstanceOf(Uint8Array);
    const fixed = arenaLayoutFor({ capacity: 32, fixed: false }, 64, { width: 640, height: 640, element: "uint16" }, yolov8nOutputs);
    expect(Math.abs(Arena.byteLength(fixed) - outputBytes - 2 * (Arena.byteLength(bytes) - outputBytes))).toBeLessThan(4096);
    expect(new Arena(fixed, new SharedArrayBuffer(Arena.byteLength(fixed))).input(0)).toBeInstanceOf(Uint16Array);
  });
});

describe("arenaSizeProblem", () => {
  test("passes an arena within the limit, and names the size, the slots and the setting of one over it", () => {
    const layout = arenaLayoutFor({ capacity: 32, fixed: false }, 64, { width: 3000, height: 3000, element: "float32" }, yolov8nOutputs);
    expect(Arena.byteLength(layout)).toBeGreaterThan(ARENA_BYTES_CEILING);
    expect(arenaSizeProblem(layout, 2 ** 40)).toBeNull();
    const problem = arenaSizeProblem(layout, ARENA_BYTES_CEILING)!;
    expect(problem).toStartWith("its arena would take 6764 MiB (64 slots of 106 MiB for a 3000x3000 input and its outputs), more than MAX_ARENA_BYTES (4096 MiB).");
    expect(() => checkArenaSize("big/1", layout, ARENA_BYTES_CEILING)).toThrow(expect.objectContaining({ status: 400, message: `Model big/1 cannot be loaded: ${problem}` }));
  });

  test("the import's check uses the server's batch and slot settings, or the model's fixed batch", () => {
    const problem = importArenaProblem({ maxBatchSize: 32, arenaSlots: 64, maxArenaBytes: 2 ** 30 });
    const input = { width: 1280, height: 1280 };
    expect(problem({ fixed: false, size: null }, input, [[84, 33600]])).toContain("64 slots");
    expect(problem({ fixed: true, size: 1 }, input, [[84, 33600]])).toContain("64 slots");
    expect(importArenaProblem({ maxBatchSize: 4, arenaSlots: 8, maxArenaBytes: 2 ** 30 })({ fixed: false, size: null }, input, [[84, 33600]])).toBeNull();
  });
});

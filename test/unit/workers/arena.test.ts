// Specification of the arena: the slot table of one model instance in shared memory.
import { describe, expect, test } from "bun:test";
import { Arena, type ArenaLayout } from "../../../src/workers/arena.ts";

const layout: ArenaLayout = { slots: 4, paddingSlots: 1, inputShape: [3, 2, 2], inputElement: "float32", outputs: [{ name: "out", shape: [5, 3] }] };

describe("Arena", () => {
  test("gives consecutive slots contiguous input and output memory, so a batch is a pointer and a length", () => {
    const arena = Arena.allocate(layout);
    const batch = arena.input(1, 2);
    expect(batch.length).toBe(2 * 12);
    expect(batch.byteOffset).toBe(arena.input(1).byteOffset);
    expect(arena.input(2).byteOffset).toBe(arena.input(1).byteOffset + 12 * 4);
    expect(arena.output(0, 1, 3).length).toBe(3 * 15);
    expect(arena.output(0, 2).byteOffset).toBe(arena.output(0, 1).byteOffset + 15 * 4);
  });

  test("keeps float regions 16-byte aligned", () => {
    const arena = Arena.allocate({ ...layout, inputShape: [3, 1, 1], outputs: [{ name: "o", shape: [3] }] });
    expect(arena.input(0).byteOffset % 16).toBe(0);
    expect(arena.output(0, 0).byteOffset % 16).toBe(0);
  });

  test("sees the same memory from a second view over the same buffer (another thread's view)", () => {
    const a = Arena.allocate(layout);
    const b = new Arena(layout, a.buffer);
    a.input(3)[0] = 42;
    b.output(0, 4)[14] = 7;
    expect(b.input(3)[0]).toBe(42);
    expect(a.output(0, 4)[14]).toBe(7);
  });

  test("refuses views outside the arena, padding slots included in the bound", () => {
    const arena = Arena.allocate(layout);
    expect(() => arena.input(4, 2)).toThrow(RangeError);
    expect(() => arena.output(0, -1)).toThrow(RangeError);
    expect(arena.input(4).length).toBe(12);
  });
});

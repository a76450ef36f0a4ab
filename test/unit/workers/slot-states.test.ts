// Specification of the slot state diagram: every arrow moves only from its own source state, by compare-and-swap.
import { describe, expect, test } from "bun:test";
import { Arena, SlotState, type SlotStateValue } from "../../../src/workers/arena.ts";
import { batchDone, batchFailed, claim, claimReadyPrefix, inputWritten, releaseAssigned, releaseInferred, withdrawReady } from "../../../src/workers/slot-states.ts";

const { FREE, ASSIGNED, READY, RUNNING, INFERRED } = SlotState;

describe("claimReadyPrefix", () => {
  test("claims every planned slot when all are still READY, and only those", () => {
    const states = new Int32Array([READY, READY, READY, READY, READY]);
    expect(claimReadyPrefix(states, 1, 3)).toBe(3);
    expect(Array.from(states)).toEqual([READY, RUNNING, RUNNING, RUNNING, READY]);
  });

  test("stops at the first slot another worker took, leaving the rest READY for others", () => {
    const states = new Int32Array([READY, READY, RUNNING, READY]);
    expect(claimReadyPrefix(states, 0, 4)).toBe(2);
    expect(Array.from(states)).toEqual([RUNNING, RUNNING, RUNNING, READY]);
  });

  test("claims nothing when the first planned slot is no longer READY", () => {
    for (const taken of [FREE, ASSIGNED, RUNNING, INFERRED]) {
      const states = new Int32Array([taken, READY]);
      expect(claimReadyPrefix(states, 0, 2)).toBe(0);
      expect(Array.from(states)).toEqual([taken, READY]);
    }
  });

  test("two workers planning the same run split it without sharing a slot", () => {
    const states = new Int32Array(new SharedArrayBuffer(4 * 6)).fill(READY);
    const first = claimReadyPrefix(states, 0, 4);
    const second = claimReadyPrefix(states, 0, 4);
    expect([first, second]).toEqual([4, 0]);
    // The second worker's next plan starts after the first worker's batch.
    expect(claimReadyPrefix(states, 4, 2)).toBe(2);
    expect(Array.from(states).every((s) => s === RUNNING)).toBe(true);
  });
});

const ALL: SlotStateValue[] = [FREE, ASSIGNED, READY, RUNNING, INFERRED];

function arenaIn(state: SlotStateValue): Arena {
  const arena = Arena.allocate({ slots: 1, paddingSlots: 0, inputShape: [1], inputElement: "float32", outputs: [] });
  Atomics.store(arena.states, 0, state);
  return arena;
}

describe("single-slot arrows", () => {
  const arrows: [string, (arena: Arena) => boolean, SlotStateValue, SlotStateValue][] = [
    ["claim", (a) => claim(a, 0), FREE, ASSIGNED],
    ["inputWritten", (a) => inputWritten(a, 0), ASSIGNED, READY],
    ["withdrawReady", (a) => withdrawReady(a, 0), READY, FREE],
    ["releaseAssigned", (a) => releaseAssigned(a, 0), ASSIGNED, FREE],
    ["releaseInferred", (a) => releaseInferred(a, 0), INFERRED, FREE],
  ];
  for (const [name, move, from, to] of arrows) {
    test(`${name} moves ${from} to ${to} and leaves every other state alone`, () => {
      for (const state of ALL) {
        const arena = arenaIn(state);
        expect(move(arena)).toBe(state === from);
        expect(arena.state(0)).toBe(state === from ? to : state);
      }
    });
  }

  test("inputWritten stamps the time the batcher orders slots by", () => {
    const arena = arenaIn(ASSIGNED);
    inputWritten(arena, 0);
    expect(arena.readyAt[0]).toBeGreaterThan(0);
  });
});

describe("batch arrows", () => {
  test("batchDone moves only RUNNING slots of the batch to INFERRED", () => {
    const states = new Int32Array([RUNNING, RUNNING, READY, RUNNING]);
    batchDone(states, 0, 3);
    expect(Array.from(states)).toEqual([INFERRED, INFERRED, READY, RUNNING]);
  });

  test("batchFailed gives RUNNING slots of the batch back to their requests as ASSIGNED", () => {
    const states = new Int32Array([RUNNING, RUNNING, FREE]);
    batchFailed(states, 0, 3);
    expect(Array.from(states)).toEqual([ASSIGNED, ASSIGNED, FREE]);
  });
});

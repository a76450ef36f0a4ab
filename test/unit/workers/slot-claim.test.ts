// Specification of slot claiming: the contiguous prefix of a planned batch that is still READY becomes this worker's.
import { describe, expect, test } from "bun:test";
import { SlotState } from "../../../src/workers/arena.ts";
import { claimReadyPrefix } from "../../../src/workers/slot-claim.ts";

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

// Slot claiming: how an inference worker takes a planned run of READY slots for itself, so that several workers batching one arena never run a slot twice.
import { SlotState } from "./arena.ts";

/**
 * Moves slots start, start+1, … (at most `count`) from READY to RUNNING by compare-and-swap, stopping at the first
 * one that is not READY any more (another worker took it since the plan was made, or its request was cancelled).
 * Returns how many it claimed: the batch to run is that contiguous prefix, and none when it is 0.
 */
export function claimReadyPrefix(states: Int32Array, start: number, count: number): number {
  let claimed = 0;
  while (claimed < count && Atomics.compareExchange(states, start + claimed, SlotState.READY, SlotState.RUNNING) === SlotState.READY) {
    claimed++;
  }
  return claimed;
}

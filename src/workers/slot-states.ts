// Slot states: every move of an arena slot's state word, one function per arrow, each a compare-and-swap that says whether it happened.
//
//   FREE ──claim (main)──▶ ASSIGNED ──inputWritten (vision)──▶ READY ──claimReadyPrefix (inference)──▶ RUNNING
//    ▲                        │  ▲                                │                                     │  │
//    │                        │  └──────────────── batchFailed (inference) ──────────────────────────────┘  │
//    ├──releaseAssigned (main)┘                                   │                               batchDone (inference)
//    ├──withdrawReady (main) ◀────────────────────────────────────┘                                        ▼
//    └──releaseInferred (main) ◀────────────────────────────────────────────────────────────────────── INFERRED
//
// The main thread owns a slot whenever no worker is working on it: it claims it for a request (ASSIGNED), hands it to a
// vision worker to write the input, and takes it back when that request is answered or abandoned: from ASSIGNED (the
// input was never made ready, or a failed batch gave it back), from READY (no batch took it yet, by compare-and-swap:
// an inference worker may be claiming it at that moment) or from INFERRED (outputs read or no longer wanted). A RUNNING
// slot belongs to its inference worker until the batch reports; only then may the main thread release it. So a slot
// goes back to FREE on the main thread alone, and never while a worker could still write into it.
import { sharedNow, SlotState, type Arena, type SlotStateValue } from "./arena.ts";

function move(arena: Arena, slot: number, from: SlotStateValue, to: SlotStateValue): boolean {
  return Atomics.compareExchange(arena.states, slot, from, to) === from;
}

/** FREE -> ASSIGNED (main thread): the slot now belongs to one request. */
export function claim(arena: Arena, slot: number): boolean {
  return move(arena, slot, SlotState.FREE, SlotState.ASSIGNED);
}

/** ASSIGNED -> READY (vision worker, after writing the input): stamps the ready time the batcher orders by; false if the slot was taken back. */
export function inputWritten(arena: Arena, slot: number): boolean {
  arena.readyAt[slot] = sharedNow();
  return move(arena, slot, SlotState.ASSIGNED, SlotState.READY);
}

/**
 * READY -> RUNNING (inference worker) for slots start, start+1, … (at most `count`), stopping at the first one that is
 * not READY any more (another worker took it since the plan was made, or its request withdrew it). Returns how many it
 * claimed: the batch to run is that contiguous prefix, none when 0.
 */
export function claimReadyPrefix(states: Int32Array, start: number, count: number): number {
  let claimed = 0;
  while (claimed < count && Atomics.compareExchange(states, start + claimed, SlotState.READY, SlotState.RUNNING) === SlotState.READY) {
    claimed++;
  }
  return claimed;
}

/** RUNNING -> INFERRED (inference worker) for slots start..start+count-1: their outputs are written. */
export function batchDone(states: Int32Array, start: number, count: number): void {
  for (let slot = start; slot < start + count; slot++) Atomics.compareExchange(states, slot, SlotState.RUNNING, SlotState.INFERRED);
}

/** RUNNING -> ASSIGNED (inference worker) for slots start..start+count-1: the batch failed, the slots go back to their requests. */
export function batchFailed(states: Int32Array, start: number, count: number): void {
  for (let slot = start; slot < start + count; slot++) Atomics.compareExchange(states, slot, SlotState.RUNNING, SlotState.ASSIGNED);
}

/** READY -> FREE (main thread): false when an inference worker claimed the slot first (it is then RUNNING). */
export function withdrawReady(arena: Arena, slot: number): boolean {
  return move(arena, slot, SlotState.READY, SlotState.FREE);
}

/** ASSIGNED -> FREE (main thread): no worker holds the slot (its input task is over, or its failed batch gave it back). */
export function releaseAssigned(arena: Arena, slot: number): boolean {
  return move(arena, slot, SlotState.ASSIGNED, SlotState.FREE);
}

/** INFERRED -> FREE (main thread): its outputs were read, or nobody wants them any more. */
export function releaseInferred(arena: Arena, slot: number): boolean {
  return move(arena, slot, SlotState.INFERRED, SlotState.FREE);
}

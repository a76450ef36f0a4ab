// Batching policy: a pure function from the arenas' slot states to the next ONNX Runtime call.
//
// Greedy like Triton's dynamic batcher: whenever the device is free, run what is ready, capped
// at the model's batch capacity, optionally holding a partial batch up to `maxWaitMs` to let
// it fill. Across models the one whose oldest READY slot is oldest goes first (fair). A batch is
// a run of consecutive READY slots, because a batch must be contiguous in shared memory to be
// passed to ORT without copying. Cancelled requests never reach here: their slots leave READY.
import { SlotState } from "./arena.ts";

export interface ModelQueueView {
  /** The model instance whose arena this is. */
  instance: number;
  /** Slot state words (SlotState values); padding slots follow the `slots` assignable ones. */
  states: ArrayLike<number>;
  readyAt: ArrayLike<number>;
  /** Assignable slots (padding excluded). */
  slots: number;
  /** Most images one call may take: MAX_BATCH_SIZE for dynamic models, the ONNX batch dim for fixed ones. */
  batchCapacity: number;
  /** A fixed ONNX batch dimension: every call runs exactly `batchCapacity` rows. */
  fixedBatch: boolean;
}

/** The batching section of the configuration, handed to the model host, the session loaders and the inference workers. */
export interface BatchingSettings {
  /** Largest batch one ONNX Runtime call runs for dynamic-batch models. */
  maxBatchSize: number;
  /** How long the batcher may hold a partial batch to let it fill (0 = run what is ready at once). */
  batchMaxWaitMs: number;
  /** Time batch sizes when a dynamic-batch model loads and cap its batches where larger ones stop paying off per image. */
  batchSizeProbe: boolean;
}

export interface BatchPolicy {
  maxWaitMs: number;
}

export type BatchPlan =
  /** Run slots [start, start+count); `rows` is the tensor's batch size (> count only for fixed batches). */
  | { kind: "run"; instance: number; start: number; count: number; rows: number }
  /** Something is ready but should wait (for a batch to fill, or for a clash to clear); look again after `ms`. */
  | { kind: "wait"; ms: number }
  | { kind: "idle" };

interface Candidate {
  instance: number;
  start: number;
  count: number;
  rows: number;
  oldest: number;
  /** How long the max-wait policy still holds this partial batch back (0 = run now). */
  waitMs: number;
}

/** The run of consecutive READY slots around `slot`: [first, end). */
function readyRunAround(states: ArrayLike<number>, slots: number, slot: number): [number, number] {
  let first = slot;
  while (first > 0 && states[first - 1] === SlotState.READY) first--;
  let end = slot + 1;
  while (end < slots && states[end] === SlotState.READY) end++;
  return [first, end];
}

/** True when a fixed-size window would overwrite outputs another request still needs. */
function windowClobbersResults(states: ArrayLike<number>, start: number, rows: number, count: number): boolean {
  for (let i = start + count; i < start + rows; i++) {
    const s = states[i];
    if (s === SlotState.INFERRED || s === SlotState.RUNNING) return true;
  }
  return false;
}

function candidateFor(model: ModelQueueView, now: number, policy: BatchPolicy): Candidate | "blocked" | null {
  const { states, readyAt, slots } = model;
  let oldestSlot = -1;
  for (let i = 0; i < slots; i++) {
    if (states[i] !== SlotState.READY) continue;
    if (oldestSlot < 0 || readyAt[i]! < readyAt[oldestSlot]!) oldestSlot = i;
  }
  if (oldestSlot < 0) return null;

  const [first, end] = readyRunAround(states, slots, oldestSlot);
  const count = Math.min(model.batchCapacity, end - first);
  // The earliest window of `count` slots inside the run that still contains the oldest slot.
  const start = Math.max(first, oldestSlot - count + 1);
  const rows = model.fixedBatch ? model.batchCapacity : count;
  if (model.fixedBatch && windowClobbersResults(states, start, rows, count)) return "blocked";

  const oldest = readyAt[oldestSlot]!;
  const age = now - oldest;
  const waitMs = count < model.batchCapacity && age < policy.maxWaitMs ? policy.maxWaitMs - age : 0;
  return { instance: model.instance, start, count, rows, oldest, waitMs };
}

/** Decides the next batch to run, or how long to wait before asking again. */
export function nextBatch(models: readonly ModelQueueView[], now: number, policy: BatchPolicy): BatchPlan {
  let best: Candidate | null = null;
  let shortestWait = Number.POSITIVE_INFINITY;
  let blocked = false;
  for (const model of models) {
    const candidate = candidateFor(model, now, policy);
    if (candidate === null) continue;
    if (candidate === "blocked") {
      blocked = true;
      continue;
    }
    if (candidate.waitMs > 0) {
      shortestWait = Math.min(shortestWait, candidate.waitMs);
      continue;
    }
    if (best === null || candidate.oldest < best.oldest) best = candidate;
  }
  if (best) return { kind: "run", instance: best.instance, start: best.start, count: best.count, rows: best.rows };
  if (Number.isFinite(shortestWait)) return { kind: "wait", ms: shortestWait };
  // A fixed-batch window is waiting for postprocessing to free its neighbours: poll soon.
  if (blocked) return { kind: "wait", ms: 1 };
  return { kind: "idle" };
}

// Specification of the batching policy (pure: no threads, no ORT).
import { describe, expect, test } from "bun:test";
import { SlotState } from "../../../src/workers/arena.ts";
import { nextBatch, type ModelQueueView } from "../../../src/workers/batcher.ts";

const { FREE: F, ASSIGNED: A, READY: R, RUNNING: X, INFERRED: I } = SlotState;

function model(instance: number, states: number[], readyAt: number[] = states.map((_, i) => 100 + i), options: Partial<ModelQueueView> = {}): ModelQueueView {
  return { instance, states, readyAt, slots: states.length, batchCapacity: 32, fixedBatch: false, ...options };
}

const greedy = { maxWaitMs: 0 };

describe("nextBatch", () => {
  test("is idle when nothing is ready", () => {
    expect(nextBatch([model(1, [F, A, X, I])], 1000, greedy)).toEqual({ kind: "idle" });
    expect(nextBatch([], 1000, greedy)).toEqual({ kind: "idle" });
  });

  test("runs a single ready slot at once when no wait is configured", () => {
    expect(nextBatch([model(1, [F, R, F])], 1000, greedy)).toEqual({ kind: "run", instance: 1, start: 1, count: 1, rows: 1 });
  });

  test("takes the whole run of consecutive ready slots", () => {
    expect(nextBatch([model(1, [F, R, R, R, A])], 1000, greedy)).toEqual({ kind: "run", instance: 1, start: 1, count: 3, rows: 3 });
  });

  test("never batches across a slot that is not ready, because a batch must be contiguous", () => {
    const plan = nextBatch([model(1, [R, R, A, R, R, R], [1, 2, 3, 4, 5, 6])], 1000, greedy);
    expect(plan).toEqual({ kind: "run", instance: 1, start: 0, count: 2, rows: 2 });
  });

  test("serves the run holding the oldest ready slot first", () => {
    const plan = nextBatch([model(1, [R, R, A, R, R, R], [50, 60, 0, 10, 20, 30])], 1000, greedy);
    expect(plan).toEqual({ kind: "run", instance: 1, start: 3, count: 3, rows: 3 });
  });

  test("caps a batch at the model's batch capacity and keeps the oldest slot in it", () => {
    const states = Array(10).fill(R);
    const readyAt = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    const plan = nextBatch([model(1, states, readyAt, { batchCapacity: 4 })], 1000, greedy);
    expect(plan).toEqual({ kind: "run", instance: 1, start: 6, count: 4, rows: 4 });
  });

  test("prefers the model whose oldest ready request is oldest (fair across models)", () => {
    const a = model(2, [R, R, R], [500, 501, 502]);
    const b = model(3, [R, F, F], [400, 0, 0]);
    expect(nextBatch([a, b], 1000, greedy)).toMatchObject({ kind: "run", instance: 3 });
  });

  test("holds a partial batch up to the max wait, then runs it", () => {
    const m = model(1, [R, R, A, F], [1000, 1001, 0, 0], { batchCapacity: 4 });
    expect(nextBatch([m], 1002, { maxWaitMs: 5 })).toEqual({ kind: "wait", ms: 3 });
    expect(nextBatch([m], 1005, { maxWaitMs: 5 })).toMatchObject({ kind: "run", start: 0, count: 2 });
  });

  test("does not wait when the batch is already full", () => {
    const m = model(1, [R, R], [1000, 1000], { batchCapacity: 2 });
    expect(nextBatch([m], 1000, { maxWaitMs: 50 })).toMatchObject({ kind: "run", count: 2 });
  });

  test("runs a fixed-batch model with its full batch size of rows", () => {
    const m = model(1, [R, F, F, F, F, F, F], undefined, { slots: 4, batchCapacity: 4, fixedBatch: true });
    expect(nextBatch([m], 1000, greedy)).toEqual({ kind: "run", instance: 1, start: 0, count: 1, rows: 4 });
  });

  test("holds a fixed batch back while its padding rows would overwrite results not yet postprocessed", () => {
    const m = model(1, [R, I, F, F, F, F, F], undefined, { slots: 4, batchCapacity: 4, fixedBatch: true });
    expect(nextBatch([m], 1000, greedy)).toEqual({ kind: "wait", ms: 1 });
  });

  test("ignores ready padding slots beyond the assignable ones", () => {
    expect(nextBatch([model(1, [F, F, R], undefined, { slots: 2 })], 1000, greedy)).toEqual({ kind: "idle" });
  });
});

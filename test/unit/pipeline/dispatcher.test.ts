// Specification of the dispatcher's deadlines and cancellation: an abandoned request answers at once and gives its slot back.
//
// The arena, allocator and dispatcher are real; the vision pool is a stand-in that plays the
// workers' part on the slot states (preprocess marks READY, postprocess frees), and the test
// plays the inference worker (READY -> RUNNING -> INFERRED, then the batch report).
import { describe, expect, test } from "bun:test";
import { InferenceError } from "../../../src/errors.ts";
import type { LoadedModel, ModelRegistry } from "../../../src/models/registry.ts";
import { Arena, SlotState } from "../../../src/workers/arena.ts";
import { Dispatcher } from "../../../src/pipeline/dispatcher.ts";
import { ServerMetrics } from "../../../src/pipeline/metrics.ts";
import type { PreprocessFlags, TaskParams, VisionRequest } from "../../../src/workers/protocol.ts";
import { SlotAllocator } from "../../../src/pipeline/slot-allocator.ts";
import type { VisionPool } from "../../../src/pipeline/vision-pool.ts";

const FLAGS: PreprocessFlags = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };
const PARAMS: TaskParams = { task: "classification", confidence: 0.4 };
const IMAGE = { type: "base64", value: "" };

function setup(slots: number, maxQueue = 8, crashOn = new Set<string>()) {
  const arena = Arena.allocate({ slots, paddingSlots: 0, inputShape: [1], outputs: [{ name: "out", shape: [1] }] });
  const model = {
    spec: { key: "m/1" },
    arena,
    allocator: new SlotAllocator(arena),
    slotWaiters: new Array(slots).fill(undefined),
    admissionQueue: [],
    closing: false,
  } as unknown as LoadedModel;
  const postprocessed: number[] = [];
  const pool = {
    async run(request: VisionRequest) {
      // A worker that dies mid-task: the pool fails its tasks with a 500 and the slot keeps the state it had.
      if ((request.type === "preprocess" || request.type === "postprocess") && crashOn.has(request.type)) {
        throw new InferenceError(500, "Internal error. An image worker failed while handling this request.");
      }
      if (request.type === "preprocess") {
        arena.transition(request.slot, SlotState.ASSIGNED, SlotState.READY);
        return { width: 1, height: 1, staticCropApplied: false };
      }
      if (request.type === "postprocess") {
        postprocessed.push(request.slot);
        arena.transition(request.slot, SlotState.INFERRED, SlotState.FREE);
        return { body: "{}", visualization: null };
      }
      throw new Error(`unexpected ${request.type}`);
    },
  } as unknown as VisionPool;
  const registry = { loaded: () => model } as unknown as ModelRegistry;
  const dispatcher = new Dispatcher(registry, pool, { maxQueue }, new ServerMetrics());
  /** Plays the inference worker over slots start..start+count-1. */
  const runBatch = (start: number, count: number) => {
    for (let s = start; s < start + count; s++) arena.transition(s, SlotState.READY, SlotState.RUNNING);
    return () => {
      for (let s = start; s < start + count; s++) arena.transition(s, SlotState.RUNNING, SlotState.INFERRED);
      dispatcher.onInferred({ key: "m/1", start, count, inferMs: 1 } as never);
    };
  };
  const infer = (signal?: AbortSignal) => dispatcher.infer(model, IMAGE, FLAGS, PARAMS, null, signal);
  return { arena, model, dispatcher, runBatch, infer, postprocessed };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const deadline = () => new InferenceError(504, "deadline passed");

describe("Dispatcher deadlines and cancellation", () => {
  test("a request waiting for its batch answers 504 at its deadline and its READY slot is freed before any batch takes it", async () => {
    const { arena, infer } = setup(2);
    const controller = new AbortController();
    const answer = infer(controller.signal);
    await tick();
    expect(arena.state(0)).toBe(SlotState.READY);
    controller.abort(deadline());
    await expect(answer).rejects.toMatchObject({ status: 504 });
    await tick();
    expect(arena.state(0)).toBe(SlotState.FREE);
  });

  test("a request abandoned while its batch runs frees the slot when the batch reports back, and skips postprocessing", async () => {
    const { arena, infer, runBatch, postprocessed } = setup(2);
    const controller = new AbortController();
    const answer = infer(controller.signal);
    await tick();
    const finish = runBatch(0, 1);
    controller.abort(deadline());
    await expect(answer).rejects.toMatchObject({ status: 504 });
    expect(arena.state(0)).toBe(SlotState.RUNNING);
    finish();
    await tick();
    expect(arena.state(0)).toBe(SlotState.FREE);
    expect(postprocessed).toEqual([]);
  });

  test("a queued request leaves the admission queue on abort, and the next free slot goes to the one behind it", async () => {
    const { arena, model, infer, runBatch } = setup(1);
    const first = infer();
    await tick();
    const controller = new AbortController();
    const abandoned = infer(controller.signal);
    const third = infer();
    await tick();
    expect(model.admissionQueue).toHaveLength(2);
    controller.abort(deadline());
    await expect(abandoned).rejects.toMatchObject({ status: 504 });
    expect(model.admissionQueue).toHaveLength(1);
    runBatch(0, 1)();
    await first;
    await tick();
    runBatch(0, 1)();
    await third;
    expect(arena.state(0)).toBe(SlotState.FREE);
    expect(model.admissionQueue).toHaveLength(0);
  });

  test("a client that goes away is answered with no 504 of ours and costs no inference", async () => {
    const { arena, infer } = setup(1);
    const controller = new AbortController();
    const answer = infer(controller.signal);
    await tick();
    controller.abort();
    await expect(answer).rejects.toBeInstanceOf(InferenceError);
    await tick();
    expect(arena.state(0)).toBe(SlotState.FREE);
  });

  test("a worker crash during preprocessing or postprocessing fails the request with 500 and frees its slot", async () => {
    for (const stage of ["preprocess", "postprocess"]) {
      const { arena, infer, runBatch } = setup(2, 8, new Set([stage]));
      const answer = infer().catch((error: unknown) => error);
      await tick();
      if (stage === "postprocess") runBatch(0, 1)();
      expect(await answer).toMatchObject({ status: 500 });
      expect(arena.countInState(SlotState.FREE)).toBe(2);
    }
  });

  test("an ONNX Runtime error fails that batch's requests with 500 and frees their slots; other batches are unaffected", async () => {
    const { arena, dispatcher, infer, runBatch } = setup(4);
    const failing = [infer().catch((error: unknown) => error), infer().catch((error: unknown) => error)];
    await tick();
    runBatch(0, 2);
    const healthy = infer();
    await tick();
    const original = console.error;
    console.error = () => {};
    try {
      // As the inference worker does on an ORT error: the batch's slots go back to ASSIGNED, then it reports.
      for (const slot of [0, 1]) arena.transition(slot, SlotState.RUNNING, SlotState.ASSIGNED);
      dispatcher.onBatchFailed("m/1", 0, 2, new InferenceError(500, "ORT said no"));
    } finally {
      console.error = original;
    }
    for (const outcome of failing) expect(await outcome).toMatchObject({ status: 500 });
    runBatch(2, 1)();
    expect(await healthy).toEqual({ body: "{}", visualization: null });
    await tick();
    expect(arena.countInState(SlotState.FREE)).toBe(4);
  });

  test("requests without a signal are not affected", async () => {
    const { arena, infer, runBatch } = setup(1);
    const answer = infer();
    await tick();
    runBatch(0, 1)();
    expect(await answer).toEqual({ body: "{}", visualization: null });
    expect(arena.state(0)).toBe(SlotState.FREE);
  });
});

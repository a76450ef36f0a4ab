// Specification of the dispatcher's deadlines and cancellation: an abandoned request answers at once and gives its slots back,
// and a request answered early (one of its images failed) stops its other images.
//
// The arena, the model queue and the dispatcher are real; the vision pool is a stand-in that plays the workers' part on
// the slot states (preprocess marks READY; postprocess reads and leaves the slot INFERRED), and the test plays the
// inference worker (READY -> RUNNING -> INFERRED, then the batch report).
import { describe, expect, test } from "bun:test";
import { HttpError } from "../../../src/errors.ts";
import type { TaskParams } from "../../../src/models/task.ts";
import { Dispatcher } from "../../../src/pipeline/dispatcher.ts";
import { ServerMetrics } from "../../../src/pipeline/metrics.ts";
import type { ModelHost } from "../../../src/pipeline/model-host.ts";
import type { ModelInstance } from "../../../src/pipeline/model-instance.ts";
import { ModelQueue } from "../../../src/pipeline/model-queue.ts";
import type { VisionPool } from "../../../src/pipeline/vision-pool.ts";
import type { PreprocessSwitches } from "../../../src/vision/preprocess.ts";
import { Arena, SlotState } from "../../../src/workers/arena.ts";
import type { VisionRequest } from "../../../src/workers/protocol.ts";
import { batchDone, batchFailed, claimReadyPrefix, inputWritten } from "../../../src/workers/slot-states.ts";

const SWITCHES: PreprocessSwitches = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };
const PARAMS: TaskParams = { task: "classification", confidence: 0.4 };
const IMAGE = { type: "base64", value: "" };
/** An image the stand-in pool refuses to decode (400) after 20 ms, as a vision worker does for a corrupt image. */
const BAD_IMAGE = { type: "base64", value: "bad" };

function setup(slots: number, maxQueue = 8, crashOn = new Set<string>()) {
  const arena = Arena.allocate({ slots, paddingSlots: 0, inputShape: [1], inputElement: "float32", outputs: [{ name: "out", shape: [1] }] });
  const queue = new ModelQueue("m/1", arena, { maxQueue, maxQueueWaitMs: 0 }, () => {});
  const instance = { id: 7, spec: { key: "m/1", preprocessing: { autoOrient: false } }, arena, queue } as unknown as ModelInstance;
  const postprocessed: number[] = [];
  const pool = {
    async run(request: VisionRequest) {
      // A worker that dies mid-task: the pool fails its tasks with a 500 and the slot keeps the state it had.
      if ((request.type === "preprocess" || request.type === "postprocess") && crashOn.has(request.type)) {
        throw new HttpError(500, "Internal error. An image worker failed while handling this request.");
      }
      if (request.type === "preprocess") {
        if (request.image.value === BAD_IMAGE.value) {
          await Bun.sleep(20);
          throw new HttpError(400, "Could not load input image.");
        }
        inputWritten(arena, request.slot);
        return { width: 1, height: 1, staticCropApplied: false };
      }
      if (request.type === "postprocess") {
        postprocessed.push(request.slot);
        return { body: "{}", visualization: null };
      }
      throw new Error(`unexpected ${request.type}`);
    },
  } as unknown as VisionPool;
  const host = { instance: (id: number) => (id === 7 ? instance : undefined) } as unknown as ModelHost;
  const dispatcher = new Dispatcher(host, pool, { maxConcurrent: 64 }, new ServerMetrics());
  /** Plays the inference worker over slots start..start+count-1; the returned function ends the batch and reports it. */
  const runBatch = (start: number, count: number) => {
    claimReadyPrefix(arena.states, start, count);
    return () => {
      batchDone(arena.states, start, count);
      dispatcher.onInferred({ instance: 7, start, count, rows: count, inferMs: 1 });
    };
  };
  const inferList = (images: { type: string; value: string }[], signal?: AbortSignal) =>
    dispatcher.infer(instance, { images, switches: SWITCHES, params: PARAMS, visualization: null, signal });
  const infer = (signal?: AbortSignal) => inferList([IMAGE], signal).then(([result]) => result);
  return { arena, queue, dispatcher, runBatch, infer, inferList, postprocessed };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const deadline = () => new HttpError(504, "deadline passed");

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
    const { arena, queue, infer, runBatch } = setup(1);
    const first = infer();
    await tick();
    const controller = new AbortController();
    const abandoned = infer(controller.signal);
    const third = infer();
    await tick();
    expect(queue.queued).toBe(2);
    controller.abort(deadline());
    await expect(abandoned).rejects.toMatchObject({ status: 504 });
    expect(queue.queued).toBe(1);
    runBatch(0, 1)();
    await first;
    await tick();
    runBatch(0, 1)();
    await third;
    expect(arena.state(0)).toBe(SlotState.FREE);
    expect(queue.queued).toBe(0);
  });

  test("a client that goes away is answered with no 504 of ours and costs no inference", async () => {
    const { arena, infer } = setup(1);
    const controller = new AbortController();
    const answer = infer(controller.signal);
    await tick();
    controller.abort();
    await expect(answer).rejects.toBeInstanceOf(HttpError);
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
      batchFailed(arena.states, 0, 2);
      dispatcher.onBatchFailed(7, 0, 2, new HttpError(500, "ORT said no"));
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

  test("the main thread releases a slot after its postprocessing, not the worker", async () => {
    const { arena, infer, runBatch } = setup(1);
    const answer = infer();
    await tick();
    runBatch(0, 1)();
    await answer;
    expect(arena.state(0)).toBe(SlotState.FREE);
  });
});

describe("Dispatcher: a request's images are admitted and answered together", () => {
  test("a list that does not fit the free slots plus the queue is refused whole with 503, taking no slot", async () => {
    const { arena, queue, inferList } = setup(2, 1);
    await expect(inferList([IMAGE, IMAGE, IMAGE, IMAGE])).rejects.toMatchObject({ status: 503 });
    expect(arena.countInState(SlotState.FREE)).toBe(2);
    expect(queue.queued).toBe(0);
  });

  test("one bad image answers the request at once; its queued siblings leave the queue and its READY siblings are withdrawn", async () => {
    const { arena, queue, inferList, postprocessed } = setup(2, 8);
    const answer = inferList([IMAGE, BAD_IMAGE, IMAGE, IMAGE]).catch((error: unknown) => error);
    await tick();
    expect(queue.queued).toBe(2);
    expect(arena.state(0)).toBe(SlotState.READY);
    expect(await answer).toMatchObject({ status: 400 });
    await tick();
    expect(queue.queued).toBe(0);
    expect(arena.countInState(SlotState.FREE)).toBe(2);
    expect(queue.slotsInUse).toBe(0);
    expect(postprocessed).toEqual([]);
  });

  test("a sibling already running skips postprocessing and its slot comes back when its batch reports", async () => {
    const { arena, queue, inferList, runBatch, postprocessed } = setup(2, 8);
    const answer = inferList([IMAGE, BAD_IMAGE, IMAGE]).catch((error: unknown) => error);
    await tick();
    // Image 0 is READY in slot 0 while the bad image is still being decoded in slot 1: its batch starts.
    const finish = runBatch(0, 1);
    expect(await answer).toMatchObject({ status: 400 });
    expect(arena.state(0)).toBe(SlotState.RUNNING);
    finish();
    await tick();
    expect(postprocessed).toEqual([]);
    expect(arena.countInState(SlotState.FREE)).toBe(2);
    expect(queue.slotsInUse).toBe(0);
  });
});

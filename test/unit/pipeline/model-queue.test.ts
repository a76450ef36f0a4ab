// Specification of a model queue: slots in ring order, requests admitted whole, and every way a slot comes back to FREE.
import { describe, expect, test } from "bun:test";
import { ModelQueue } from "../../../src/pipeline/model-queue.ts";
import { Arena, SlotState } from "../../../src/workers/arena.ts";
import { batchDone, batchFailed, claimReadyPrefix, inputWritten } from "../../../src/workers/slot-states.ts";

function setup(slots = 4, maxQueue = 4, clock: () => number = () => performance.now()) {
  const arena = Arena.allocate({ slots, paddingSlots: 1, inputShape: [1], inputElement: "float32", outputs: [] });
  let doorbell = 0;
  const queue = new ModelQueue("m/1", arena, { maxQueue, maxQueueWaitMs: 0 }, () => doorbell++, clock);
  return { arena, queue, doorbells: () => doorbell };
}

function retryAfter(refuse: () => unknown): number {
  try {
    refuse();
  } catch (error) {
    return Number((error as { headers: Record<string, string> }).headers["Retry-After"]);
  }
  throw new Error("expected a refusal");
}

describe("ModelQueue slots", () => {
  test("hands out slots in ring order so simultaneous requests land side by side, never a padding slot", async () => {
    const { queue } = setup();
    expect(await Promise.all(queue.admit(3, undefined))).toEqual([0, 1, 2]);
    const [fourth] = queue.admit(1, undefined);
    expect(await fourth).toBe(3);
    expect(queue.slotsInUse).toBe(4);
  });

  test("continues after the last slot it gave out rather than reusing the lowest free one", async () => {
    const { queue } = setup();
    const [a, b] = await Promise.all(queue.admit(2, undefined));
    queue.release(a!, false);
    expect(await queue.admit(1, undefined)[0]).toBe(2);
    expect(b).toBe(1);
  });

  test("queues images when every slot is held and gives each freed slot to the oldest waiting image", async () => {
    const { queue } = setup(2);
    const held = await Promise.all(queue.admit(2, undefined));
    const waiting = queue.admit(2, undefined);
    expect(queue.queued).toBe(2);
    queue.release(held[1]!, false);
    expect(await waiting[0]).toBe(1);
    expect(queue.queued).toBe(1);
  });

  test("refuses a request whose images do not all fit, before any of them takes a slot", () => {
    const { queue } = setup(2, 1);
    expect(() => queue.admit(4, undefined)).toThrow(expect.objectContaining({ status: 503 }));
    expect(queue.slotsInUse).toBe(0);
    expect(queue.queued).toBe(0);
  });

  test("asks clients refused one after another to come back one after another, and forgets returns that are due", async () => {
    let now = 0;
    const { queue } = setup(1, 0, () => now);
    const [slot] = await Promise.all(queue.admit(1, undefined));
    // One image answered per 1.5 s of busy time: the service rate is measured over windows of busy time.
    for (let answered = 0; answered < 2; answered++) {
      now += 1500;
      queue.release(slot!, true);
      await queue.admit(1, undefined)[0];
    }
    expect(queue.imagesPerSecond).toBeCloseTo(1 / 1.5);
    const refusals = [0, 1, 2].map(() => retryAfter(() => queue.admit(1, undefined)));
    expect(refusals).toEqual([3, 5, 6]); // 3 s (the held image and this one), then 1.5 s apart: 4.5, 6
    now += 10_000;
    expect(retryAfter(() => queue.admit(1, undefined))).toBe(3);
  });
});

describe("ModelQueue.release", () => {
  test("frees an ASSIGNED, READY or INFERRED slot at once and rings the doorbell", async () => {
    const { arena, queue, doorbells } = setup();
    const [a, b, c] = await Promise.all(queue.admit(3, undefined));
    inputWritten(arena, b!);
    inputWritten(arena, c!);
    claimReadyPrefix(arena.states, c!, 1);
    batchDone(arena.states, c!, 1);
    for (const slot of [a!, b!, c!]) queue.release(slot, false);
    expect(arena.countInState(SlotState.FREE)).toBe(4);
    expect(doorbells()).toBe(3);
    expect(queue.slotsInUse).toBe(0);
  });

  test("keeps a RUNNING slot until its batch reports, then frees it without waking anyone", async () => {
    const { arena, queue } = setup();
    const [slot] = await Promise.all(queue.admit(1, undefined));
    inputWritten(arena, slot!);
    claimReadyPrefix(arena.states, slot!, 1);
    queue.release(slot!, false);
    expect(arena.state(slot!)).toBe(SlotState.RUNNING);
    expect(queue.slotsInUse).toBe(1);
    batchDone(arena.states, slot!, 1);
    queue.onInferred(slot!, 1);
    expect(arena.state(slot!)).toBe(SlotState.FREE);
    expect(queue.slotsInUse).toBe(0);
  });

  test("a failed batch rejects its requests; their slots come back ASSIGNED and free on release", async () => {
    const { arena, queue } = setup();
    const [slot] = await Promise.all(queue.admit(1, undefined));
    const inferred = queue.inferred(slot!);
    inputWritten(arena, slot!);
    claimReadyPrefix(arena.states, slot!, 1);
    batchFailed(arena.states, slot!, 1);
    queue.onBatchFailed(slot!, 1, new Error("ORT said no"));
    await expect(inferred).rejects.toThrow("ORT said no");
    queue.release(slot!, false);
    expect(arena.state(slot!)).toBe(SlotState.FREE);
  });
});

describe("ModelQueue closing", () => {
  test("close refuses new requests and fails queued ones with 503; drained settles once every slot is back", async () => {
    const { queue } = setup(1);
    const [held] = await Promise.all(queue.admit(1, undefined));
    const [queued] = queue.admit(1, undefined);
    queue.close();
    await expect(queued!).rejects.toMatchObject({ status: 503 });
    expect(() => queue.admit(1, undefined)).toThrow(expect.objectContaining({ status: 503 }));
    let drained = false;
    void queue.drained.then(() => (drained = true));
    await Bun.sleep(0);
    expect(drained).toBe(false);
    queue.release(held!, false);
    await Bun.sleep(0);
    expect(drained).toBe(true);
  });

  test("abandon fails every request waiting for its batch with the given error", async () => {
    const { queue } = setup();
    const slots = await Promise.all(queue.admit(2, undefined));
    const waits = slots.map((slot) => queue.inferred(slot));
    queue.abandon(Object.assign(new Error("gone"), { status: 503 }));
    for (const wait of waits) await expect(wait).rejects.toMatchObject({ status: 503 });
  });
});

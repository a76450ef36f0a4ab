// Model queue: the one owner of a model instance's request-side state on the main thread: its slots (which request holds
// which, handed out in ring order), the requests waiting for a slot, the requests waiting for their batch, and whether the
// instance still admits anything.
//
// Slot state words change only through workers/slot-states.ts; on this thread, only through this class. Ring order
// keeps requests that arrive together in consecutive slots, which is what lets the batcher run them as one contiguous
// batch.
import { HttpError } from "../errors.ts";
import { SlotState, type Arena } from "../workers/arena.ts";
import { claim, releaseAssigned, releaseInferred, withdrawReady } from "../workers/slot-states.ts";
import { admissionDecision, expectedWait, ServiceRate, WaitLateness, type AdmissionSettings, type QueueState } from "./admission.ts";
import { abortError } from "../deadline.ts";

export class ModelNotReadyError extends HttpError {
  constructor() {
    super(503, "Model is temporarily not ready - retry request.", { "Retry-After": "1" });
  }
}

/** A request parked until its slot's batch has run. */
interface BatchWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** An image parked until a slot is free. */
interface SlotWaiter {
  give: (slot: number) => void;
  fail: (error: Error) => void;
}

export class ModelQueue {
  private cursor = 0;
  /** Slots not FREE: held by a request, or by a batch whose request is gone. */
  private held = 0;
  private readonly batchWaiters: (BatchWaiter | undefined)[];
  /** RUNNING slots whose requests are gone: released when their batch reports. */
  private readonly releaseOnReport = new Set<number>();
  private readonly slotWaiters: SlotWaiter[] = [];
  private closed = false;
  private markDrained!: () => void;
  /** Settles once the queue is closed and every slot is FREE again. */
  readonly drained = new Promise<void>((resolve) => (this.markDrained = resolve));
  private readonly rate = new ServiceRate();
  private readonly lateness = new WaitLateness();
  /** When (this.now()) the last refused client was asked to come back. */
  private lastRetryAt = Number.NEGATIVE_INFINITY;
  /** For each slot whose request had to queue: when it was admitted and the wait expected then (NaN otherwise). */
  private readonly admittedAt: Float64Array;
  private readonly expectedMs: Float64Array;

  constructor(
    private readonly key: string,
    private readonly arena: Arena,
    private readonly settings: AdmissionSettings,
    /** Wakes the inference workers (a FREE slot can unblock a fixed-size batch window). */
    private readonly ringDoorbell: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.batchWaiters = new Array(arena.totalSlots).fill(undefined);
    this.admittedAt = new Float64Array(arena.totalSlots);
    this.expectedMs = new Float64Array(arena.totalSlots).fill(Number.NaN);
  }

  get slotsInUse(): number {
    return this.held;
  }

  get queued(): number {
    return this.slotWaiters.length;
  }

  get imagesPerSecond(): number | null {
    return this.rate.imagesPerSecond;
  }

  /**
   * Admits the `images` images of one request all together, or refuses the whole request with 503 (docs: admission.ts):
   * returns one promise per image that resolves with its slot, at once when one is free, else when its turn in the
   * queue comes. An image whose `signal` aborts while it waits leaves the queue.
   */
  admit(images: number, signal: AbortSignal | undefined): Promise<number>[] {
    if (this.closed) throw new ModelNotReadyError();
    const freeSlots = this.arena.layout.slots - this.held;
    const now = this.now();
    const state: QueueState = {
      freeSlots,
      inSlots: this.held,
      queued: this.slotWaiters.length,
      imagesPerSecond: this.rate.imagesPerSecond,
      lateness: this.lateness.factor,
      lastRetryInMs: Math.max(0, this.lastRetryAt - now),
    };
    const decision = admissionDecision(state, images, this.settings);
    if (!decision.admit) {
      this.lastRetryAt = now + decision.retryInMs;
      const why = decision.reason === "queue-full" ? "its queue is full" : `the expected wait (${Math.round(decision.expectedWaitMs!)} ms) exceeds MAX_QUEUE_WAIT_MS`;
      throw new HttpError(503, `Server is at capacity for model ${this.key}: ${why}. Retry later.`, { "Retry-After": String(decision.retryAfterSeconds) });
    }
    const slots = Array.from({ length: images }, () => this.slotFor(signal));
    // Waits of the size the rule judges are remembered, to learn how late answers come against them (WaitLateness).
    const expected = images > freeSlots ? expectedWait({ ...state, lateness: 1 }, images) : null;
    if (expected === null || expected < this.settings.maxQueueWaitMs / 2) return slots;
    return slots.map((slot) =>
      slot.then((index) => {
        this.admittedAt[index] = now;
        this.expectedMs[index] = expected;
        return index;
      }),
    );
  }

  /** Resolves once the batch holding `slot` has run; rejects when it failed or the instance was abandoned. */
  inferred(slot: number): Promise<void> {
    const done = new Promise<void>((resolve, reject) => (this.batchWaiters[slot] = { resolve, reject }));
    // A rejection that lands after its request already failed must not surface as unhandled.
    done.catch(() => {});
    return done;
  }

  /**
   * The request holding `slot` is done with it: answered (`answered`), failed or abandoned. The slot goes back to FREE now,
   * or, while a batch runs it, when that batch reports (workers/slot-states.ts).
   */
  release(slot: number, answered: boolean): void {
    this.batchWaiters[slot] = undefined;
    if (answered) this.rate.recordAnswer(this.now());
    if (answered && !Number.isNaN(this.expectedMs[slot]!)) this.lateness.record(this.expectedMs[slot]!, this.now() - this.admittedAt[slot]!);
    this.expectedMs[slot] = Number.NaN;
    switch (this.arena.state(slot)) {
      case SlotState.ASSIGNED:
        if (releaseAssigned(this.arena, slot)) this.slotFreed();
        return;
      case SlotState.INFERRED:
        if (releaseInferred(this.arena, slot)) this.slotFreed();
        return;
      case SlotState.READY:
        if (withdrawReady(this.arena, slot)) {
          this.slotFreed();
          return;
        }
        // An inference worker claimed it meanwhile: it is RUNNING.
        this.releaseOnReport.add(slot);
        return;
      case SlotState.RUNNING:
        this.releaseOnReport.add(slot);
        return;
    }
  }

  /** A batch over slots start..start+count-1 ran: wake their requests (or release the slots of requests that are gone). */
  onInferred(start: number, count: number): void {
    for (let slot = start; slot < start + count; slot++) {
      if (this.releaseOnReport.delete(slot)) {
        if (releaseInferred(this.arena, slot)) this.slotFreed();
        continue;
      }
      const waiter = this.batchWaiters[slot];
      this.batchWaiters[slot] = undefined;
      waiter?.resolve();
    }
  }

  /** A batch over slots start..start+count-1 failed: its requests fail with `error` (their slots came back ASSIGNED). */
  onBatchFailed(start: number, count: number, error: Error): void {
    for (let slot = start; slot < start + count; slot++) {
      if (this.releaseOnReport.delete(slot)) {
        if (releaseAssigned(this.arena, slot)) this.slotFreed();
        continue;
      }
      const waiter = this.batchWaiters[slot];
      this.batchWaiters[slot] = undefined;
      waiter?.reject(error);
    }
  }

  /** Admits nothing more: requests waiting for a slot get 503 at once; those holding one go on. */
  close(): void {
    this.closed = true;
    for (const waiter of this.slotWaiters.splice(0)) waiter.fail(new ModelNotReadyError());
    this.checkDrained();
  }

  /** Fails every request still waiting for its batch with `error` (the instance is going away); their slots come back as batches report. */
  abandon(error: Error): void {
    for (let slot = 0; slot < this.batchWaiters.length; slot++) {
      const waiter = this.batchWaiters[slot];
      this.batchWaiters[slot] = undefined;
      waiter?.reject(error);
    }
  }

  /** One image's slot: a free one now, or a place in the queue. */
  private slotFor(signal: AbortSignal | undefined): Promise<number> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const slot = this.claimFree();
    if (slot >= 0) return Promise.resolve(slot);
    return new Promise<number>((resolve, reject) => {
      const waiter: SlotWaiter = {
        give: (slot) => {
          signal?.removeEventListener("abort", leave);
          resolve(slot);
        },
        fail: (error) => {
          signal?.removeEventListener("abort", leave);
          reject(error);
        },
      };
      const leave = () => {
        const index = this.slotWaiters.indexOf(waiter);
        if (index >= 0) this.slotWaiters.splice(index, 1);
        reject(abortError(signal!));
      };
      this.slotWaiters.push(waiter);
      signal?.addEventListener("abort", leave, { once: true });
    });
  }

  /** The next FREE slot in ring order (FREE -> ASSIGNED), or -1 when every slot is held. */
  private claimFree(): number {
    const slots = this.arena.layout.slots;
    for (let step = 0; step < slots; step++) {
      const slot = (this.cursor + step) % slots;
      if (claim(this.arena, slot)) {
        this.cursor = (slot + 1) % slots;
        if (this.held++ === 0) this.rate.setBusy(true, this.now());
        return slot;
      }
    }
    return -1;
  }

  private slotFreed(): void {
    if (--this.held === 0) this.rate.setBusy(false, this.now());
    this.ringDoorbell();
    while (this.slotWaiters.length > 0) {
      const slot = this.claimFree();
      if (slot < 0) break;
      this.slotWaiters.shift()!.give(slot);
    }
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.closed && this.held === 0) this.markDrained();
  }
}

// Admission: whether a model instance takes a request's images now, may queue them, or refuses them with 503 (a pure policy), and the service rate it is judged by.
//
// A request's images are admitted all together or not at all (README "Limits and security"): they either fit the free
// slots plus the room left in the queue, or the whole request is refused before any image takes a slot. When images
// would have to queue, the expected wait is the work ahead of them divided by the instance's measured service rate; a
// load balancer in front of several replicas is better served by a fast "not here" than by a wait past
// MAX_QUEUE_WAIT_MS, so such a request is refused with a Retry-After computed from the queue.

export interface AdmissionSettings {
  /** MAX_QUEUE: images per model allowed to wait for a free slot. */
  maxQueue: number;
  /** MAX_QUEUE_WAIT_MS: refuse images whose expected wait exceeds this (0: never refuse for the wait). */
  maxQueueWaitMs: number;
}

/** What the instance looks like right now. */
export interface QueueState {
  /** Slots no request holds. */
  freeSlots: number;
  /** Images holding a slot (being preprocessed, batched, run or postprocessed). */
  inSlots: number;
  /** Images waiting for a slot. */
  queued: number;
  /** Images answered per second while the instance was busy, or null before it has a measurement. */
  imagesPerSecond: number | null;
  /** How late admitted requests have come in against their expected wait (WaitLateness); 1 when not given. */
  lateness?: number;
  /** Milliseconds from now until the last client refused so far was asked to come back (0 or absent: none still to come). */
  lastRetryInMs?: number;
}

export type AdmissionDecision =
  | { admit: true }
  | {
      admit: false;
      reason: "queue-full" | "expected-wait";
      /** When this client is asked to come back, in ms from now (the queue keeps it as the next refusal's lastRetryInMs). */
      retryInMs: number;
      /** The same as a Retry-After header: whole seconds, at least 1. */
      retryAfterSeconds: number;
      expectedWaitMs: number | null;
    };

/** The longest Retry-After we ask for: beyond a minute the queue will look different anyway. */
const MAX_RETRY_AFTER_S = 60;

/**
 * When a refused client should come back: once the work queued now is done (its expected wait), and not before the
 * clients refused ahead of it have had their turn, each spaced by the time its images take to serve. Refused clients
 * then come back about as fast as the instance makes room, rather than all at once to be refused again: each refusal
 * is a body read and parsed in full, on the cores that serve the answers (BENCHMARKS.md, "Refused clients spaced out").
 */
function refusal(state: QueueState, images: number, reason: "queue-full" | "expected-wait", expectedWaitMs: number | null): AdmissionDecision {
  const spacingMs = state.imagesPerSecond ? (images / state.imagesPerSecond) * 1000 : 0;
  const lastRetryInMs = state.lastRetryInMs ?? 0;
  const turnMs = lastRetryInMs > 0 ? lastRetryInMs + spacingMs : 0;
  const retryInMs = Math.min(MAX_RETRY_AFTER_S * 1000, Math.max(expectedWaitMs ?? 0, turnMs));
  return { admit: false, reason, retryInMs, retryAfterSeconds: Math.max(1, Math.ceil(retryInMs / 1000)), expectedWaitMs };
}

/**
 * Milliseconds until the last of `images` more images is answered (everything ahead of it, then the request itself) at
 * the measured rate, stretched by how late requests have come in lately; null before the rate is measured.
 */
export function expectedWait(state: QueueState, images: number): number | null {
  const rate = state.imagesPerSecond;
  if (rate === null || rate <= 0) return null;
  return ((state.inSlots + state.queued + images) / rate) * 1000 * (state.lateness ?? 1);
}

/** Whether `images` more images are admitted; each image that finds no free slot queues. */
export function admissionDecision(state: QueueState, images: number, settings: AdmissionSettings): AdmissionDecision {
  const mustQueue = Math.max(0, images - state.freeSlots);
  if (mustQueue === 0) return { admit: true };
  const expectedWaitMs = expectedWait(state, images);
  if (state.queued + mustQueue > settings.maxQueue) return refusal(state, images, "queue-full", expectedWaitMs);
  if (settings.maxQueueWaitMs > 0 && expectedWaitMs !== null && expectedWaitMs > settings.maxQueueWaitMs) {
    return refusal(state, images, "expected-wait", expectedWaitMs);
  }
  return { admit: true };
}

/**
 * Images answered per second while the instance was busy (some image held a slot): idle time does not dilute it.
 * Each window of at least `windowMs` busy milliseconds gives a rate, and the estimate follows windows with an
 * exponential moving average, so a model that slows down (a bigger batch, a busier device) is noticed within seconds.
 */
export class ServiceRate {
  private busyMs = 0;
  private answered = 0;
  private lastChange: number | null = null;
  private busy = false;
  private estimate: number | null = null;

  constructor(
    private readonly windowMs = 1000,
    private readonly smoothing = 0.5,
  ) {}

  /** Images per second, or null before the first full window. */
  get imagesPerSecond(): number | null {
    return this.estimate;
  }

  /** The instance turned busy (`true`: an image took a slot while none was held) or idle, at `now` (ms). */
  setBusy(busy: boolean, now: number): void {
    this.accumulate(now);
    this.busy = busy;
  }

  /** An image was answered at `now`. */
  recordAnswer(now: number): void {
    this.accumulate(now);
    this.answered++;
    if (this.busyMs >= this.windowMs) {
      const rate = (this.answered * 1000) / this.busyMs;
      this.estimate = this.estimate === null ? rate : this.smoothing * rate + (1 - this.smoothing) * this.estimate;
      this.busyMs = 0;
      this.answered = 0;
    }
  }

  private accumulate(now: number): void {
    if (this.busy && this.lastChange !== null) this.busyMs += now - this.lastChange;
    this.lastChange = now;
  }
}

/**
 * How late admitted requests came in against the wait expected when they were admitted: a high quantile of
 * (time to answer / expected wait) over recent requests, never below 1. MAX_QUEUE_WAIT_MS bounds the slow answers (the
 * bench checks the p99), while the service rate gives a mean, so the wait rule judges a wait stretched by this factor.
 */
export class WaitLateness {
  private readonly ratios: number[] = [];
  private next = 0;
  private cached: number | null = 1;

  constructor(
    private readonly capacity = 256,
    private readonly quantile = 0.99,
    private readonly minimumSamples = 32,
  ) {}

  /** A request admitted with `expectedMs` of expected wait was answered `actualMs` after its admission. */
  record(expectedMs: number, actualMs: number): void {
    const ratio = actualMs / expectedMs;
    if (this.ratios.length < this.capacity) this.ratios.push(ratio);
    else this.ratios[this.next] = ratio;
    this.next = (this.next + 1) % this.capacity;
    this.cached = null;
  }

  /** The factor expected waits are stretched by: 1 until `minimumSamples` requests have been seen. */
  get factor(): number {
    if (this.cached !== null) return this.cached;
    if (this.ratios.length < this.minimumSamples) return (this.cached = 1);
    const sorted = [...this.ratios].sort((a, b) => a - b);
    const index = Math.min(sorted.length - 1, Math.floor(this.quantile * sorted.length));
    return (this.cached = Math.max(1, sorted[index]!));
  }
}

// Specification of admission: a request's images are admitted together or refused whole, by the queue bound and by their expected wait.
import { describe, expect, test } from "bun:test";
import { admissionDecision, ServiceRate, WaitLateness } from "../../../src/pipeline/admission.ts";

const settings = { maxQueue: 10, maxQueueWaitMs: 5000 };
const idle = { freeSlots: 4, inSlots: 0, queued: 0, imagesPerSecond: null };

describe("admissionDecision", () => {
  test("admits whatever fits the free slots, whatever the measured rate", () => {
    expect(admissionDecision(idle, 4, settings)).toEqual({ admit: true });
    expect(admissionDecision({ ...idle, imagesPerSecond: 0.001 }, 4, settings)).toEqual({ admit: true });
  });

  test("queues images beyond the free slots up to MAX_QUEUE, all of a request or none", () => {
    const busy = { freeSlots: 1, inSlots: 3, queued: 6, imagesPerSecond: null };
    expect(admissionDecision(busy, 5, settings)).toEqual({ admit: true });
    expect(admissionDecision(busy, 6, settings)).toMatchObject({ admit: false, reason: "queue-full" });
  });

  test("refuses images whose expected wait exceeds MAX_QUEUE_WAIT_MS, with a Retry-After for when the work queued now is done", () => {
    // 8 ahead + 2 new at 1 image/s: 10 s expected, 5 s allowed -> retry in 10 s.
    const state = { freeSlots: 0, inSlots: 4, queued: 4, imagesPerSecond: 1 };
    expect(admissionDecision(state, 2, settings)).toEqual({ admit: false, reason: "expected-wait", retryInMs: 10_000, retryAfterSeconds: 10, expectedWaitMs: 10_000 });
    expect(admissionDecision({ ...state, imagesPerSecond: 2 }, 2, settings)).toEqual({ admit: true });
  });

  test("judges a wait stretched by how late requests have come in", () => {
    // 8 ahead + 2 new at 2 images/s: 5 s expected, admitted; 20% late answers make it 6 s, refused.
    const state = { freeSlots: 0, inSlots: 4, queued: 4, imagesPerSecond: 2 };
    expect(admissionDecision(state, 2, settings)).toEqual({ admit: true });
    expect(admissionDecision({ ...state, lateness: 1.2 }, 2, settings)).toEqual({
      admit: false,
      reason: "expected-wait",
      retryInMs: 6000,
      retryAfterSeconds: 6,
      expectedWaitMs: 6000,
    });
  });

  test("0 turns the wait rule off, and an unmeasured rate never refuses for the wait", () => {
    const state = { freeSlots: 0, inSlots: 4, queued: 4, imagesPerSecond: 0.1 };
    expect(admissionDecision(state, 2, { ...settings, maxQueueWaitMs: 0 })).toEqual({ admit: true });
    expect(admissionDecision({ ...state, imagesPerSecond: null }, 2, settings)).toEqual({ admit: true });
  });

  test("a full queue asks for a Retry-After of at least a second and at most a minute", () => {
    const full = { freeSlots: 0, inSlots: 4, queued: 10, imagesPerSecond: null };
    expect(admissionDecision(full, 1, settings)).toMatchObject({ retryAfterSeconds: 1 });
    expect(admissionDecision({ ...full, imagesPerSecond: 0.01 }, 1, settings)).toMatchObject({ retryAfterSeconds: 60 });
  });

  test("asks a refused client back after the clients refused before it, spaced by the time its images take", () => {
    // 10 s of work queued; the last refused client comes back in 12 s; 2 images at 1 image/s take 2 s more.
    const state = { freeSlots: 0, inSlots: 4, queued: 4, imagesPerSecond: 1, lastRetryInMs: 12_000 };
    expect(admissionDecision(state, 2, settings)).toMatchObject({ admit: false, retryInMs: 14_000, retryAfterSeconds: 14 });
    // Returns due sooner than the queued work is done do not bring it forward.
    expect(admissionDecision({ ...state, lastRetryInMs: 3000 }, 2, settings)).toMatchObject({ retryInMs: 10_000 });
    expect(admissionDecision({ ...state, lastRetryInMs: 59_000 }, 2, settings)).toMatchObject({ retryInMs: 60_000, retryAfterSeconds: 60 });
  });
});

describe("ServiceRate", () => {
  test("has no rate before a full window of busy time", () => {
    const rate = new ServiceRate(1000);
    rate.setBusy(true, 0);
    rate.recordAnswer(500);
    expect(rate.imagesPerSecond).toBeNull();
  });

  test("counts only busy time: idle gaps do not lower the rate", () => {
    const rate = new ServiceRate(1000, 1);
    rate.setBusy(true, 0);
    for (let t = 100; t <= 500; t += 100) rate.recordAnswer(t);
    rate.setBusy(false, 500);
    rate.setBusy(true, 60_000);
    for (let t = 60_100; t <= 60_500; t += 100) rate.recordAnswer(t);
    expect(rate.imagesPerSecond).toBe(10);
  });

  test("follows a model that slows down, smoothed over windows", () => {
    const rate = new ServiceRate(1000, 0.5);
    rate.setBusy(true, 0);
    for (let t = 100; t <= 1000; t += 100) rate.recordAnswer(t);
    expect(rate.imagesPerSecond).toBe(10);
    for (let t = 1500; t <= 2000; t += 500) rate.recordAnswer(t);
    expect(rate.imagesPerSecond).toBe(6);
  });
});

describe("WaitLateness", () => {
  test("is 1 until enough requests have been seen", () => {
    const lateness = new WaitLateness(256, 0.99, 4);
    for (let i = 0; i < 3; i++) lateness.record(1000, 2000);
    expect(lateness.factor).toBe(1);
    lateness.record(1000, 2000);
    expect(lateness.factor).toBe(2);
  });

  test("is the high quantile of answer time over expected wait, never below 1", () => {
    const lateness = new WaitLateness(100, 0.9, 10);
    for (let i = 0; i < 100; i++) lateness.record(1000, 500 + i * 10);
    // Ratios 0.5 .. 1.49: the 90th of 100 sorted is 1.4.
    expect(lateness.factor).toBeCloseTo(1.4, 10);
    const early = new WaitLateness(100, 0.9, 10);
    for (let i = 0; i < 100; i++) early.record(1000, 800);
    expect(early.factor).toBe(1);
  });

  test("forgets the oldest requests beyond its capacity", () => {
    const lateness = new WaitLateness(10, 0.5, 10);
    for (let i = 0; i < 10; i++) lateness.record(1000, 3000);
    for (let i = 0; i < 10; i++) lateness.record(1000, 1500);
    expect(lateness.factor).toBe(1.5);
  });
});

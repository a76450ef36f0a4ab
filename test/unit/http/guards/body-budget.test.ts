// Specification of the bytes of request bodies held at once: the whole budget, the unauthenticated share, holds that grow,
// move out of the share once authenticated, and are released once.
import { describe, expect, test } from "bun:test";
import { BodyBudget, unauthenticatedShare } from "../../../../src/http/guards/body-budget.ts";

describe("BodyBudget", () => {
  test("lets bodies in while their bytes fit, and again once one is released", () => {
    const budget = new BodyBudget(100, 20);
    const a = budget.hold(60, true)!;
    expect(budget.hold(50, true)).toBeNull();
    const b = budget.hold(40, true)!;
    expect(budget.bytesHeld).toBe(100);
    a.release();
    a.release();
    expect(budget.bytesHeld).toBe(40);
    expect(budget.hold(60, true)).not.toBeNull();
    b.release();
  });

  test("gives bodies not yet authenticated only their share, within the whole", () => {
    const budget = new BodyBudget(100, 20);
    const pending = budget.hold(15, false)!;
    expect(budget.hold(10, false)).toBeNull();
    expect(budget.hold(80, true)).not.toBeNull();
    expect(budget.hold(5, false)).not.toBeNull();
    expect(budget.hold(1, false)).toBeNull();
    expect([budget.bytesHeld, budget.unauthenticatedBytesHeld]).toEqual([100, 20]);
    // Authenticated, its bytes stay held but leave the share.
    pending.authenticate();
    expect([budget.bytesHeld, budget.unauthenticatedBytesHeld]).toEqual([100, 5]);
    pending.release();
    expect([budget.bytesHeld, budget.unauthenticatedBytesHeld]).toEqual([85, 5]);
  });

  test("grows a hold as a chunked body arrives, refusing the bytes that do not fit", () => {
    const budget = new BodyBudget(100, 30);
    const chunked = budget.hold(0, false)!;
    expect(chunked.grow(20)).toBe(true);
    expect(chunked.grow(20)).toBe(false);
    expect(chunked.grow(10)).toBe(true);
    expect(budget.unauthenticatedBytesHeld).toBe(30);
    chunked.release();
    expect([budget.bytesHeld, budget.unauthenticatedBytesHeld]).toEqual([0, 0]);
    expect(chunked.grow(1)).toBe(false);
  });

  test("the unauthenticated share is an eighth, but at least one largest body and at most the whole", () => {
    expect(unauthenticatedShare(2 ** 30, 64 * 2 ** 20)).toBe(128 * 2 ** 20);
    expect(unauthenticatedShare(256 * 2 ** 20, 64 * 2 ** 20)).toBe(64 * 2 ** 20);
    expect(unauthenticatedShare(64 * 2 ** 20, 64 * 2 ** 20)).toBe(64 * 2 ** 20);
  });
});

// Specification of collection pacing: a collection after every budget's worth of counted bytes, never in between.
import { describe, expect, test } from "bun:test";
import { CollectionPacer } from "../../../src/workers/collection-pacer.ts";

function pacer(budget: number) {
  const collections: number[] = [];
  let counted = 0;
  const p = new CollectionPacer(budget, () => collections.push(counted));
  return {
    collections,
    /** Counts `bytes` as one request and collects if due, as the threads do once a request is answered. */
    request(bytes: number): boolean {
      counted += bytes;
      p.count(bytes);
      return p.collectIfDue();
    },
  };
}

describe("CollectionPacer", () => {
  test("collects once the bytes counted since the last collection reach the budget", () => {
    const p = pacer(100);
    expect([p.request(40), p.request(40), p.request(40)]).toEqual([false, false, true]);
    expect(p.collections).toEqual([120]);
  });

  test("starts counting afresh after a collection, so a steady load collects at a steady pace", () => {
    const p = pacer(100);
    for (let i = 0; i < 10; i++) p.request(50);
    expect(p.collections).toEqual([100, 200, 300, 400, 500]);
  });

  test("collects once for a single request larger than the budget, not once per budget it spans", () => {
    const p = pacer(100);
    expect(p.request(1000)).toBe(true);
    expect(p.request(1)).toBe(false);
    expect(p.collections).toEqual([1000]);
  });

  test("counts the collections it ran", () => {
    const p = new CollectionPacer(100, () => {});
    for (let i = 0; i < 7; i++) {
      p.count(50);
      p.collectIfDue();
    }
    expect(p.collections).toBe(3);
  });

  test("never collects with a budget of 0: the engine's own schedule decides", () => {
    const p = pacer(0);
    for (let i = 0; i < 5; i++) expect(p.request(2 ** 30)).toBe(false);
    expect(p.collections).toEqual([]);
  });

  test("ignores counts that are not positive (a missing or malformed content-length reads as 0 or NaN)", () => {
    const p = pacer(10);
    expect([p.request(0), p.request(-50), p.request(Number.NaN), p.request(9)]).toEqual([false, false, false, false]);
    expect(p.request(1)).toBe(true);
  });
});

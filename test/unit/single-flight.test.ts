// Specification of single flight: concurrent callers share one run per key; a caller may decline a shared failure.
import { describe, expect, test } from "bun:test";
import { SingleFlight } from "../../src/single-flight.ts";

const later = <T>(value: T, ms = 20) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("SingleFlight", () => {
  test("runs the work once for concurrent callers of one key, and again once it has finished", async () => {
    const flights = new SingleFlight<string, number>();
    let runs = 0;
    const flight = { tag: undefined, work: () => later(++runs) };
    expect(await Promise.all([flights.run("a", flight), flights.run("a", flight), flights.run("a", flight)])).toEqual([1, 1, 1]);
    expect(flights.running("a")).toBe(false);
    expect(await flights.run("a", flight)).toBe(2);
  });

  test("runs other keys side by side", async () => {
    const flights = new SingleFlight<string, string>();
    const [a, b] = await Promise.all([flights.run("a", { tag: undefined, work: () => later("a") }), flights.run("b", { tag: undefined, work: () => later("b") })]);
    expect([a, b]).toEqual(["a", "b"]);
  });

  test("skips the work when it is done already", async () => {
    const flights = new SingleFlight<string, string>();
    expect(await flights.run("a", { tag: undefined, done: () => "cached", work: () => Promise.reject(new Error("not needed")) })).toBe("cached");
  });

  test("shares a failure, except with callers whose tag differs from the failed run's, who run their own", async () => {
    const flights = new SingleFlight<string, string, string>();
    let runs = 0;
    const work = (tag: string) => async () => {
      runs++;
      await later(null);
      if (tag === "bad") throw new Error("refused");
      return `ok ${tag}`;
    };
    const run = (tag: string) => flights.run("a", { tag, work: work(tag), retry: (_error, sharedTag) => sharedTag !== tag });
    const [first, same, other] = await Promise.allSettled([run("bad"), run("bad"), run("good")]);
    expect(first.status).toBe("rejected");
    expect(same.status).toBe("rejected");
    expect(other).toEqual({ status: "fulfilled", value: "ok good" });
    expect(runs).toBe(2);
  });
});

// Specification of a request's deadline: the 504 an aborted request is answered with, and waiting on work until it aborts.
import { describe, expect, test } from "bun:test";
import { abortError, requestDeadline, throwIfAborted, untilAborted } from "../../src/deadline.ts";
import { HttpError } from "../../src/errors.ts";

describe("abortError", () => {
  test("answers the deadline's own 504, naming REQUEST_TIMEOUT_MS, once it has passed", async () => {
    const { signal } = requestDeadline(10, undefined);
    await Bun.sleep(30);
    expect(signal!.aborted).toBe(true);
    expect(abortError(signal!)).toMatchObject({ status: 504, message: "The request did not finish within REQUEST_TIMEOUT_MS (10 ms)." });
    expect(() => throwIfAborted(signal)).toThrow("REQUEST_TIMEOUT_MS (10 ms)");
  });

  test("answers a plain 504 for any other abort (a client that left hears nothing anyway)", () => {
    const controller = new AbortController();
    controller.abort();
    const error = abortError(controller.signal);
    expect(error).toBeInstanceOf(HttpError);
    expect([error.status, error.message]).toEqual([504, "The request did not finish within its deadline."]);
  });
});

describe("requestDeadline", () => {
  test("is the client's signal alone without a deadline, and aborts with the client otherwise", () => {
    const client = new AbortController();
    expect(requestDeadline(0, client.signal).signal).toBe(client.signal);
    const { signal, clear } = requestDeadline(60_000, client.signal);
    client.abort();
    expect(signal!.aborted).toBe(true);
    clear();
  });
});

describe("untilAborted", () => {
  test("settles with the work when it finishes first", async () => {
    expect(await untilAborted(Promise.resolve(7), new AbortController().signal)).toBe(7);
  });

  test("rejects with the 504 as soon as the signal aborts, however long the work takes", async () => {
    const { signal } = requestDeadline(10, undefined);
    const started = performance.now();
    await expect(untilAborted(new Promise(() => {}), signal!)).rejects.toMatchObject({ status: 504 });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

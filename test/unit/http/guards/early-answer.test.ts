// Specification of early answers: a refused request's body is read and thrown away (within bounds) before the answer.
import { describe, expect, test } from "bun:test";
import { earlyAnswer } from "../../../../src/http/guards/early-answer.ts";

const KIB = 1024;

/** A body of `pieces` chunks of 1 KiB, each `delayMs` after the last; `pulled` counts the chunks read. */
function slowBody(pieces: number, delayMs = 0) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (state.pulled === pieces) return controller.close();
      if (delayMs > 0) await Bun.sleep(delayMs);
      state.pulled++;
      controller.enqueue(new Uint8Array(KIB));
    },
  });
  return { stream, state };
}

const post = (body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) =>
  new Request("http://localhost/x", { method: "POST", body, headers, duplex: "half" } as RequestInit);
const refusal = () => new Response('{"message":"no"}', { status: 401 });

describe("earlyAnswer", () => {
  test("reads the whole body, counting what it throws away, then answers with the connection kept", async () => {
    const counted: number[] = [];
    const { stream, state } = slowBody(8);
    const answer = await earlyAnswer((bytes) => counted.push(bytes))(post(stream), refusal());
    expect(state.pulled).toBe(8);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(8 * KIB);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("connection")).toBeNull();
  });

  test("stops reading past maxBytes and closes the connection after the answer", async () => {
    const { stream, state } = slowBody(1_000);
    const answer = await earlyAnswer(() => {}, { maxBytes: 4 * KIB, maxMs: 5_000 })(post(stream), refusal());
    expect(state.pulled).toBeLessThan(10);
    expect(answer.headers.get("connection")).toBe("close");
  });

  test("stops reading after maxMs and closes the connection after the answer", async () => {
    const { stream } = slowBody(1_000, 20);
    const started = performance.now();
    const answer = await earlyAnswer(() => {}, { maxBytes: 2 ** 30, maxMs: 100 })(post(stream), refusal());
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(answer.headers.get("connection")).toBe("close");
  });

  test("does not read a body whose declared length is beyond maxBytes at all", async () => {
    const { stream, state } = slowBody(8);
    const answer = await earlyAnswer(() => {}, { maxBytes: 4 * KIB, maxMs: 5_000 })(post(stream, { "content-length": String(8 * KIB) }), refusal());
    expect(state.pulled).toBeLessThanOrEqual(1);
    expect(answer.headers.get("connection")).toBe("close");
  });

  test("answers at once when there is no body", async () => {
    const answer = await earlyAnswer()(new Request("http://localhost/x"), refusal());
    expect(answer.status).toBe(401);
  });
});

// Specification of the body limit guard: the body bytes it reports to the collection pacer and the bodies it refuses.
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { bodyLimitGuard } from "../../../../src/http/guards/body-limit.ts";

describe("bodyLimitGuard", () => {
  const echoLength = (counted: number[]) => new Elysia().use(bodyLimitGuard(1000, { countBodyBytes: (bytes) => counted.push(bytes) })).post("/echo", ({ body }) => String(JSON.stringify(body).length));
  const streamOf = (...parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });

  test("counts a body's declared length, and a chunked body's bytes as they are read, for the collection pacer", async () => {
    const counted: number[] = [];
    const app = echoLength(counted);
    const declared = await app.handle(new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "application/json", "content-length": "11" }, body: '{"a":"bcd"}' }));
    expect(declared.status).toBe(200);
    expect(counted).toEqual([11]);
    counted.length = 0;
    const chunked = await app.handle(new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "application/json" }, body: streamOf('{"a":', '"bcd"}'), duplex: "half" } as RequestInit));
    expect(chunked.status).toBe(200);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(11);
  });

  test("counts nothing of a body it refuses for its declared length", async () => {
    const counted: number[] = [];
    const body = JSON.stringify({ a: "x".repeat(2000) });
    const response = await echoLength(counted).handle(new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "application/json", "content-length": String(body.length) }, body }));
    expect(response.status).toBe(413);
    expect(counted).toEqual([]);
  });
});

describe("bodyLimitGuard's refusals", () => {
  const app = (discarded: number[], maxBytes = 2 ** 30) =>
    new Elysia()
      .use(bodyLimitGuard(1000, { countDiscarded: (bytes) => discarded.push(bytes), discardBounds: { maxBytes, maxMs: 5_000 } }))
      .onError(({ error }) => new Response(JSON.stringify({ message: (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message }), { status: 413 }))
      .post("/echo", ({ body }) => String(JSON.stringify(body).length));
  const chunks = (count: number, size: number) => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === count) return controller.close();
        controller.enqueue(new Uint8Array(size).fill(32));
      },
    });
  };

  test("reads and throws away the rest of a chunked body past the limit before refusing it", async () => {
    const discarded: number[] = [];
    const response = await app(discarded).handle(new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: chunks(40, 100), duplex: "half" } as RequestInit));
    expect(response.status).toBe(413);
    expect((await response.json()).message).toBe("Request body is too large: this server accepts at most 1000 bytes.");
    // 10 chunks fit the limit; the 11th passes it, and it and the 29 after it are thrown away.
    expect(discarded.reduce((a, b) => a + b, 0)).toBe(30 * 100);
  });

  test("refuses a chunked body at once when the rest passes the discard bound", async () => {
    const discarded: number[] = [];
    const response = await app(discarded, 500).handle(new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: chunks(100_000, 100), duplex: "half" } as RequestInit));
    expect(response.status).toBe(413);
    expect(discarded.reduce((a, b) => a + b, 0)).toBeLessThan(1_000);
  });
});

// Specification of the body limit guard: the body bytes it reports to the collection pacer and the bodies it refuses.
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { bodyLimitGuard } from "../../../../src/http/guards/body-limit.ts";

describe("bodyLimitGuard", () => {
  const echoLength = (counted: number[]) => new Elysia().use(bodyLimitGuard(1000, (bytes) => counted.push(bytes))).post("/echo", ({ body }) => String(JSON.stringify(body).length));
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

// Specification of the body limit guard: the body bytes it reports to the collection pacer, the bodies it refuses for
// their size, and the bytes of bodies it lets be held at once.
import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { HttpError } from "../../../../src/errors.ts";
import { ApiKeys, apiKeyGuard, awaitsBodyKey } from "../../../../src/http/guards/api-key.ts";
import { BodyBudget } from "../../../../src/http/guards/body-budget.ts";
import { bodyLimitGuard } from "../../../../src/http/guards/body-limit.ts";

describe("bodyLimitGuard", () => {
  const echoLength = (counted: number[]) =>
    new Elysia().use(bodyLimitGuard(1000, { countBodyBytes: (bytes) => counted.push(bytes) })).post("/echo", ({ body }) => String(JSON.stringify(body).length));
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
    const declared = await app.handle(
      new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "application/json", "content-length": "11" }, body: '{"a":"bcd"}' }),
    );
    expect(declared.status).toBe(200);
    expect(counted).toEqual([11]);
    counted.length = 0;
    const chunked = await app.handle(
      new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "application/json" }, body: streamOf('{"a":', '"bcd"}'), duplex: "half" } as RequestInit),
    );
    expect(chunked.status).toBe(200);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(11);
  });

  test("counts nothing of a body it refuses for its declared length", async () => {
    const counted: number[] = [];
    const body = JSON.stringify({ a: "x".repeat(2000) });
    const response = await echoLength(counted).handle(
      new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "application/json", "content-length": String(body.length) }, body }),
    );
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
    const response = await app(discarded).handle(
      new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: chunks(40, 100), duplex: "half" } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect((await response.json()).message).toBe("Request body is too large: this server accepts at most 1000 bytes.");
    // 10 chunks fit the limit; the 11th passes it, and it and the 29 after it are thrown away.
    expect(discarded.reduce((a, b) => a + b, 0)).toBe(30 * 100);
  });

  test("refuses a chunked body at once when the rest passes the discard bound", async () => {
    const discarded: number[] = [];
    const response = await app(discarded, 500).handle(
      new Request("http://localhost/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: chunks(100_000, 100), duplex: "half" } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(discarded.reduce((a, b) => a + b, 0)).toBeLessThan(1_000);
  });
});

describe("bodyLimitGuard's budget", () => {
  const KEY = "unit-key-91";
  /** An app behind the API key guard and the body guard with `budget` (bodies up to 5000 bytes). */
  const guarded = (budget: BodyBudget) => {
    const keys = new ApiKeys([KEY]);
    return new Elysia()
      .use(apiKeyGuard(keys))
      .use(bodyLimitGuard(5_000, { budget, awaitsAuthentication: (request) => awaitsBodyKey(keys, request) }))
      .onError(({ code, error }) => {
        const cause = (error as { cause?: unknown }).cause;
        const known = error instanceof HttpError ? error : cause instanceof HttpError ? cause : null;
        return new Response(JSON.stringify({ message: known?.message ?? code }), {
          status: known?.status ?? (code === "NOT_FOUND" ? 404 : code === "VALIDATION" ? 422 : 400),
          headers: known?.headers,
        });
      })
      .post("/infer/object_detection", ({ body }) => ({ got: (body as { image: string }).image.length }), {
        body: t.Object({ api_key: t.Optional(t.String()), image: t.String() }),
      })
      .post("/model/clear", () => {
        throw new Error("boom");
      });
  };
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const send = (app: ReturnType<typeof guarded>, path: string, init: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));

  test("holds a body's bytes until its answer, on every path an answer takes", async () => {
    const budget = new BodyBudget(10_000, 2_000);
    const app = guarded(budget);
    const bearer = { authorization: `Bearer ${KEY}` };
    const answers = [
      await send(app, "/infer/object_detection", json({ api_key: KEY, image: "x" })),
      await send(app, "/infer/object_detection", json({ image: "x" }, bearer)),
      await send(app, "/infer/object_detection", json({ api_key: "wrong", image: "x" })),
      await send(app, "/infer/object_detection", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" }),
      await send(app, "/infer/object_detection", json({ api_key: KEY, image: 7 })),
      await send(app, "/model/clear", json({}, bearer)),
      await send(app, "/no/such/route", json({}, bearer)),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 401, 401, 422, 400, 404]);
    await Bun.sleep(10); // after-response hooks run once the answer is out
    expect([budget.bytesHeld, budget.unauthenticatedBytesHeld]).toEqual([0, 0]);
  });

  test("answers 503 with Retry-After when a body does not fit, the unauthenticated share first", async () => {
    const budget = new BodyBudget(300, 150);
    const app = guarded(budget);
    const held = budget.hold(100, false)!;
    const image = "x".repeat(100);
    const pending = await send(app, "/infer/object_detection", json({ api_key: KEY, image }));
    expect(pending.status).toBe(503);
    expect(pending.headers.get("retry-after")).toBe("1");
    expect((await pending.json()).message).toContain("not yet authenticated");
    // With the key in a header, the body is authenticated before it is read: the whole budget is open to it.
    expect((await send(app, "/infer/object_detection", json({ image }, { authorization: `Bearer ${KEY}` }))).status).toBe(200);
    budget.hold(150, true);
    const full = await send(app, "/infer/object_detection", json({ image }, { authorization: `Bearer ${KEY}` }));
    expect(full.status).toBe(503);
    expect((await full.json()).message).toBe("Server is holding as many request bodies as MAX_REQUEST_BYTES_IN_FLIGHT allows. Retry later.");
    held.release();
  });

  test("refuses a chunked body with 503 once it outgrows the budget, and releases what it held", async () => {
    const budget = new BodyBudget(10_000, 1_000);
    const app = guarded(budget);
    const chunked = (image: string) =>
      ({ method: "POST", headers: { "content-type": "application/json" }, body: new Blob([JSON.stringify({ api_key: KEY, image })]).stream(), duplex: "half" }) as RequestInit;
    expect((await send(app, "/infer/object_detection", chunked("x".repeat(900)))).status).toBe(200);
    // Over the unauthenticated share: a 503 (not the 401 a body that cannot be read would get).
    const refused = await send(app, "/infer/object_detection", chunked("x".repeat(1_000)));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    await Bun.sleep(10);
    expect([budget.bytesHeld, budget.unauthenticatedBytesHeld]).toEqual([0, 0]);
  });
});

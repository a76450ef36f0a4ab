// Specification of the request guards' pieces: key matching, Bearer parsing, public paths, CORS origins, JSON shape bounds,
// and the body bytes the guard reports to the collection pacer.
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { allowedOrigin, ApiKeys, bearerKey, guard, isPublicPath, jsonShapeProblem, MAX_JSON_DEPTH, MAX_JSON_VALUES } from "../../../src/http/guard.ts";

describe("ApiKeys", () => {
  const keys = new ApiKeys(["alpha-123", "beta-456"]);

  test("accepts exactly the configured keys", () => {
    expect(keys.enabled).toBe(true);
    expect(keys.accepts("alpha-123")).toBe(true);
    expect(keys.accepts("beta-456")).toBe(true);
  });

  test("refuses prefixes, extensions, case changes, empty values and non-strings", () => {
    for (const candidate of ["alpha-12", "alpha-1234", "ALPHA-123", "", " alpha-123", null, undefined, 123, ["alpha-123"], { key: "alpha-123" }]) {
      expect(keys.accepts(candidate)).toBe(false);
    }
  });

  test("is disabled with no keys, and then accepts nothing", () => {
    const none = new ApiKeys([]);
    expect(none.enabled).toBe(false);
    expect(none.accepts("anything")).toBe(false);
  });
});

describe("bearerKey", () => {
  const request = (authorization?: string) => new Request("http://localhost/", { headers: authorization === undefined ? {} : { authorization } });

  test("reads the key of a Bearer header, scheme case-insensitively", () => {
    expect(bearerKey(request("Bearer abc"))).toBe("abc");
    expect(bearerKey(request("bearer   abc  "))).toBe("abc");
  });

  test("ignores other schemes, missing keys and missing headers", () => {
    for (const header of [undefined, "", "Basic YWJjOmRlZg==", "Bearer", "Bearer a b", "Token abc"]) expect(bearerKey(request(header))).toBeNull();
  });
});

describe("isPublicPath", () => {
  test("opens the probes, info, metrics, the landing page and its files, and the docs", () => {
    for (const path of ["/", "/healthz", "/readiness", "/info", "/metrics", "/docs", "/openapi.json", "/docs/assets/swagger-ui.css", "/playground/playground.js"]) expect(isPublicPath(path)).toBe(true);
  });

  test("keeps everything else closed, including look-alikes and model routes", () => {
    for (const path of ["/infer/object_detection", "/model/registry", "/docs/1", "/metrics/1", "/healthz/", "/docs/assets/a/b", "/playground/a/b", "/INFO", "//healthz", "/%68ealthz"]) {
      expect(isPublicPath(path)).toBe(false);
    }
  });
});

describe("allowedOrigin", () => {
  test("answers the origin itself when listed, * when * is listed, and null otherwise", () => {
    expect(allowedOrigin(["https://a.example"], "https://a.example")).toBe("https://a.example");
    expect(allowedOrigin(["*"], "https://anything.example")).toBe("*");
    expect(allowedOrigin(["https://a.example"], "https://b.example")).toBeNull();
    expect(allowedOrigin(["https://a.example"], "https://a.example.evil.net")).toBeNull();
    expect(allowedOrigin(["https://a.example"], null)).toBeNull();
    expect(allowedOrigin([], "https://a.example")).toBeNull();
  });
});

describe("jsonShapeProblem", () => {
  const nested = (depth: number) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };

  test("passes request-shaped bodies and scalars", () => {
    expect(jsonShapeProblem({ model_id: "a/1", image: [{ type: "base64", value: "x" }], class_filter: ["a", "b"] })).toBeNull();
    expect(jsonShapeProblem("text")).toBeNull();
    expect(jsonShapeProblem(null)).toBeNull();
  });

  test("reports nesting deeper than MAX_JSON_DEPTH, without recursion", () => {
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(jsonShapeProblem(nested(MAX_JSON_DEPTH + 1))).toBe("depth");
    expect(jsonShapeProblem(nested(1_000_000))).toBe("depth");
  });

  test("reports more than MAX_JSON_VALUES values", () => {
    expect(jsonShapeProblem({ image: new Array(MAX_JSON_VALUES - 2).fill(0) })).toBeNull();
    expect(jsonShapeProblem({ image: new Array(MAX_JSON_VALUES).fill(0) })).toBe("values");
    expect(jsonShapeProblem(Array.from({ length: 60_000 }, () => ({ type: 1 })))).toBe("values");
  });
});

describe("guard", () => {
  const settings = { maxRequestBytes: 1000, serverApiKeys: [], corsAllowedOrigins: [] };
  const echoLength = (counted: number[]) => new Elysia().use(guard(settings, (bytes) => counted.push(bytes))).post("/echo", ({ body }) => String(JSON.stringify(body).length));
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

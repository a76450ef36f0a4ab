// Specification of access control over real HTTP: SERVER_API_KEYS (401 without one of the keys,
// keys never logged) and CORS_ALLOWED_ORIGINS (no CORS headers unless set; preflights answered).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, postJson, solid, timedFetch, writeThenRead } from "./hostile-fixtures.ts";
import { FIXTURE_CACHE, startServerProcess, type ServerProcess } from "./server-process.ts";

const KEYS = ["key-one-3f9a1c", "key-two-b27e44"];
const WRONG_KEY = "wrong-key-77d0e1";
const ORIGIN = "https://app.example.com";
const PROBE = "colour-probe/1";
const UNAUTHORIZED = /^Unauthorized: this server requires an API key\./;

let guarded: ServerProcess; // SERVER_API_KEYS and one allowed origin
let open: ServerProcess; // CORS_ALLOWED_ORIGINS=*, no keys
let plain: ServerProcess; // defaults: neither
let png: string;

beforeAll(async () => {
  const common = { MODEL_CACHE_DIR: FIXTURE_CACHE, PRELOAD_MODELS: PROBE, NUM_WORKERS: "1" };
  [guarded, open, plain] = await Promise.all([
    startServerProcess({ ...common, SERVER_API_KEYS: KEYS.join(", "), CORS_ALLOWED_ORIGINS: `${ORIGIN},https://other.example.org:8443` }),
    startServerProcess({ ...common, CORS_ALLOWED_ORIGINS: "*" }),
    startServerProcess(common),
  ]);
  png = (await solid([153, 51, 217], 64, 48)).toString("base64");
});

afterAll(async () => {
  await Promise.all([guarded?.stop(), open?.stop(), plain?.stop()]);
});

const detection = (extra: Record<string, unknown> = {}) => ({ model_id: PROBE, image: { type: "base64", value: png }, ...extra });
const get = (server: ServerProcess, path: string, headers: Record<string, string> = {}) => timedFetch(`${server.url}${path}`, { headers });
const legacyPost = (server: ServerProcess, query: string, headers: Record<string, string> = {}) =>
  timedFetch(`${server.url}/${PROBE}${query}`, { method: "POST", headers: { "content-type": "text/plain", ...headers }, body: png });

describe("SERVER_API_KEYS", () => {
  test("refuses every inference and model-management request without a key with 401 and a message", async () => {
    const answers = [
      await postJson(guarded, "/infer/object_detection", detection()),
      await postJson(guarded, "/infer/instance_segmentation", detection()),
      await postJson(guarded, "/infer/classification", detection()),
      await postJson(guarded, "/model/add", { model_id: PROBE }),
      await postJson(guarded, "/model/remove", { model_id: PROBE }),
      await postJson(guarded, "/model/clear", {}),
      await get(guarded, "/model/registry"),
      await get(guarded, `/start/${PROBE}`),
      await get(guarded, "/clear_cache"),
      await legacyPost(guarded, ""),
      await get(guarded, `/${PROBE}?image=https://example.com/a.jpg`),
      await get(guarded, "/no/such/route"),
    ];
    for (const answer of answers) {
      expectError(answer, 401, UNAUTHORIZED);
      expect(answer.headers.get("www-authenticate")).toBe("Bearer");
    }
    // Nothing was unloaded by the refused management calls.
    const registry = await get(guarded, "/model/registry", { authorization: `Bearer ${KEYS[0]}` });
    expect(registry.json.models.map((m: any) => m.model_id)).toEqual([PROBE]);
  });

  test("answers 401 with its message to a client that writes a whole body before reading, as Python's urllib does", async () => {
    const body = "A".repeat(16 * 2 ** 20);
    const answer = await writeThenRead(guarded.url, { method: "POST", path: `/${PROBE}`, headers: { "content-type": "text/plain" }, body });
    expect(answer).toMatchObject({ status: 401, json: { message: expect.stringMatching(UNAUTHORIZED) } });
  });

  test("refuses a wrong key, a prefix or an extension of a right one, wherever it is sent", async () => {
    for (const key of [WRONG_KEY, KEYS[0]!.slice(0, -1), `${KEYS[0]}x`, "", " "]) {
      expectError(await postJson(guarded, "/infer/object_detection", detection({ api_key: key })), 401, UNAUTHORIZED);
      expectError(await postJson(guarded, "/infer/object_detection", detection(), { authorization: `Bearer ${key}` }), 401, UNAUTHORIZED);
      expectError(await legacyPost(guarded, `?api_key=${encodeURIComponent(key)}`), 401, UNAUTHORIZED);
    }
    expectError(await postJson(guarded, "/infer/object_detection", detection(), { authorization: `Basic ${btoa(`user:${KEYS[0]}`)}` }), 401, UNAUTHORIZED);
  });

  test("accepts any listed key as api_key in the JSON body, as the api_key query parameter, or as an Authorization: Bearer header", async () => {
    for (const key of KEYS) {
      expect((await postJson(guarded, "/infer/object_detection", detection({ api_key: key }))).status).toBe(200);
      expect((await postJson(guarded, "/infer/object_detection", detection(), { authorization: `Bearer ${key}` })).status).toBe(200);
      expect((await postJson(guarded, "/infer/object_detection", detection(), { authorization: `bearer  ${key} ` })).status).toBe(200);
      expect((await legacyPost(guarded, `?api_key=${key}`)).status).toBe(200);
      expect((await legacyPost(guarded, "", { authorization: `Bearer ${key}` })).status).toBe(200);
      expect((await get(guarded, `/model/registry?api_key=${key}`)).status).toBe(200);
      expect((await postJson(guarded, "/model/add", { model_id: PROBE, api_key: key })).status).toBe(200);
    }
    // A right key in one place wins over a wrong one in another.
    expect((await postJson(guarded, "/infer/object_detection", detection({ api_key: WRONG_KEY }), { authorization: `Bearer ${KEYS[1]}` })).status).toBe(200);
  });

  test("answers an unauthenticated malformed body with 401, and an authenticated one with 400 or 422", async () => {
    expectError(await postJson(guarded, "/infer/object_detection", "{not json"), 401, UNAUTHORIZED);
    expectError(await postJson(guarded, "/infer/object_detection", { model_id: 7 }), 401, UNAUTHORIZED);
    expectError(await postJson(guarded, "/infer/object_detection", [KEYS[0]]), 401, UNAUTHORIZED);
    expectError(await postJson(guarded, "/infer/object_detection", { api_key: KEYS[0], model_id: 7 }), 422);
    expectError(await postJson(guarded, "/infer/object_detection", "{not json", { authorization: `Bearer ${KEYS[0]}` }), 400, "Malformed request body: expected JSON.");
  });

  test("leaves the landing page, /healthz, /readiness, /info, /metrics and the API docs open", async () => {
    for (const path of ["/", "/healthz", "/readiness", "/info", "/metrics", "/docs", "/openapi.json", "/docs/assets/swagger-ui.css", "/playground/playground.js"]) {
      expect({ path, status: (await get(guarded, path)).status }).toEqual({ path, status: 200 });
    }
    // A model named like a public path is still behind the key.
    expectError(await get(guarded, "/docs/1"), 401, UNAUTHORIZED);
    expectError(await get(guarded, "/metrics/1"), 401, UNAUTHORIZED);
  });

  test("never writes a key, right or wrong, to the server's log or its metrics", async () => {
    // Error paths that echo parts of the request: unknown model, bad query, bad body.
    await postJson(guarded, "/infer/object_detection", detection({ api_key: KEYS[0], model_id: "no-such/1" }));
    await legacyPost(guarded, `?api_key=${KEYS[1]}&confidence=high`);
    await postJson(guarded, "/infer/object_detection", { api_key: WRONG_KEY, image: 5 });
    await get(guarded, `/start/no-such/1?api_key=${KEYS[0]}`);
    await get(guarded, `/no/such/route?api_key=${WRONG_KEY}`);
    const log = guarded.output();
    const metrics = (await get(guarded, "/metrics")).text;
    for (const key of [...KEYS, WRONG_KEY]) {
      expect(log).not.toContain(key);
      expect(metrics).not.toContain(key);
    }
  });
});

describe("CORS_ALLOWED_ORIGINS", () => {
  const preflight = (server: ServerProcess, origin: string, path = "/infer/object_detection") =>
    timedFetch(`${server.url}${path}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });

  test("sends no CORS headers when it is not set", async () => {
    const info = await get(plain, "/info", { origin: ORIGIN });
    expect(info.status).toBe(200);
    expect(info.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await preflight(plain, ORIGIN);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    // Without SERVER_API_KEYS no key is needed.
    expect((await postJson(plain, "/infer/object_detection", detection(), { origin: ORIGIN })).status).toBe(200);
  });

  test("answers a preflight from a listed origin with 204, the methods and the requested headers, without a key", async () => {
    for (const origin of [ORIGIN, "https://other.example.org:8443"]) {
      const answer = await preflight(guarded, origin);
      expect(answer.status).toBe(204);
      expect(answer.headers.get("access-control-allow-origin")).toBe(origin);
      expect(answer.headers.get("access-control-allow-methods")).toContain("POST");
      expect(answer.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
      expect(answer.headers.get("vary")).toContain("Origin");
    }
  });

  test("refuses a preflight from an origin that is not listed with 403 and no CORS headers", async () => {
    for (const origin of ["https://evil.example.com", "http://app.example.com", "https://app.example.com.evil.net", "null"]) {
      const answer = await preflight(guarded, origin);
      expectError(answer, 403, "Origin not allowed.");
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  test("adds Access-Control-Allow-Origin to answers for listed origins only, errors included", async () => {
    const ok = await postJson(guarded, "/infer/object_detection", detection({ api_key: KEYS[0] }), { origin: ORIGIN });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("access-control-expose-headers")).toContain("Retry-After");
    expect(ok.headers.get("vary")).toContain("Origin");
    const refused = await postJson(guarded, "/infer/object_detection", detection(), { origin: ORIGIN });
    expectError(refused, 401, UNAUTHORIZED);
    expect(refused.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const invalid = await postJson(guarded, "/infer/object_detection", detection({ api_key: KEYS[0], confidence: 7 }), { origin: ORIGIN });
    expectError(invalid, 422);
    expect(invalid.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const stranger = await postJson(guarded, "/infer/object_detection", detection({ api_key: KEYS[0] }), { origin: "https://evil.example.com" });
    expect(stranger.status).toBe(200);
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("* allows every origin", async () => {
    const pre = await preflight(open, "https://anywhere.example.net");
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    const answer = await postJson(open, "/infer/object_detection", detection(), { origin: "https://anywhere.example.net" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("access-control-allow-origin")).toBe("*");
    expect((await get(open, "/healthz", { origin: "https://x.example" })).headers.get("access-control-allow-origin")).toBe("*");
  });
});

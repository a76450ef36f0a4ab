// Specification of the API key guard's pieces: key matching, Bearer parsing, public paths.
import { describe, expect, test } from "bun:test";
import { ApiKeys, bearerKey, isPublicPath } from "../../../../src/http/guards/api-key.ts";

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
    for (const path of ["/", "/healthz", "/readiness", "/info", "/metrics", "/docs", "/openapi.json", "/docs/assets/swagger-ui.css", "/playground/playground.js"])
      expect(isPublicPath(path)).toBe(true);
  });

  test("keeps everything else closed, including look-alikes and model routes", () => {
    for (const path of [
      "/infer/object_detection",
      "/model/registry",
      "/docs/1",
      "/metrics/1",
      "/healthz/",
      "/docs/assets/a/b",
      "/playground/a/b",
      "/INFO",
      "//healthz",
      "/%68ealthz",
    ]) {
      expect(isPublicPath(path)).toBe(false);
    }
  });
});

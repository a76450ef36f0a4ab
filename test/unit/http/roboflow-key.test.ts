// Specification of which Roboflow API key a request carries (docs/compatibility.md §2.1) for downloading a model.
import { describe, expect, test } from "bun:test";
import { requestApiKey } from "../../../src/http/roboflow-key.ts";

const open = { serverApiKeys: [] };
const req = (authorization?: string) => new Request("http://x/infer/object_detection", { headers: authorization ? { authorization } : {} });

describe("requestApiKey", () => {
  test("/infer/* and /model/add: the Bearer header first, else the body's api_key", () => {
    expect(requestApiKey(open, req("Bearer H"), "B", "header-first")).toBe("H");
    expect(requestApiKey(open, req(), "B", "header-first")).toBe("B");
    expect(requestApiKey(open, req("Basic abc"), "B", "header-first")).toBe("B");
  });

  test("legacy route and /start: the api_key query first, else the header", () => {
    expect(requestApiKey(open, req("Bearer H"), "Q", "own-first")).toBe("Q");
    expect(requestApiKey(open, req("Bearer H"), undefined, "own-first")).toBe("H");
    expect(requestApiKey(open, req("Bearer H"), "  ", "own-first")).toBe("H");
  });

  test("none at all is null (the server's ROBOFLOW_API_KEY / API_KEY applies then)", () => {
    expect(requestApiKey(open, req(), null, "header-first")).toBeNull();
    expect(requestApiKey(open, req(), "", "own-first")).toBeNull();
  });

  test("with SERVER_API_KEYS a request's key is this server's credential and is never passed on", () => {
    expect(requestApiKey({ serverApiKeys: ["s"] }, req("Bearer s"), "s", "header-first")).toBeNull();
  });
});

// Specification of the CORS guard's origin matching.
import { describe, expect, test } from "bun:test";
import { allowedOrigin } from "../../../../src/http/guards/cors.ts";

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

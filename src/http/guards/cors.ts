// CORS guard (CORS_ALLOWED_ORIGINS): answers preflights and marks answers to allowed origins; off when no origin is set.
import { Elysia } from "elysia";
import { json } from "../errors.ts";

const CORS_METHODS = "GET, POST, OPTIONS";
const CORS_DEFAULT_HEADERS = "authorization, content-type";
// Header names as RFC 9110 tokens, comma-separated: anything else is not echoed back.
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/** The Access-Control-Allow-Origin value for `origin`, or null when it is not allowed. */
export function allowedOrigin(origins: readonly string[], origin: string | null): string | null {
  if (!origin || origins.length === 0) return null;
  if (origins.includes("*")) return "*";
  return origins.includes(origin) ? origin : null;
}

/** Registered first: its headers go on every answer, the other guards' refusals included. */
export function corsGuard(origins: readonly string[]) {
  return new Elysia().onRequest(({ request, set }) => {
    if (origins.length === 0) return;
    const origin = request.headers.get("origin");
    const allow = allowedOrigin(origins, origin);
    if (request.method === "OPTIONS" && origin && request.headers.has("access-control-request-method")) {
      if (!allow) return json(403, { message: "Origin not allowed." }, { vary: "Origin" });
      const requested = request.headers.get("access-control-request-headers");
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": allow,
          "access-control-allow-methods": CORS_METHODS,
          "access-control-allow-headers": requested && HEADER_LIST.test(requested.trim()) ? requested.trim() : CORS_DEFAULT_HEADERS,
          "access-control-max-age": "600",
          vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
      });
    }
    if (allow) {
      set.headers["access-control-allow-origin"] = allow;
      set.headers["access-control-expose-headers"] = "Retry-After";
    }
    set.headers["vary"] = "Origin";
  });
}

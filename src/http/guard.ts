// Request guards ahead of every route: the body size limit (MAX_REQUEST_BYTES), API keys
// (SERVER_API_KEYS) and CORS (CORS_ALLOWED_ORIGINS). Each answers {"message": …} like every error.
import { Elysia } from "elysia";
import { createHash, timingSafeEqual } from "node:crypto";
import type { ServerConfig } from "../config.ts";
import { InferenceError } from "../errors.ts";
import { json } from "./errors.ts";

export type GuardSettings = Pick<ServerConfig, "maxRequestBytes" | "serverApiKeys" | "corsAllowedOrigins">;

export class BodyTooLargeError extends InferenceError {
  constructor(limit: number) {
    super(413, `Request body is too large: this server accepts at most ${limit} bytes.`);
    this.name = "BodyTooLargeError";
  }
}

export class UnauthorizedError extends InferenceError {
  constructor() {
    super(
      401,
      "Unauthorized: this server requires an API key. Send one as `api_key` in the JSON body, as the `api_key` query parameter, or as an `Authorization: Bearer <key>` header.",
      { "WWW-Authenticate": "Bearer" },
    );
    this.name = "UnauthorizedError";
  }
}

/**
 * Structural bounds of a JSON body, checked before validation: our bodies nest 4 levels and hold a
 * few values per image, while the validator's report on a failing body costs time in its size
 * (quadratic in its depth), all of it on the HTTP thread.
 */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_VALUES = 100_000;

export class BodyShapeError extends InferenceError {
  constructor(problem: "depth" | "values") {
    super(
      422,
      problem === "depth"
        ? `Invalid request: the JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`
        : `Invalid request: the JSON body holds more than ${MAX_JSON_VALUES} values.`,
    );
    this.name = "BodyShapeError";
  }
}

/** "depth" or "values" when `value` exceeds a bound (the value itself is level 1), else null; iterative, stops early. */
export function jsonShapeProblem(value: unknown, maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES): "depth" | "values" | null {
  if (value === null || typeof value !== "object") return null;
  const stack: [object, number][] = [[value, 1]];
  let values = 1;
  while (stack.length > 0) {
    const [node, level] = stack.pop()!;
    if (level > maxDepth) return "depth";
    const children = Array.isArray(node) ? node : Object.values(node);
    values += children.length;
    if (values > maxValues) return "values";
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push([child, level + 1]);
    }
  }
  return null;
}

/**
 * Paths anyone may read even when SERVER_API_KEYS is set: the landing page (and its files), liveness and
 * readiness probes, server info (clients poll it), Prometheus metrics (scraped by annotation, see
 * deploy/kubernetes; counts and model ids only) and the API documentation. Every other path,
 * unknown ones included, needs a key; OPTIONS (CORS preflight) never does.
 */
const PUBLIC_PATHS = new Set(["/", "/healthz", "/readiness", "/info", "/metrics", "/docs", "/openapi.json"]);
/** Static files of the docs page and of the playground at / (its script asks for the key the API needs). */
const PUBLIC_PREFIXES = ["/docs/assets/", "/playground/"];

/** Routes whose JSON body may carry `api_key` (the reference's /infer/* and /model/add and /model/remove). */
const BODY_KEY_ROUTES = new Set(["/infer/object_detection", "/infer/instance_segmentation", "/infer/classification", "/model/add", "/model/remove"]);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || PUBLIC_PREFIXES.some((prefix) => path.startsWith(prefix) && !path.slice(prefix.length).includes("/"));
}

/** Compares candidate keys with the configured ones in constant time (digests of equal length). */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(candidate: unknown): boolean {
    if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > 4096) return false;
    const d = digest(candidate);
    let match = false;
    // Every configured key is compared, so the time does not tell which one matched.
    for (const known of this.digests) match = timingSafeEqual(known, d) || match;
    return match;
  }
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** The key of `Authorization: Bearer <key>`, or null. */
export function bearerKey(request: Request): string | null {
  const header = request.headers.get("authorization");
  const match = header ? /^\s*bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

function queryKey(url: URL): string | null {
  return url.searchParams.get("api_key");
}

/** A request whose body cannot be longer than `limit`: reading past it fails with BodyTooLargeError. */
function limitedRequest(request: Request, limit: number, countBodyBytes: (bytes: number) => void): Request {
  let seen = 0;
  const body = request.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new BodyTooLargeError(limit));
        else {
          countBodyBytes(chunk.byteLength);
          controller.enqueue(chunk);
        }
      },
    }),
  );
  return new Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal, duplex: "half" } as RequestInit);
}

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

/**
 * `countBodyBytes` hears the size of every body within the size limit: its declared length (a request later refused
 * for its key counts too, which only brings a collection forward), or a chunked body's bytes as they are read.
 */
export function guard(settings: GuardSettings, countBodyBytes: (bytes: number) => void = () => {}) {
  const keys = new ApiKeys(settings.serverApiKeys);
  const origins = settings.corsAllowedOrigins;
  const limit = settings.maxRequestBytes;

  return (
    new Elysia()
      // onRequest runs for every request, matched or not, before any body is read.
      .onRequest((context) => {
        const { request, set } = context;

        // CORS: preflights are answered here; other requests from an allowed origin get the header.
        if (origins.length > 0) {
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
        }

        // Body size: a declared length is checked before reading; a chunked body while it is read.
        const declared = request.headers.get("content-length");
        if (declared !== null) {
          if (Number(declared) > limit) return errorOf(new BodyTooLargeError(limit));
          countBodyBytes(Number(declared) || 0);
        } else if (request.body && request.method !== "GET" && request.method !== "HEAD") {
          (context as { request: Request }).request = limitedRequest(request, limit, countBodyBytes);
        }

        // API keys: a header or query key is checked here; a JSON body key after parsing (below).
        if (keys.enabled && request.method !== "OPTIONS") {
          const url = new URL(request.url);
          if (isPublicPath(url.pathname)) return;
          if (keys.accepts(bearerKey(request)) || keys.accepts(queryKey(url))) return;
          if (request.method === "POST" && BODY_KEY_ROUTES.has(url.pathname)) return;
          return errorOf(new UnauthorizedError());
        }
      })
      // After the body is parsed, before it is validated: an unauthorised request never sees a 422,
      // and a body too deep or too large to validate quickly never reaches the validator.
      .onTransform({ as: "global" }, ({ request, body }) => {
        if (awaitsBodyKey(request)) {
          const bodyKey = body && typeof body === "object" && !Array.isArray(body) ? (body as { api_key?: unknown }).api_key : undefined;
          if (!keys.accepts(bodyKey)) throw new UnauthorizedError();
        }
        const problem = jsonShapeProblem(body);
        if (problem) throw new BodyShapeError(problem);
      })
      // A body that is not JSON cannot carry a key either: 401 rather than the parse error's 400.
      // (Registered ahead of the app's own error mapping, which answers everything else.)
      .onError({ as: "global" }, ({ code, request, set }) => {
        if (code !== "PARSE" || !awaitsBodyKey(request)) return;
        set.status = 401;
        return errorOf(new UnauthorizedError());
      })
  );

  /** True for a request that can only be authorised by the `api_key` of its JSON body. */
  function awaitsBodyKey(request: Request): boolean {
    if (!keys.enabled || request.method !== "POST") return false;
    const url = new URL(request.url);
    return BODY_KEY_ROUTES.has(url.pathname) && !keys.accepts(bearerKey(request)) && !keys.accepts(queryKey(url));
  }
}

function errorOf(error: InferenceError): Response {
  return json(error.status, { message: error.message }, error.headers);
}

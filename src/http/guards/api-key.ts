// API key guard (SERVER_API_KEYS): a request needs one of the keys, from a Bearer header, the `api_key` query parameter,
// or, on the routes whose JSON body may carry it, the body's `api_key` (checked once the body is parsed).
import { Elysia } from "elysia";
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../../errors.ts";
import { earlyAnswer, errorAnswer, type EarlyAnswer } from "./early-answer.ts";

export class UnauthorizedError extends HttpError {
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

/** True when the request's Bearer header or `api_key` query parameter holds one of `keys`. */
function carriesKey(keys: ApiKeys, request: Request, url: URL): boolean {
  return keys.accepts(bearerKey(request)) || keys.accepts(url.searchParams.get("api_key"));
}

/** True for a request that can only be authorised by the `api_key` of its JSON body, which is not read yet. */
export function awaitsBodyKey(keys: ApiKeys, request: Request): boolean {
  if (!keys.enabled || request.method !== "POST") return false;
  const url = new URL(request.url);
  return BODY_KEY_ROUTES.has(url.pathname) && !carriesKey(keys, request, url);
}

/**
 * Registered after CORS and before the body guards: a request with no hope of a key is refused before any byte of its
 * body is held (`answer` reads and throws it away first).
 */
export function apiKeyGuard(keys: ApiKeys, answer: EarlyAnswer = earlyAnswer()) {
  return (
    new Elysia()
      .onRequest(({ request }) => {
        if (!keys.enabled || request.method === "OPTIONS") return;
        const url = new URL(request.url);
        if (isPublicPath(url.pathname) || carriesKey(keys, request, url)) return;
        if (request.method === "POST" && BODY_KEY_ROUTES.has(url.pathname)) return;
        return answer(request, errorAnswer(new UnauthorizedError()));
      })
      // After the body is parsed, before it is validated: an unauthorised request never sees a 422.
      .onTransform({ as: "global" }, ({ request, body }) => {
        if (!awaitsBodyKey(keys, request)) return;
        const bodyKey = body && typeof body === "object" && !Array.isArray(body) ? (body as { api_key?: unknown }).api_key : undefined;
        if (!keys.accepts(bodyKey)) throw new UnauthorizedError();
      })
      // A body that is not JSON cannot carry a key either: 401 rather than the parse error's 400 (but a body the body
      // guard refused while it arrived keeps its 413 or 503). Registered ahead of the app's own error mapping.
      .onError({ as: "global" }, ({ code, error, request, set }) => {
        if (code !== "PARSE" || (error as { cause?: unknown }).cause instanceof HttpError || !awaitsBodyKey(keys, request)) return;
        set.status = 401;
        return errorAnswer(new UnauthorizedError());
      })
  );
}

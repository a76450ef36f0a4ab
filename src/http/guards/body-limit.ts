// Body limit guard: the size of one body (MAX_REQUEST_BYTES: 413) and the bytes of all bodies held at once
// (MAX_REQUEST_BYTES_IN_FLIGHT: 503 with Retry-After, see body-budget.ts). A declared Content-Length is judged before
// reading, a chunked body as it arrives; either way a refused body is read and thrown away first (see early-answer.ts).
// Every body let in is reported to the HTTP thread's collection pacer.
import { Elysia } from "elysia";
import { HttpError } from "../../errors.ts";
import { BodyBudget, BodyBudgetError, type BodyHold } from "./body-budget.ts";
import { DISCARD_BOUNDS, earlyAnswer, errorAnswer, type DiscardBounds, type EarlyAnswer } from "./early-answer.ts";

export class BodyTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, `Request body is too large: this server accepts at most ${limit} bytes.`);
    this.name = "BodyTooLargeError";
  }
}

export interface BodyLimitOptions {
  /** Bodies held at once; none means no bound. */
  budget?: BodyBudget;
  /** True for a request whose key is inside its body (it holds the unauthenticated share until the body is parsed). */
  awaitsAuthentication?: (request: Request) => boolean;
  /** Hears the size of every body let in: its declared length, or a chunked body's bytes as they are read. */
  countBodyBytes?: (bytes: number) => void;
  /** Hears the bytes of refused bodies, read and thrown away. */
  countDiscarded?: (bytes: number) => void;
  discardBounds?: DiscardBounds;
}

type Settings = Required<Omit<BodyLimitOptions, "budget">> & { budget: BodyBudget };

/**
 * A request whose body cannot be longer than `limit` nor outgrow its hold: past either, the rest is read and thrown
 * away (within the discard bounds), then reading fails with the refusal.
 */
function limitedRequest(request: Request, limit: number, hold: BodyHold, settings: Settings): Request {
  const { countBodyBytes, countDiscarded, discardBounds } = settings;
  let seen = 0;
  let discarded = 0;
  let refusal: HttpError | null = null;
  let timer: Timer | undefined;
  const body = request.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!refusal) {
          if (seen + chunk.byteLength > limit) refusal = new BodyTooLargeError(limit);
          else if (!hold.grow(chunk.byteLength)) refusal = new BodyBudgetError(hold.authenticated);
          else {
            seen += chunk.byteLength;
            countBodyBytes(chunk.byteLength);
            controller.enqueue(chunk);
            return;
          }
          const error = refusal;
          timer = setTimeout(() => controller.error(error), discardBounds.maxMs);
        }
        countDiscarded(chunk.byteLength);
        discarded += chunk.byteLength;
        if (discarded > discardBounds.maxBytes) {
          clearTimeout(timer);
          controller.error(refusal);
        }
      },
      flush(controller) {
        clearTimeout(timer);
        if (refusal) controller.error(refusal);
      },
    }),
  );
  return new Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal, duplex: "half" } as RequestInit);
}

/** Registered after the API key guard: a request refused for its key holds nothing. */
export function bodyLimitGuard(limit: number, options: BodyLimitOptions = {}) {
  const settings: Settings = {
    budget: new BodyBudget(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    awaitsAuthentication: () => false,
    countBodyBytes: () => {},
    countDiscarded: () => {},
    discardBounds: DISCARD_BOUNDS,
    ...options,
  };
  const answer: EarlyAnswer = earlyAnswer(settings.countDiscarded, settings.discardBounds);
  /** Each request's hold, by the request its later hooks see. */
  const holds = new WeakMap<Request, BodyHold>();

  return (
    new Elysia()
      .onRequest((context) => {
        const { request } = context;
        const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
        const declared = request.headers.get("content-length");
        if (declared !== null && Number(declared) > limit) return answer(request, errorAnswer(new BodyTooLargeError(limit)));
        if (!hasBody) return;
        const authenticated = !settings.awaitsAuthentication(request);
        if (declared !== null) {
          const bytes = Number(declared) || 0;
          const hold = settings.budget.hold(bytes, authenticated);
          if (!hold) return answer(request, errorAnswer(new BodyBudgetError(authenticated)));
          holds.set(request, hold);
          settings.countBodyBytes(bytes);
        } else {
          const hold = settings.budget.hold(0, authenticated)!;
          const limited = limitedRequest(request, limit, hold, settings);
          (context as { request: Request }).request = limited;
          holds.set(limited, hold);
        }
      })
      // After the API key guard's own transform: a body that got here carried an accepted key.
      .onTransform({ as: "global" }, ({ request }) => holds.get(request)?.authenticate())
      .onAfterResponse({ as: "global" }, ({ request }) => holds.get(request)?.release())
  );
}

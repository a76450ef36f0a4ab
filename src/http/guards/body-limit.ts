// Body limit guard (MAX_REQUEST_BYTES): a declared Content-Length over the limit is refused (413) before reading, a
// chunked body once it passes it; either way the rest of the body is read and thrown away first (see early-answer.ts).
// Every body let in is reported to the HTTP thread's collection pacer.
import { Elysia } from "elysia";
import { InferenceError } from "../../errors.ts";
import { DISCARD_BOUNDS, earlyAnswer, errorAnswer, type DiscardBounds, type EarlyAnswer } from "./early-answer.ts";

export class BodyTooLargeError extends InferenceError {
  constructor(limit: number) {
    super(413, `Request body is too large: this server accepts at most ${limit} bytes.`);
    this.name = "BodyTooLargeError";
  }
}

export interface BodyLimitOptions {
  /** Hears the size of every body let in: its declared length, or a chunked body's bytes as they are read. */
  countBodyBytes?: (bytes: number) => void;
  /** Hears the bytes of refused bodies, read and thrown away. */
  countDiscarded?: (bytes: number) => void;
  discardBounds?: DiscardBounds;
}

/**
 * A request whose body cannot be longer than `limit`: past it, the rest is read and thrown away (within the discard
 * bounds), then reading fails with BodyTooLargeError.
 */
function limitedRequest(request: Request, limit: number, options: Required<BodyLimitOptions>): Request {
  const { countBodyBytes, countDiscarded, discardBounds } = options;
  let seen = 0;
  let discarded = 0;
  let refusal: InferenceError | null = null;
  let timer: Timer | undefined;
  const body = request.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!refusal && seen + chunk.byteLength <= limit) {
          seen += chunk.byteLength;
          countBodyBytes(chunk.byteLength);
          controller.enqueue(chunk);
          return;
        }
        countDiscarded(chunk.byteLength);
        discarded += chunk.byteLength;
        if (!refusal) {
          const error = (refusal = new BodyTooLargeError(limit));
          timer = setTimeout(() => controller.error(error), discardBounds.maxMs);
        } else if (discarded > discardBounds.maxBytes) {
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

export function bodyLimitGuard(limit: number, options: BodyLimitOptions = {}) {
  const settings: Required<BodyLimitOptions> = { countBodyBytes: () => {}, countDiscarded: () => {}, discardBounds: DISCARD_BOUNDS, ...options };
  const answer: EarlyAnswer = earlyAnswer(settings.countDiscarded, settings.discardBounds);
  return new Elysia().onRequest((context) => {
    const { request } = context;
    const declared = request.headers.get("content-length");
    if (declared !== null) {
      if (Number(declared) > limit) return answer(request, errorAnswer(new BodyTooLargeError(limit)));
      settings.countBodyBytes(Number(declared) || 0);
    } else if (request.body && request.method !== "GET" && request.method !== "HEAD") {
      (context as { request: Request }).request = limitedRequest(request, limit, settings);
    }
  });
}

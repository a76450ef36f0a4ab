// Early answers: a guard that refuses a request before reading its body first reads and discards that body, within
// bounds, so that a client that writes its whole body before reading (Python's urllib) gets the answer, not a broken
// pipe: Bun closes a connection whose request body is unread once the answer is sent.
import { HttpError } from "../../errors.ts";
import { json } from "../errors.ts";

/** How much of a refused body is read and thrown away before answering; a body beyond either bound is cut off (`Connection: close`). */
export interface DiscardBounds {
  maxBytes: number;
  maxMs: number;
}

export const DISCARD_BOUNDS: DiscardBounds = { maxBytes: 256 * 2 ** 20, maxMs: 5_000 };

/** Answers `response` to `request` once its body is read and thrown away (within the bounds). */
export type EarlyAnswer = (request: Request, response: Response) => Promise<Response>;

/** `countDiscarded` hears the bytes thrown away (garbage for the collection pacer). */
export function earlyAnswer(countDiscarded: (bytes: number) => void = () => {}, bounds: DiscardBounds = DISCARD_BOUNDS): EarlyAnswer {
  return async (request, response) => {
    if (!request.body || request.bodyUsed) return response;
    const declared = request.headers.get("content-length");
    const whole = declared === null || Number(declared) <= bounds.maxBytes ? await discard(request.body, bounds, countDiscarded) : false;
    if (!whole) response.headers.set("connection", "close");
    return response;
  };
}

/** Reads `body` to its end, throwing it away; false when a bound cut it off first. */
export async function discard(body: ReadableStream<Uint8Array>, bounds: DiscardBounds, countDiscarded: (bytes: number) => void): Promise<boolean> {
  const reader = body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void reader.cancel().catch(() => undefined);
  }, bounds.maxMs);
  let discarded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return !timedOut;
      discarded += value.byteLength;
      countDiscarded(value.byteLength);
      if (discarded > bounds.maxBytes) {
        await reader.cancel().catch(() => undefined);
        return false;
      }
    }
  } catch {
    // The client went away, or the timer cancelled the read.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** An error's JSON answer, for guards that answer before any route runs. */
export function errorAnswer(error: HttpError): Response {
  return json(error.status, { message: error.message }, error.headers);
}

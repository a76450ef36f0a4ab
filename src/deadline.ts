// Deadlines: a request's abort signal (its REQUEST_TIMEOUT_MS, its client leaving, a sibling image failing) and the answer an aborted wait gives. The HTTP routes and the dispatcher both stop work on it, so it sits below both layers.
import { HttpError } from "./errors.ts";

/** What an aborted request is answered with: the abort's own error (504 at the deadline, a sibling's failure), else 504. A client that left hears nothing. */
export function abortError(signal: AbortSignal): HttpError {
  return signal.reason instanceof HttpError ? signal.reason : new HttpError(504, "The request did not finish within its deadline.");
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** `work`, or the abort's error if `signal` aborts first (the work itself goes on); the listener goes when either happens. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The request's deadline (504 when it passes) joined with its client's departure; `clear` stops the timer. */
export function requestDeadline(timeoutMs: number, clientSignal: AbortSignal | undefined): { signal: AbortSignal | undefined; clear: () => void } {
  if (timeoutMs <= 0) return { signal: clientSignal, clear: () => {} };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new HttpError(504, `The request did not finish within REQUEST_TIMEOUT_MS (${timeoutMs} ms).`)), timeoutMs);
  return {
    signal: clientSignal ? AbortSignal.any([clientSignal, deadline.signal]) : deadline.signal,
    clear: () => clearTimeout(timer),
  };
}

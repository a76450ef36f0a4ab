// A request's deadline: the signal that aborts when REQUEST_TIMEOUT_MS passes or the client leaves, and what an aborted
// request is answered (504). The HTTP routes and the dispatcher both stop work on it, so it sits below both layers.
import { InferenceError } from "./errors.ts";

/** The request's deadline (504 when it passes) joined with its client's departure; `clear` stops the timer. */
export function requestSignal(timeoutMs: number, clientSignal: AbortSignal | undefined): { signal: AbortSignal | undefined; clear: () => void } {
  if (timeoutMs <= 0) return { signal: clientSignal, clear: () => {} };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new InferenceError(504, `The request did not finish within REQUEST_TIMEOUT_MS (${timeoutMs} ms).`)), timeoutMs);
  return {
    signal: clientSignal ? AbortSignal.any([clientSignal, deadline.signal]) : deadline.signal,
    clear: () => clearTimeout(timer),
  };
}

/** What an aborted request is answered with: 504 when its deadline passed (its own error); a client that left hears nothing anyway. */
export function abortError(signal: AbortSignal): InferenceError {
  const reason = signal.reason;
  return reason instanceof InferenceError ? reason : new InferenceError(504, "The request did not finish within its deadline.");
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** `work`, or the abort's error if the signal aborts first; the listener goes when either happens. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

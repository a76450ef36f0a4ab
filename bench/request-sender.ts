// Request sender: one POST of a ready-made JSON body with a client-side timeout, and the tally of how requests ended.

/** Where load goes: the server, the route, the bodies sent round robin, and how long a client waits for an answer. */
export interface LoadTarget {
  url: string;
  path: string;
  /** UTF-8 JSON bodies, encoded once so the load generator spends no time on them. */
  bodies: Uint8Array<ArrayBuffer>[];
  timeoutMs: number;
}

/** How one request ended: answered (with its status, and the Retry-After of a refusal), given up on by the client, or a connection failure. */
export type Outcome = { kind: "answered"; status: number; retryAfterSeconds: number | null } | { kind: "timeout" } | { kind: "failed" };

/** Every request's ending, warm-up and drain included: the "answered or refused, never timed out" check reads this. */
export interface OutcomeCounts {
  /** Status code -> answers. */
  statuses: Record<string, number>;
  timeouts: number;
  failures: number;
}

export function emptyOutcomes(): OutcomeCounts {
  return { statuses: {}, timeouts: 0, failures: 0 };
}

export function countOutcome(counts: OutcomeCounts, outcome: Outcome): void {
  if (outcome.kind === "answered") counts.statuses[outcome.status] = (counts.statuses[outcome.status] ?? 0) + 1;
  else if (outcome.kind === "timeout") counts.timeouts++;
  else counts.failures++;
}

/** Requests answered with a 2xx status. */
export function successes(counts: OutcomeCounts): number {
  let n = 0;
  for (const [status, count] of Object.entries(counts.statuses)) if (status.startsWith("2")) n += count;
  return n;
}

/** Requests that ended other than with a 2xx answer or a 503 refusal. */
export function unansweredOrFailed(counts: OutcomeCounts): number {
  let n = counts.timeouts + counts.failures;
  for (const [status, count] of Object.entries(counts.statuses)) if (!status.startsWith("2") && status !== "503") n += count;
  return n;
}

const JSON_HEADERS = { "content-type": "application/json" };

export async function sendRequest(target: LoadTarget, body: Uint8Array<ArrayBuffer>): Promise<Outcome> {
  try {
    const response = await fetch(`${target.url}${target.path}`, {
      method: "POST",
      headers: JSON_HEADERS,
      body,
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    // The answer is complete only once its body has arrived.
    await response.arrayBuffer();
    const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
    return { kind: "answered", status: response.status, retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : null };
  } catch (error) {
    const name = (error as { name?: string }).name;
    return name === "TimeoutError" || name === "AbortError" ? { kind: "timeout" } : { kind: "failed" };
  }
}

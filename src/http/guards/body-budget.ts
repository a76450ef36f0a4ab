// Request bodies held at once, server-wide (MAX_REQUEST_BYTES_IN_FLIGHT): a body holds its bytes from the moment it is
// let in until its request is answered. Bodies not yet authenticated (their key is inside the JSON, so the whole body
// has to be read before a 401) may hold only a small share, so keyless clients cannot fill the server's memory.
import { HttpError } from "../../errors.ts";

/** The unauthenticated share of `maxBytes`: an eighth, but at least one largest body (and at most the whole). */
export function unauthenticatedShare(maxBytes: number, maxRequestBytes: number): number {
  return Math.min(maxBytes, Math.max(maxRequestBytes, Math.floor(maxBytes / 8)));
}

export class BodyBudgetError extends HttpError {
  constructor(authenticated: boolean) {
    super(
      503,
      authenticated
        ? "Server is holding as many request bodies as MAX_REQUEST_BYTES_IN_FLIGHT allows. Retry later."
        : "Server is holding as many request bodies not yet authenticated as it may (a share of MAX_REQUEST_BYTES_IN_FLIGHT; a key in an `Authorization: Bearer` header authenticates a body before it is read). Retry later.",
      { "Retry-After": "1" },
    );
    this.name = "BodyBudgetError";
  }
}

/** One request's hold on the budget; released once, when its request is answered. */
export interface BodyHold {
  /** Adds bytes of a body still arriving; false (and nothing added) when they do not fit. */
  grow(bytes: number): boolean;
  /** The body's key was accepted: its bytes leave the unauthenticated share (they stay held). */
  authenticate(): void;
  readonly authenticated: boolean;
  release(): void;
}

export class BodyBudget {
  private held = 0;
  private heldUnauthenticated = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxUnauthenticatedBytes: number,
  ) {}

  get bytesHeld(): number {
    return this.held;
  }

  get unauthenticatedBytesHeld(): number {
    return this.heldUnauthenticated;
  }

  /** A hold on `bytes` for one body, or null when they do not fit (the answer is then BodyBudgetError). */
  hold(bytes: number, authenticated: boolean): BodyHold | null {
    if (!this.fits(bytes, authenticated)) return null;
    const budget = this;
    let mine = 0;
    let trusted = authenticated;
    let released = false;
    const add = (n: number) => {
      mine += n;
      budget.held += n;
      if (!trusted) budget.heldUnauthenticated += n;
    };
    add(bytes);
    return {
      grow(n) {
        if (released || !budget.fits(n, trusted)) return false;
        add(n);
        return true;
      },
      authenticate() {
        if (trusted || released) return;
        trusted = true;
        budget.heldUnauthenticated -= mine;
      },
      get authenticated() {
        return trusted;
      },
      release() {
        if (released) return;
        released = true;
        budget.held -= mine;
        if (!trusted) budget.heldUnauthenticated -= mine;
      },
    };
  }

  private fits(bytes: number, authenticated: boolean): boolean {
    if (this.held + bytes > this.maxBytes) return false;
    return authenticated || this.heldUnauthenticated + bytes <= this.maxUnauthenticatedBytes;
  }
}

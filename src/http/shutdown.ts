// Shutdown drain: once a signal asks the server to stop, new requests (on new and on kept-alive connections alike) are
// answered 503 with `Connection: close` while the requests already admitted finish; only then does the server stop
// listening. Stopping at once would close kept-alive connections under requests arriving on them (a reset).
import type { Server } from "bun";
import { errorAnswer, type EarlyAnswer } from "./guards/early-answer.ts";
import { HttpError } from "../errors.ts";

export class ShuttingDownError extends HttpError {
  constructor() {
    super(503, "Server is shutting down. Retry on another connection.", { "Retry-After": "1", Connection: "close" });
    this.name = "ShuttingDownError";
  }
}

type Fetch = (request: Request, server: Server<undefined>) => Response | Promise<Response>;

export class ShutdownDrain {
  private draining = false;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  /** `answer` reads a refused request's body before answering (see early-answer.ts). */
  constructor(private readonly answer: EarlyAnswer) {}

  get admitted(): number {
    return this.inFlight;
  }

  /** The app's fetch, counting the requests it admits and refusing new ones once the drain has begun. */
  wrap(fetch: Fetch): Fetch {
    return async (request, server) => {
      if (this.draining) return this.answer(request, errorAnswer(new ShuttingDownError()));
      this.inFlight++;
      try {
        return await fetch(request, server);
      } finally {
        this.inFlight--;
        if (this.draining && this.inFlight === 0) for (const done of this.waiting.splice(0)) done();
      }
    };
  }

  /** Stops admitting; resolves once every admitted request has its answer. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

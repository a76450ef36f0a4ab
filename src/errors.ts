// Errors that become HTTP answers: a status, a public message, and optional headers.
// They cross thread boundaries as plain {status, message} objects (see toWireError).

/** An error answered as `status` with `{"message": message}` and `headers`; any other error becomes a 500. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** An image that cannot be read or decoded: the reference's 400 with its fixed prefix. */
export class InputImageError extends HttpError {
  constructor(cause: string) {
    super(400, `Could not load input image. Cause: ${cause}`);
    this.name = "InputImageError";
  }
}

/** The shape in which an error travels through postMessage. */
export interface WireError {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** Anything thrown becomes a WireError; unexpected errors hide their details behind a 500. */
export function toWireError(error: unknown): WireError {
  if (error instanceof HttpError) {
    return { status: error.status, message: error.message, headers: error.headers };
  }
  return { status: 500, message: "Internal error." };
}

export function fromWireError(wire: WireError): HttpError {
  return new HttpError(wire.status, wire.message, wire.headers ?? {});
}

// Errors that become HTTP answers: a status, a public message, and optional headers.
// They cross thread boundaries as plain {status, message} objects (see toWireError).

export class InferenceError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "InferenceError";
  }
}

/** An image that cannot be read or decoded: the reference's 400 with its fixed prefix. */
export class InputImageError extends InferenceError {
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
  if (error instanceof InferenceError) {
    return { status: error.status, message: error.message, headers: error.headers };
  }
  return { status: 500, message: "Internal error." };
}

export function fromWireError(wire: WireError): InferenceError {
  return new InferenceError(wire.status, wire.message, wire.headers ?? {});
}

// Body limit guard (MAX_REQUEST_BYTES): a declared Content-Length over the limit is refused (413) before reading, a
// chunked body as soon as it passes it; every body let in is reported to the HTTP thread's collection pacer.
import { Elysia } from "elysia";
import { InferenceError } from "../../errors.ts";
import { json } from "../errors.ts";

export class BodyTooLargeError extends InferenceError {
  constructor(limit: number) {
    super(413, `Request body is too large: this server accepts at most ${limit} bytes.`);
    this.name = "BodyTooLargeError";
  }
}

/** A request whose body cannot be longer than `limit`: reading past it fails with BodyTooLargeError. */
function limitedRequest(request: Request, limit: number, countBodyBytes: (bytes: number) => void): Request {
  let seen = 0;
  const body = request.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new BodyTooLargeError(limit));
        else {
          countBodyBytes(chunk.byteLength);
          controller.enqueue(chunk);
        }
      },
    }),
  );
  return new Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal, duplex: "half" } as RequestInit);
}

/**
 * `countBodyBytes` hears the size of every body within the size limit: its declared length, or a chunked body's bytes
 * as they are read.
 */
export function bodyLimitGuard(limit: number, countBodyBytes: (bytes: number) => void = () => {}) {
  return new Elysia().onRequest((context) => {
    const { request } = context;
    const declared = request.headers.get("content-length");
    if (declared !== null) {
      if (Number(declared) > limit) {
        const error = new BodyTooLargeError(limit);
        return json(error.status, { message: error.message });
      }
      countBodyBytes(Number(declared) || 0);
    } else if (request.body && request.method !== "GET" && request.method !== "HEAD") {
      (context as { request: Request }).request = limitedRequest(request, limit, countBodyBytes);
    }
  });
}

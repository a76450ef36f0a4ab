// Test helpers for hostile input: crafted images (decompression bombs, animations, truncations),
// timed requests, and the checks every error answer must pass.
import { expect } from "bun:test";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { REPO_ROOT, type ServerProcess } from "./server-process.ts";

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: any;
  ms: number;
}

/** fetch with a deadline; the answer's body read in full and timed. */
export async function timedFetch(url: string, init: RequestInit = {}, timeoutMs = 5_000): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, text, json, ms: performance.now() - started };
}

export function postJson(server: ServerProcess, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return timedFetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Text that must never reach a client: stack frames and this machine's paths. */
export function expectNoInternals(text: string, ...paths: string[]): void {
  expect(text).not.toMatch(/\n\s+at\s/);
  expect(text).not.toContain(REPO_ROOT);
  expect(text).not.toContain("node_modules");
  expect(text).not.toMatch(/\.ts:\d+/);
  for (const path of paths) expect(text).not.toContain(path);
}

/** An error answer: the status, a JSON {"message"} body matching `message`, no internals, within a second. */
export function expectError(answer: Answer, status: number, message?: string | RegExp): void {
  expect({ status: answer.status, text: answer.text }).toMatchObject({ status });
  expect(answer.headers.get("content-type") ?? "").toContain("application/json");
  expect(typeof answer.json?.message).toBe("string");
  if (typeof message === "string") expect(answer.json.message).toBe(message);
  else if (message) expect(answer.json.message).toMatch(message);
  expectNoInternals(answer.text);
  expect(answer.ms).toBeLessThan(1_000);
}

export async function solid(rgb: [number, number, number], width: number, height: number, format: "png" | "jpeg" = "png"): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return format === "png" ? image.png().toBuffer() : image.jpeg({ quality: 95 }).toBuffer();
}

/** Two frames (the first `first`, the second `second`) as an animated GIF/WebP or a two-page TIFF. */
export async function twoFrames(format: "gif" | "webp" | "tiff", first: [number, number, number], second: [number, number, number]): Promise<Buffer> {
  const frames = await Promise.all([solid(first, 40, 30), solid(second, 40, 30)]);
  const joined = sharp(frames, { join: { animated: true } });
  if (format === "gif") return joined.gif().toBuffer();
  if (format === "webp") return joined.webp({ lossless: true }).toBuffer();
  return joined.tiff().toBuffer();
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(Bun.hash.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A small, well-formed PNG whose header claims width x height RGB pixels (a decompression bomb's header). */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const idat = deflateSync(new Uint8Array(4096)); // zlib format, as PNG wants
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk("IHDR", ihdr), pngChunk("IDAT", idat), pngChunk("IEND", new Uint8Array())]);
}

/** A real JPEG whose frame header (SOF0) is patched to claim width x height. */
export async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await solid([90, 90, 90], 16, 16, "jpeg"));
  for (let i = 0; i < jpeg.length - 9; i++) {
    if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
  }
  throw new Error("no SOF0 marker in the JPEG");
}

/** The value of one /metrics series (summed over its label sets when `label` is omitted). */
export async function metric(server: ServerProcess, name: string, label = ""): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{${label}`) || line.startsWith(`${name} `)) sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

/**
 * A client that writes its whole request (head and body) before it reads a byte of the answer, and asks for the
 * connection to close after it, as Python's urllib does: a server that answers and closes while the body is still
 * arriving leaves it with a broken pipe or a reset instead of the answer. Resolves with the answer, or with how the
 * connection failed.
 */
export function writeThenRead(
  serverUrl: string,
  request: { method: string; path: string; headers: Record<string, string>; body: Uint8Array | string; chunked?: boolean },
  timeoutMs = 10_000,
): Promise<WrittenThenRead> {
  const { hostname, port } = new URL(serverUrl);
  const body = Buffer.from(request.body);
  const framing = request.chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(body.length) };
  const head = [
    `${request.method} ${request.path} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    ...Object.entries({ connection: "close", ...request.headers, ...framing }).map(([k, v]) => `${k}: ${v}`),
    "",
    "",
  ].join("\r\n");
  const bytes = Buffer.concat([Buffer.from(head, "latin1"), request.chunked ? chunkedEncoding(body) : body]);
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let sent = 0;
    let settled = false;
    const settle = (value: WrittenThenRead, socket?: { end(): void }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.end();
      resolve(value);
    };
    const timer = setTimeout(() => settle({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    // Bytes that arrive while the request is still being written are kept, and looked at only once it is all written.
    const answered = (socket: { end(): void }) => {
      const answer = sent === bytes.length ? parseAnswer(Buffer.concat(received)) : null;
      if (answer) settle(answer, socket);
    };
    const pump = (socket: { write(data: Uint8Array): number; end(): void }) => {
      while (sent < bytes.length) {
        const n = socket.write(bytes.subarray(sent));
        sent += n;
        if (n === 0) return; // the kernel's buffer is full: `drain` calls again
      }
      answered(socket);
    };
    void Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        open: pump,
        drain: pump,
        data(socket, chunk) {
          received.push(Buffer.from(chunk));
          answered(socket);
        },
        close() {
          const answer = sent === bytes.length ? parseAnswer(Buffer.concat(received)) : null;
          settle(answer ?? { error: sent < bytes.length ? `connection closed after ${sent} of ${bytes.length} bytes were written` : "closed without an answer" });
        },
        error(_socket, error) {
          settle({ error: (error as NodeJS.ErrnoException).code ?? error.message });
        },
      },
    }).catch((error: Error) => settle({ error: error.message }));
  });
}

type WrittenThenRead = { status: number; headers: Record<string, string>; json: any; error?: undefined } | { error: string; status?: undefined };

function chunkedEncoding(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += 64 * 1024) {
    const piece = body.subarray(offset, offset + 64 * 1024);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

/** A complete HTTP/1.1 answer with a Content-Length body in `bytes`, or null while it is incomplete. */
function parseAnswer(bytes: Buffer): { status: number; headers: Record<string, string>; json: any } | null {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
  const length = Number(headers["content-length"] ?? 0);
  if (bytes.length < end + 4 + length) return null;
  const text = bytes.subarray(end + 4, end + 4 + length).toString("utf8");
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: Number(statusLine!.split(" ")[1]), headers, json };
}

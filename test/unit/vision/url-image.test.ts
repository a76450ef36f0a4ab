// Specification of the URL image fetcher (src/vision/url-image.ts) against a local image host on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { InputImageError } from "../../../src/errors.ts";
import { fetchImageUrl, type Resolver, type UrlFetchDeps } from "../../../src/vision/url-image.ts";
import { DEFAULT_URL_INPUT_SETTINGS, type UrlInputSettings } from "../../../src/vision/url-policy.ts";

const PREFIX = "Could not load input image. Cause: ";
const settings = (overrides: Partial<UrlInputSettings> = {}): UrlInputSettings => ({ ...DEFAULT_URL_INPUT_SETTINGS, ...overrides });
/** What a test needs to reach 127.0.0.1 at all. */
const local = (overrides: Partial<UrlInputSettings> = {}) => settings({ allowNonHttps: true, allowWithoutFqdn: true, allowPrivateAddresses: true, ...overrides });

let png: Uint8Array<ArrayBuffer>;
let host: ReturnType<typeof Bun.serve>;
let base: string;
const requests: { path: string; host: string | null }[] = [];

beforeAll(async () => {
  png = new Uint8Array(
    await sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 200, g: 10, b: 30 } } })
      .png()
      .toBuffer(),
  );
  host = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    fetch(request) {
      const url = new URL(request.url);
      requests.push({ path: url.pathname, host: request.headers.get("host") });
      const path = url.pathname;
      if (path === "/img.png") return new Response(png, { headers: { "content-type": "image/png" } });
      if (path === "/empty") return new Response(new Uint8Array(0));
      if (path === "/missing") return new Response("nope", { status: 404 });
      if (path === "/broken") return new Response("oops", { status: 503, statusText: "Service Unavailable" });
      if (path === "/big") return new Response(new Uint8Array(5000));
      if (path === "/big-stream") {
        let sent = 0;
        return new Response(
          new ReadableStream({
            pull(c) {
              sent++ < 10 ? c.enqueue(new Uint8Array(1000)) : c.close();
            },
          }),
        );
      }
      if (path === "/hang") return new Promise<Response>(() => {});
      if (path === "/trickle")
        return new Response(
          new ReadableStream({
            async pull(c) {
              await Bun.sleep(50);
              c.enqueue(new Uint8Array(1));
            },
          }),
        );
      if (path === "/no-location") return new Response(null, { status: 302 });
      if (path === "/to") return new Response(null, { status: 302, headers: { location: url.searchParams.get("url")! } });
      const chain = /^\/chain\/(\d+)$/.exec(path);
      // Relative Locations, resolved against the hop that sent them.
      if (chain) return new Response(null, { status: 307, headers: { location: Number(chain[1]) > 0 ? `${Number(chain[1]) - 1}` : "../img.png" } });
      return new Response("unknown", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${host.port}`;
});

afterAll(() => host.stop(true));

async function refusal(promise: Promise<unknown>): Promise<InputImageError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InputImageError) return error;
    throw error;
  }
  throw new Error("expected an InputImageError");
}

const resolverOf =
  (table: Record<string, string[]>): Resolver =>
  async (name) => {
    const addresses = table[name];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: "ENOTFOUND" });
    return addresses;
  };

/** A client that records what it would send and answers from a script, without any network. */
function scriptedFetch(answers: Response[]) {
  const calls: { url: string; host: string | undefined; serverName: string | undefined }[] = [];
  const fetch: NonNullable<UrlFetchDeps["fetch"]> = async (url, init) => {
    calls.push({ url: url.href, host: (init.headers as Record<string, string>).host, serverName: init.tls?.serverName });
    const answer = answers.shift();
    if (!answer) throw new Error("unexpected request");
    return answer;
  };
  return { fetch, calls };
}

describe("fetching", () => {
  test("downloads the image bytes from an allowed URL", async () => {
    expect(await fetchImageUrl(`${base}/img.png`, local())).toEqual(png);
  });

  test("connects to the checked address of a name, sending the name as Host", async () => {
    requests.length = 0;
    const bytes = await fetchImageUrl(`http://img.example.com:${host.port}/img.png`, local(), { resolve: resolverOf({ "img.example.com": ["127.0.0.1"] }) });
    expect(bytes).toEqual(png);
    expect(requests).toEqual([{ path: "/img.png", host: `img.example.com:${host.port}` }]);
  });

  test("tries the next checked address when one cannot be connected to (the host listens on IPv4 only)", async () => {
    const bytes = await fetchImageUrl(`http://img.example.com:${host.port}/img.png`, local(), { resolve: resolverOf({ "img.example.com": ["::1", "127.0.0.1"] }) });
    expect(bytes).toEqual(png);
  });

  test("for https the certificate is verified against the name, not the pinned address", async () => {
    const dir = mkdtempSync(join(tmpdir(), "url-image-tls-"));
    const made = Bun.spawnSync(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=img.example.com",
        "-addext",
        "subjectAltName=DNS:img.example.com",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    if (made.exitCode !== 0) {
      console.warn("openssl not available: https pinning not exercised");
      return;
    }
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    const tlsHost = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert, key: readFileSync(join(dir, "key.pem"), "utf8") }, fetch: () => new Response(png) });
    try {
      const resolve = resolverOf({ "img.example.com": ["127.0.0.1"], "other.example.com": ["127.0.0.1"] });
      const s = settings({ allowPrivateAddresses: true });
      expect(await fetchImageUrl(`https://img.example.com:${tlsHost.port}/a.png`, s, { resolve, tls: { ca: cert } })).toEqual(png);
      // The same address under a name the certificate does not cover is refused by TLS.
      const error = await refusal(fetchImageUrl(`https://other.example.com:${tlsHost.port}/a.png`, s, { resolve, tls: { ca: cert } }));
      expect(error.message).toStartWith(`${PREFIX}Data pointed by URL could not be loaded: could not connect to other.example.com`);
    } finally {
      tlsHost.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("address checks before connecting", () => {
  test("a loopback URL is refused by default without any request being sent", async () => {
    requests.length = 0;
    expect((await refusal(fetchImageUrl(`${base}/img.png`, settings()))).message).toBe(
      PREFIX + "Providing images via non https:// URL is not supported in this configuration of `inference`.",
    );
    expect((await refusal(fetchImageUrl(`${base}/img.png`, settings({ allowNonHttps: true, allowWithoutFqdn: true })))).message).toBe(
      PREFIX + "It is not allowed to reach image URL - it points at a loopback address, prohibited by server configuration.",
    );
    expect(requests).toEqual([]);
  });

  test("a name is refused when any of its addresses is refused", async () => {
    const { fetch, calls } = scriptedFetch([new Response(png)]);
    const resolve = resolverOf({ "img.example.com": ["93.184.216.34", "10.0.0.7"] });
    const error = await refusal(fetchImageUrl("https://img.example.com/a.png", settings(), { resolve, fetch }));
    expect(error.message).toBe(PREFIX + "It is not allowed to reach image URL - it points at a private address, prohibited by server configuration.");
    expect(calls).toEqual([]);
  });

  test("a name that resolves to the metadata address is refused", async () => {
    const resolve = resolverOf({ "metadata.example.com": ["169.254.169.254"] });
    const error = await refusal(fetchImageUrl("https://metadata.example.com/latest/meta-data/", settings(), { resolve }));
    expect(error.message).toContain("link-local address");
  });

  test("a name that does not resolve is a 400 naming it", async () => {
    const error = await refusal(fetchImageUrl("https://nowhere.example.com/a.png", settings(), { resolve: resolverOf({}) }));
    expect(error.status).toBe(400);
    expect(error.message).toBe(`${PREFIX}Data pointed by URL could not be loaded: the host name nowhere.example.com could not be resolved.`);
  });

  test("a public name is requested at its checked address, with its name as Host and TLS server name", async () => {
    const { fetch, calls } = scriptedFetch([new Response(png)]);
    const resolve = resolverOf({ "img.example.com": ["2606:2800:220:1:248:1893:25c8:1946"] });
    expect(await fetchImageUrl("https://img.example.com/a.png?x=1", settings(), { resolve, fetch })).toEqual(png);
    expect(calls).toEqual([{ url: "https://[2606:2800:220:1:248:1893:25c8:1946]/a.png?x=1", host: "img.example.com", serverName: "img.example.com" }]);
  });
});

describe("redirects", () => {
  test("follows relative redirects up to the limit and refuses one more", async () => {
    expect(await fetchImageUrl(`${base}/chain/2`, local({ maxRedirects: 3 }))).toEqual(png);
    const error = await refusal(fetchImageUrl(`${base}/chain/3`, local({ maxRedirects: 3 })));
    expect(error.message).toBe(`${PREFIX}Data pointed by URL could not be loaded: more than 3 redirects.`);
    expect((await refusal(fetchImageUrl(`${base}/chain/0`, local({ maxRedirects: 0 })))).message).toContain("more than 0 redirects");
  });

  test("every hop is checked again: a redirect to a refused address is refused before it is requested", async () => {
    const { fetch, calls } = scriptedFetch([new Response(null, { status: 302, headers: { location: "https://evil.example.net/latest/meta-data/" } })]);
    const resolve = resolverOf({ "img.example.com": ["93.184.216.34"], "evil.example.net": ["169.254.169.254"] });
    const error = await refusal(fetchImageUrl("https://img.example.com/a.png", settings(), { resolve, fetch }));
    expect(error.message).toBe(PREFIX + "It is not allowed to reach image URL - it points at a link-local address, prohibited by server configuration.");
    expect(calls.map((c) => c.url)).toEqual(["https://93.184.216.34/a.png"]);
  });

  test("every hop is checked again: no downgrade to http, no IP literal, no deny-listed host", async () => {
    const resolve = resolverOf({ "img.example.com": ["93.184.216.34"] });
    const redirectTo = (location: string) => scriptedFetch([new Response(null, { status: 301, headers: { location } })]).fetch;
    expect((await refusal(fetchImageUrl("https://img.example.com/a", settings(), { resolve, fetch: redirectTo("http://img.example.com/a") }))).message).toBe(
      PREFIX + "Providing images via non https:// URL is not supported in this configuration of `inference`.",
    );
    expect((await refusal(fetchImageUrl("https://img.example.com/a", settings(), { resolve, fetch: redirectTo("https://10.0.0.1/a") }))).message).toBe(
      PREFIX + "Providing images via URL without FQDN is not supported in this configuration of `inference`.",
    );
    const denied = settings({ deniedHosts: ["internal.example.com"] });
    expect((await refusal(fetchImageUrl("https://img.example.com/a", denied, { resolve, fetch: redirectTo("https://internal.example.com/a") }))).message).toBe(
      PREFIX + "It is not allowed to reach image URL - prohibited by blacklisted destinations.",
    );
  });

  test("a redirect from the local host to a deny-listed one is refused (real server)", async () => {
    const target = encodeURIComponent(`http://localhost:${host.port}/img.png`);
    const error = await refusal(fetchImageUrl(`${base}/to?url=${target}`, local({ deniedHosts: ["localhost"] })));
    expect(error.message).toBe(PREFIX + "It is not allowed to reach image URL - prohibited by blacklisted destinations.");
  });

  test("a redirect without a Location header is a 400", async () => {
    expect((await refusal(fetchImageUrl(`${base}/no-location`, local()))).message).toBe(
      `${PREFIX}Data pointed by URL could not be loaded: the server answered HTTP 302 without a Location header.`,
    );
  });
});

describe("answers that are not an image body", () => {
  test("a non-2xx status is a 400 naming the status", async () => {
    expect((await refusal(fetchImageUrl(`${base}/missing`, local()))).message).toBe(`${PREFIX}Data pointed by URL could not be loaded: the server answered HTTP 404 Not Found.`);
    expect((await refusal(fetchImageUrl(`${base}/broken`, local()))).message).toBe(
      `${PREFIX}Data pointed by URL could not be loaded: the server answered HTTP 503 Service Unavailable.`,
    );
  });

  test("an empty body is an empty payload", async () => {
    expect((await refusal(fetchImageUrl(`${base}/empty`, local()))).message).toBe(`${PREFIX}Empty image payload.`);
  });

  test("a body over the cap is refused, by Content-Length or while streaming", async () => {
    const expected = `${PREFIX}Data pointed by URL could not be loaded: the image is larger than the 4096 bytes this server accepts.`;
    expect((await refusal(fetchImageUrl(`${base}/big`, local({ maxBytes: 4096 })))).message).toBe(expected);
    expect((await refusal(fetchImageUrl(`${base}/big-stream`, local({ maxBytes: 4096 })))).message).toBe(expected);
    expect((await fetchImageUrl(`${base}/big-stream`, local({ maxBytes: 10_000 }))).length).toBe(10_000);
  });

  test("a server that never answers, or never finishes, runs into the deadline", async () => {
    for (const path of ["/hang", "/trickle"]) {
      const started = performance.now();
      const error = await refusal(fetchImageUrl(`${base}${path}`, local({ timeoutMs: 300 })));
      expect(error.message).toBe(`${PREFIX}Data pointed by URL could not be loaded: no complete answer within 300 ms.`);
      expect(performance.now() - started).toBeLessThan(2000);
    }
  });

  test("a refused connection is a 400 naming the host", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = closed.port;
    closed.stop(true);
    const error = await refusal(fetchImageUrl(`http://127.0.0.1:${port}/img.png`, local()));
    expect(error.message).toStartWith(`${PREFIX}Data pointed by URL could not be loaded: could not connect to 127.0.0.1`);
  });
});

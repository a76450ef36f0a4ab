// URL image fetcher: downloads a `url` image under the URL policy (runs in the vision workers).
//
// Every hop is checked before anything is sent: the URL against the string rules, then every
// address its host resolves to against the address rules. The request then goes to one of
// those checked addresses itself (the host name travels in the Host header and, for https, as
// the TLS server name, so certificates are still verified against the name), which leaves no
// second DNS answer for a rebinding attacker to swap in. Redirects are followed by hand, each
// one checked again; the whole download has one deadline and a size cap.
import { lookup } from "node:dns/promises";
import { InputImageError } from "../errors.ts";
import { checkAddress, checkImageUrl, type CheckedUrl, type UrlInputSettings } from "./url-policy.ts";

/** Every address of a host name (both families, resolver order). */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface UrlFetchDeps {
  /** DNS; tests inject names that point at 127.0.0.1. */
  resolve?: Resolver;
  /** Extra TLS options for the connection (tests trust a self-signed certificate with `ca`). */
  tls?: { ca?: string };
  /** The HTTP client (tests observe what would be sent without any network). */
  fetch?: (url: URL, init: BunFetchRequestInit) => Promise<Response>;
}

const defaultResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const loadError = (detail: string) => new InputImageError(`Data pointed by URL could not be loaded: ${detail}`);

/** Downloads the image a `url` image object points at; every refusal or failure is a 400 InputImageError. */
export async function fetchImageUrl(value: unknown, settings: UrlInputSettings, deps: UrlFetchDeps = {}): Promise<Uint8Array> {
  let target = checkImageUrl(value, settings);
  const controller = new AbortController();
  const timedOut = new InputImageError(`Data pointed by URL could not be loaded: no complete answer within ${settings.timeoutMs} ms.`);
  const timer = setTimeout(() => controller.abort(timedOut), settings.timeoutMs);
  const deadline = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(timedOut), { once: true }));
  deadline.catch(() => {});
  try {
    for (let redirects = 0; ; ) {
      // DNS cannot be cancelled: the deadline stops waiting for it instead.
      const addresses = await Promise.race([checkedAddresses(target, settings, deps.resolve ?? defaultResolver), deadline]);
      const response = await Promise.race([request(target, addresses, controller.signal, deps), deadline]);
      if (REDIRECT_STATUSES.has(response.status)) {
        void response.body?.cancel().catch(() => {});
        const location = response.headers.get("location");
        if (!location) throw loadError(`the server answered HTTP ${response.status} without a Location header.`);
        if (redirects >= settings.maxRedirects) throw loadError(`more than ${settings.maxRedirects} redirects.`);
        redirects++;
        let next: string;
        try {
          next = new URL(location, target.url).href;
        } catch {
          throw loadError("a redirect pointed at an invalid URL.");
        }
        target = checkImageUrl(next, settings);
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        void response.body?.cancel().catch(() => {});
        throw loadError(`the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}.`);
      }
      return await Promise.race([readCapped(response, settings.maxBytes), deadline]);
    }
  } catch (error) {
    if (controller.signal.aborted) throw timedOut;
    throw error;
  } finally {
    clearTimeout(timer);
    // Stops whatever is still in flight (a body being read, a redirect's body).
    if (!controller.signal.aborted) controller.abort(new Error("done"));
  }
}

/** The addresses to connect to: all of them checked first, any refused one refuses the URL. */
async function checkedAddresses(target: CheckedUrl, settings: UrlInputSettings, resolve: Resolver): Promise<string[]> {
  let addresses: string[];
  if (target.ipLiteral) {
    addresses = [target.host];
  } else {
    try {
      addresses = await resolve(target.host);
    } catch {
      throw loadError(`the host name ${target.host} could not be resolved.`);
    }
    if (addresses.length === 0) throw loadError(`the host name ${target.host} could not be resolved.`);
  }
  for (const address of addresses) checkAddress(address, settings);
  return addresses;
}

/** One GET of one hop, sent to a checked address; the next address is tried if connecting fails. */
async function request(target: CheckedUrl, addresses: string[], signal: AbortSignal, deps: UrlFetchDeps): Promise<Response> {
  let lastError: unknown;
  for (const address of addresses) {
    const pinned = new URL(target.url.href);
    pinned.hostname = address.includes(":") ? `[${address.replace(/%.*$/, "")}]` : address;
    const https = target.url.protocol === "https:";
    try {
      return await (deps.fetch ?? fetch)(pinned, {
        method: "GET",
        redirect: "manual",
        signal,
        keepalive: false,
        headers: { host: target.url.host, accept: "image/*,*/*;q=0.8", "user-agent": "inference-server (url image input)" },
        // The certificate is verified against the name asked for, not the address connected to.
        tls: https ? { ...(target.ipLiteral ? {} : { serverName: target.host }), ...deps.tls } : undefined,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      lastError = error;
    }
  }
  const code = (lastError as { code?: unknown } | undefined)?.code;
  throw loadError(`could not connect to ${target.host}${typeof code === "string" && /^[A-Za-z_]{1,40}$/.test(code) ? ` (${code})` : ""}.`);
}

/** The body, refused as soon as it is known to exceed the cap. */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => loadError(`the image is larger than the ${maxBytes} bytes this server accepts.`);
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    void response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) throw new InputImageError("Empty image payload.");
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch {
      throw loadError("the connection broke off while the image was being read.");
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      void reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (total === 0) throw new InputImageError("Empty image payload.");
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

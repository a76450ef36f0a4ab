// URL image policy: which image URLs, and which network addresses, the server may fetch (pure; no I/O).
//
// The string checks follow the reference (docs/compatibility.md §1.8, §2.2) in its order: URL input switched on,
// a parseable URL, https unless ALLOW_NON_HTTPS_URL_INPUT, a fully qualified domain name unless
// ALLOW_URL_INPUT_WITHOUT_FQDN, then the allow list and the deny list. On top of the reference,
// every address a host resolves to must be public (see classifyAddress) unless
// ALLOW_URL_INPUT_PRIVATE_ADDRESSES: the fetcher (url-image.ts) checks them before connecting,
// and again for every redirect hop.
import { InputImageError } from "../errors.ts";

export interface UrlInputSettings {
  /** ALLOW_URL_INPUT: false refuses every `url` image. */
  allowUrlInput: boolean;
  /** ALLOW_NON_HTTPS_URL_INPUT: also fetch http:// URLs. */
  allowNonHttps: boolean;
  /** ALLOW_URL_INPUT_WITHOUT_FQDN: also fetch IP literals, `localhost`, single-label and special-use names. */
  allowWithoutFqdn: boolean;
  /** ALLOW_URL_INPUT_PRIVATE_ADDRESSES: also connect to loopback, private, link-local, CGNAT, multicast and reserved addresses. */
  allowPrivateAddresses: boolean;
  /** WHITELISTED_DESTINATIONS_FOR_URL_INPUT: when set, only these hosts (`*.domain` = its subdomains). */
  allowedHosts: string[] | null;
  /** BLACKLISTED_DESTINATIONS_FOR_URL_INPUT: hosts always refused (`*.domain` = its subdomains). */
  deniedHosts: string[];
  /** URL_INPUT_MAX_REDIRECTS: redirects followed per image (each hop is checked again). */
  maxRedirects: number;
  /** URL_INPUT_TIMEOUT_MS: the whole download, DNS and redirects included. */
  timeoutMs: number;
  /** URL_INPUT_MAX_BYTES: largest body accepted (checked on Content-Length and while reading). */
  maxBytes: number;
  /** URL_INPUT_MAX_CONCURRENT: downloads in flight server-wide; more get 503 (they hold no arena slot while downloading). */
  maxConcurrent: number;
}

export const DEFAULT_URL_INPUT_SETTINGS: UrlInputSettings = {
  allowUrlInput: true,
  allowNonHttps: false,
  allowWithoutFqdn: false,
  allowPrivateAddresses: false,
  allowedHosts: null,
  deniedHosts: [],
  maxRedirects: 30,
  timeoutMs: 10_000,
  maxBytes: 20 * 1024 * 1024,
  maxConcurrent: 64,
};

// The reference's public messages, word for word where it has one.
export const URL_MESSAGES = {
  disabled: "Providing images via URL is not supported in this configuration of `inference`.",
  invalid: "Provided image URL is invalid",
  nonHttps: "Providing images via non https:// URL is not supported in this configuration of `inference`.",
  scheme: "Providing images via URL is only supported for http:// and https:// URLs.",
  withoutFqdn: "Providing images via URL without FQDN is not supported in this configuration of `inference`.",
  notAllowListed: "It is not allowed to reach image URL - prohibited by whitelisted destinations.",
  denyListed: "It is not allowed to reach image URL - prohibited by blacklisted destinations.",
} as const;

/** A URL that passed the string checks, with its host in the form the lists and the classifier use. */
export interface CheckedUrl {
  url: URL;
  /** Lower-case, without IPv6 brackets or a trailing dot. */
  host: string;
  /** The host is an IPv4 or IPv6 literal (no DNS lookup needed). */
  ipLiteral: boolean;
}

/**
 * Parses an image URL and applies the string rules, in the reference's order.
 * Throws the reference's InputImageError (400) naming the rule that refused it.
 */
export function checkImageUrl(value: unknown, settings: UrlInputSettings): CheckedUrl {
  if (!settings.allowUrlInput) throw new InputImageError(URL_MESSAGES.disabled);
  if (typeof value !== "string") throw new InputImageError(URL_MESSAGES.invalid);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new InputImageError(URL_MESSAGES.invalid);
  }
  if (url.protocol !== "https:" && !settings.allowNonHttps) throw new InputImageError(URL_MESSAGES.nonHttps);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new InputImageError(URL_MESSAGES.scheme);
  const host = normaliseHost(url.hostname);
  if (host === "") throw new InputImageError(URL_MESSAGES.invalid);
  const ipLiteral = parseIp(host) !== null;
  if (!settings.allowWithoutFqdn && (ipLiteral || !hasFqdn(host))) throw new InputImageError(URL_MESSAGES.withoutFqdn);
  if (settings.allowedHosts !== null && !settings.allowedHosts.some((entry) => hostMatches(host, entry))) {
    throw new InputImageError(URL_MESSAGES.notAllowListed);
  }
  if (settings.deniedHosts.some((entry) => hostMatches(host, entry))) throw new InputImageError(URL_MESSAGES.denyListed);
  return { url, host, ipLiteral };
}

/** Lower-case, IPv6 brackets and one trailing dot removed: the form list entries and hosts are compared in. */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

/**
 * Names under these suffixes never leave the local network (RFC 6761, RFC 6762, RFC 8375,
 * ICANN's .internal, and names in common private use), so they do not count as FQDNs.
 */
const LOCAL_SUFFIXES = ["localhost", "local", "localdomain", "internal", "intranet", "lan", "home", "corp", "private", "home.arpa", "test", "invalid", "example", "onion", "alt"];

const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * True for a fully qualified domain name: at least two labels under a TLD-shaped last label,
 * and not a local-only suffix. (The reference asks the public suffix list; without it a
 * name such as `printer.lan` is judged by its suffix instead. IP literals are never FQDNs.)
 */
export function hasFqdn(host: string): boolean {
  const h = normaliseHost(host);
  if (parseIp(h) !== null) return false;
  const labels = h.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !TLD.test(labels.at(-1)!)) return false;
  return !LOCAL_SUFFIXES.some((suffix) => h === suffix || h.endsWith(`.${suffix}`));
}

/** A list entry matches its host exactly; `*.example.com` matches every subdomain of example.com (not example.com itself). */
export function hostMatches(host: string, entry: string): boolean {
  const h = normaliseHost(host);
  const e = normaliseHost(entry);
  if (e.startsWith("*.")) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
  if (parseIp(h) !== null && parseIp(e) !== null) return ipKey(h) === ipKey(e);
  return h === e;
}

/** Why a list entry cannot be used (for configuration errors), or null when it is fine. */
export function invalidHostEntry(entry: string): string | null {
  const e = normaliseHost(entry);
  if (e === "" || e === "*" || e === "*.") return "is empty";
  if (/[/:@?#\s]/.test(e) && parseIp(e) === null) return "must be a host name or IP address, not a URL";
  return null;
}

// ---- addresses ----

export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unspecified"
  | "multicast"
  /** 100.64.0.0/10, carrier-grade NAT. */
  | "shared"
  /** Documentation, benchmarking, protocol assignments, future use, broadcast, not global unicast. */
  | "reserved";

type Ip = { v: 4; bytes: number[] } | { v: 6; bytes: number[] };

/** Parses a dotted-quad IPv4 or an IPv6 address (brackets and a `%zone` tolerated); null otherwise. */
export function parseIp(text: string): Ip | null {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const v4 = parseIPv4(s);
  if (v4) return { v: 4, bytes: v4 };
  const v6 = parseIPv6(s.replace(/%.*$/, ""));
  return v6 ? { v: 6, bytes: v6 } : null;
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

function parseIPv6(s: string): number[] | null {
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  let words: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** A canonical key for comparing two spellings of one address. */
function ipKey(text: string): string {
  const ip = parseIp(text)!;
  return `${ip.v}:${ip.bytes.join(".")}`;
}

function inV4(b: number[], prefix: [number, number, number, number], bits: number): boolean {
  const value = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const net = ((prefix[0] << 24) | (prefix[1] << 16) | (prefix[2] << 8) | prefix[3]) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (value & mask) >>> 0 === (net & mask) >>> 0;
}

function classifyV4(b: number[]): AddressClass {
  if (inV4(b, [0, 0, 0, 0], 8)) return "unspecified";
  if (inV4(b, [127, 0, 0, 0], 8)) return "loopback";
  if (inV4(b, [10, 0, 0, 0], 8) || inV4(b, [172, 16, 0, 0], 12) || inV4(b, [192, 168, 0, 0], 16)) return "private";
  if (inV4(b, [169, 254, 0, 0], 16)) return "link-local";
  if (inV4(b, [100, 64, 0, 0], 10)) return "shared";
  if (inV4(b, [224, 0, 0, 0], 4)) return "multicast";
  if (
    inV4(b, [240, 0, 0, 0], 4) || // future use and 255.255.255.255
    inV4(b, [192, 0, 0, 0], 24) || // IETF protocol assignments
    inV4(b, [192, 0, 2, 0], 24) ||
    inV4(b, [198, 51, 100, 0], 24) ||
    inV4(b, [203, 0, 113, 0], 24) || // documentation
    inV4(b, [198, 18, 0, 0], 15) || // benchmarking
    inV4(b, [192, 88, 99, 0], 24) // 6to4 relay anycast
  ) {
    return "reserved";
  }
  return "public";
}

function startsWith(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i / 8]! & mask) !== ((prefix[i / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV6(b: number[]): AddressClass {
  const zeroes = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (b.every((x) => x === 0)) return "unspecified";
  if (zeroes(15) && b[15] === 1) return "loopback";
  // Forms that carry an IPv4 address: it decides. ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible),
  // ::ffff:0:a.b.c.d (translated), 64:ff9b::a.b.c.d (NAT64), 2002:AABB:CCDD::/48 (6to4).
  if (zeroes(10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.slice(12));
  if (zeroes(12)) return classifyV4(b.slice(12));
  if (zeroes(8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return classifyV4(b.slice(12));
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b], 32) && b.slice(4, 12).every((x) => x === 0)) return classifyV4(b.slice(12));
  if (startsWith(b, [0x20, 0x02], 16)) return classifyV4(b.slice(2, 6));
  if (startsWith(b, [0xff], 8)) return "multicast";
  if (startsWith(b, [0xfe, 0x80], 10)) return "link-local";
  if (startsWith(b, [0xfc], 7) || startsWith(b, [0xfe, 0xc0], 10) || startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return "private";
  // Only global unicast (2000::/3) remains public, less its special-purpose blocks.
  if (!startsWith(b, [0x20], 3)) return "reserved";
  if (
    startsWith(b, [0x20, 0x01, 0x0d, 0xb8], 32) || // documentation
    startsWith(b, [0x3f, 0xff], 20) || // documentation (RFC 9637)
    startsWith(b, [0x20, 0x01, 0x00], 23) // IETF protocol assignments, Teredo included
  ) {
    return "reserved";
  }
  return "public";
}

/** The kind of address an IP is; anything unparseable is "reserved" (never connected to). */
export function classifyAddress(address: string): AddressClass {
  const ip = parseIp(address);
  if (!ip) return "reserved";
  return ip.v === 4 ? classifyV4(ip.bytes) : classifyV6(ip.bytes);
}

/** Throws the 400 for an address the server may not connect to under these settings. */
export function checkAddress(address: string, settings: UrlInputSettings): void {
  const kind = classifyAddress(address);
  if (kind === "public" || settings.allowPrivateAddresses) return;
  throw new InputImageError(`It is not allowed to reach image URL - it points at a ${kind} address, prohibited by server configuration.`);
}

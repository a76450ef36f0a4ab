// Specification of the URL image policy (src/vision/url-policy.ts): which URLs and addresses may be fetched.
import { describe, expect, test } from "bun:test";
import { InputImageError } from "../../../src/errors.ts";
import {
  DEFAULT_URL_INPUT_SETTINGS,
  URL_MESSAGES,
  checkAddress,
  checkImageUrl,
  classifyAddress,
  hasFqdn,
  hostMatches,
  invalidHostEntry,
  type AddressClass,
  type UrlInputSettings,
} from "../../../src/vision/url-policy.ts";

const PREFIX = "Could not load input image. Cause: ";
const settings = (overrides: Partial<UrlInputSettings> = {}): UrlInputSettings => ({ ...DEFAULT_URL_INPUT_SETTINGS, ...overrides });
const permissive = settings({ allowNonHttps: true, allowWithoutFqdn: true, allowPrivateAddresses: true });

function refusal(run: () => unknown): InputImageError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputImageError) return error;
    throw error;
  }
  throw new Error("expected an InputImageError");
}

describe("defaults", () => {
  test("match the reference's: URLs on, https only, FQDN only; plus public addresses only, 30 redirects, 10 s, 20 MiB, 64 at once", () => {
    expect(DEFAULT_URL_INPUT_SETTINGS).toEqual({
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
    });
  });

  test("a public https URL passes the string rules", () => {
    const checked = checkImageUrl("https://source.roboflow.com/a/b/original.jpg", settings());
    expect(checked.host).toBe("source.roboflow.com");
    expect(checked.ipLiteral).toBe(false);
    expect(checked.url.href).toBe("https://source.roboflow.com/a/b/original.jpg");
  });
});

describe("checkImageUrl refusals, each with the reference's 400", () => {
  test("ALLOW_URL_INPUT=false refuses every URL first", () => {
    const error = refusal(() => checkImageUrl("https://example.com/a.jpg", settings({ allowUrlInput: false })));
    expect(error.status).toBe(400);
    expect(error.message).toBe(PREFIX + "Providing images via URL is not supported in this configuration of `inference`.");
  });

  test("a value that is not a URL is invalid", () => {
    for (const value of ["not a url", "", 42, null, { href: "https://example.com" }]) {
      expect(refusal(() => checkImageUrl(value, settings())).message).toBe(PREFIX + URL_MESSAGES.invalid);
    }
  });

  test("non-https is refused unless ALLOW_NON_HTTPS_URL_INPUT", () => {
    const error = refusal(() => checkImageUrl("http://example.com/a.jpg", settings()));
    expect(error.message).toBe(PREFIX + "Providing images via non https:// URL is not supported in this configuration of `inference`.");
    expect(checkImageUrl("http://example.com/a.jpg", settings({ allowNonHttps: true })).host).toBe("example.com");
  });

  test("schemes other than http and https are refused even when non-https is allowed", () => {
    for (const url of ["file:///etc/passwd", "ftp://example.com/a.jpg", "gopher://example.com/", "data:image/png;base64,AAAA", "javascript:alert(1)"]) {
      expect(refusal(() => checkImageUrl(url, settings())).message).toBe(PREFIX + URL_MESSAGES.nonHttps);
      expect(refusal(() => checkImageUrl(url, settings({ allowNonHttps: true }))).message).toBe(PREFIX + URL_MESSAGES.scheme);
    }
  });

  test("hosts without an FQDN are refused unless ALLOW_URL_INPUT_WITHOUT_FQDN", () => {
    const hosts = [
      "127.0.0.1",
      "[::1]",
      "10.0.0.5",
      "169.254.169.254",
      "0x7f.1", // WHATWG URL canonicalises numeric tricks to 127.0.0.1 first
      "2130706433",
      "localhost",
      "printer",
      "metadata.google.internal",
      "nas.local",
      "router.lan",
      "foo.localhost",
      "box.home.arpa",
    ];
    for (const host of hosts) {
      const error = refusal(() => checkImageUrl(`https://${host}/a.jpg`, settings()));
      expect(error.message).toBe(PREFIX + "Providing images via URL without FQDN is not supported in this configuration of `inference`.");
      expect(checkImageUrl(`https://${host}/a.jpg`, settings({ allowWithoutFqdn: true })).url).toBeInstanceOf(URL);
    }
  });

  test("IP literals are recognised after URL canonicalisation", () => {
    expect(checkImageUrl("http://0x7f.1:8080/a", permissive)).toMatchObject({ host: "127.0.0.1", ipLiteral: true });
    expect(checkImageUrl("http://[::ffff:7f00:1]/a", permissive)).toMatchObject({ host: "::ffff:7f00:1", ipLiteral: true });
  });

  test("the allow list admits only its hosts, exact or by *.domain", () => {
    const s = settings({ allowedHosts: ["images.example.com", "*.cdn.example.net"] });
    expect(checkImageUrl("https://images.example.com/a.jpg", s).host).toBe("images.example.com");
    expect(checkImageUrl("https://IMAGES.example.com./a.jpg", s).host).toBe("images.example.com");
    expect(checkImageUrl("https://eu.cdn.example.net/a.jpg", s).host).toBe("eu.cdn.example.net");
    for (const url of ["https://example.com/a.jpg", "https://cdn.example.net/a.jpg", "https://images.example.com.evil.io/a.jpg", "https://evilcdn.example.net/a"]) {
      expect(refusal(() => checkImageUrl(url, s)).message).toBe(PREFIX + "It is not allowed to reach image URL - prohibited by whitelisted destinations.");
    }
  });

  test("the deny list refuses its hosts, exact or by *.domain, whatever else is allowed", () => {
    const s = settings({ ...permissive, deniedHosts: ["169.254.169.254", "*.internal.example.com", "::1"] });
    for (const url of ["http://169.254.169.254/latest/meta-data/", "https://db.internal.example.com/x", "http://[0:0::1]:9000/x"]) {
      expect(refusal(() => checkImageUrl(url, s)).message).toBe(PREFIX + "It is not allowed to reach image URL - prohibited by blacklisted destinations.");
    }
    expect(checkImageUrl("https://internal.example.com/x", s).host).toBe("internal.example.com");
  });

  test("the rules apply in the reference's order: switch, scheme, FQDN, allow list, deny list", () => {
    const strict = settings({ allowedHosts: ["example.com"], deniedHosts: ["example.com"] });
    expect(refusal(() => checkImageUrl("http://127.0.0.1/", strict)).message).toBe(PREFIX + URL_MESSAGES.nonHttps);
    expect(refusal(() => checkImageUrl("https://127.0.0.1/", strict)).message).toBe(PREFIX + URL_MESSAGES.withoutFqdn);
    expect(refusal(() => checkImageUrl("https://other.com/", strict)).message).toBe(PREFIX + URL_MESSAGES.notAllowListed);
    expect(refusal(() => checkImageUrl("https://example.com/", strict)).message).toBe(PREFIX + URL_MESSAGES.denyListed);
  });
});

describe("hasFqdn and host lists", () => {
  test("FQDNs need two labels, a TLD-shaped last label and no local-only suffix", () => {
    expect(hasFqdn("example.com")).toBe(true);
    expect(hasFqdn("a.b.c.example.co.uk")).toBe(true);
    expect(hasFqdn("xn--bcher-kva.example")).toBe(false);
    expect(hasFqdn("xn--bcher-kva.xn--p1ai")).toBe(true);
    expect(hasFqdn("example.com.")).toBe(true);
    for (const host of ["com", "localhost", "1.2.3.4", "::1", "example.123", "a..b.com", "-bad.com", "svc.cluster.local", "x.test", "x.invalid", "x.internal"]) {
      expect(hasFqdn(host)).toBe(false);
    }
  });

  test("list entries compare IP addresses by value and names case-insensitively", () => {
    expect(hostMatches("::1", "0:0:0:0:0:0:0:1")).toBe(true);
    expect(hostMatches("Example.COM", "example.com.")).toBe(true);
    expect(hostMatches("a.example.com", "*.example.com")).toBe(true);
    expect(hostMatches("example.com", "*.example.com")).toBe(false);
    expect(hostMatches("badexample.com", "*.example.com")).toBe(false);
  });

  test("entries that are URLs or empty are configuration errors", () => {
    expect(invalidHostEntry("https://example.com")).toMatch(/not a URL/);
    expect(invalidHostEntry("example.com/path")).toMatch(/not a URL/);
    expect(invalidHostEntry("*.")).toMatch(/empty/);
    expect(invalidHostEntry("example.com")).toBeNull();
    expect(invalidHostEntry("[::1]")).toBeNull();
    expect(invalidHostEntry("fe80::1")).toBeNull();
  });
});

describe("classifyAddress", () => {
  const cases: [string, AddressClass][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fec0::1", "private"],
    ["169.254.169.254", "link-local"],
    ["169.254.0.1", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["febf::1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["100.64.0.1", "shared"],
    ["100.127.255.255", "shared"],
    ["255.255.255.255", "reserved"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["198.51.100.7", "reserved"],
    ["203.0.113.9", "reserved"],
    ["198.18.0.1", "reserved"],
    ["192.0.0.8", "reserved"],
    ["2001:db8::1", "reserved"],
    ["2001::1", "reserved"],
    ["100::1", "reserved"],
    ["not-an-ip", "reserved"],
    ["", "reserved"],
    // IPv4 inside IPv6: the embedded address decides.
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:a00:1", "private"],
    ["::ffff:0:10.0.0.1", "private"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::192.168.0.1", "private"],
    ["64:ff9b::8.8.8.8", "public"],
    ["64:ff9b:1::1", "private"],
    ["2002:7f00:1::1", "loopback"],
    ["2002:0808:0808::1", "public"],
    ["::ffff:8.8.8.8", "public"],
    // Public addresses.
    ["8.8.8.8", "public"],
    ["1.1.1.1", "public"],
    ["172.15.255.255", "public"],
    ["172.32.0.1", "public"],
    ["100.63.255.255", "public"],
    ["100.128.0.1", "public"],
    ["169.253.1.1", "public"],
    ["2606:4700:4700::1111", "public"],
    ["2a00:1450:4001:80b::200e", "public"],
  ];
  for (const [address, kind] of cases) {
    test(`${address || "(empty)"} is ${kind}`, () => expect(classifyAddress(address)).toBe(kind));
  }

  test("malformed IPv6 spellings are never public", () => {
    for (const address of ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "::ffff:1.2.3", "::ffff:1.2.3.256", "g::1"]) {
      expect(classifyAddress(address)).toBe("reserved");
    }
  });
});

describe("checkAddress", () => {
  test("refuses every non-public class with a 400 naming the class, unless private addresses are allowed", () => {
    for (const [address, kind] of [
      ["127.0.0.1", "loopback"],
      ["10.0.0.1", "private"],
      ["169.254.169.254", "link-local"],
      ["100.64.1.1", "shared"],
      ["::", "unspecified"],
      ["ff02::1", "multicast"],
    ]) {
      const error = refusal(() => checkAddress(address!, settings()));
      expect(error.status).toBe(400);
      expect(error.message).toBe(`${PREFIX}It is not allowed to reach image URL - it points at a ${kind} address, prohibited by server configuration.`);
      expect(() => checkAddress(address!, settings({ allowPrivateAddresses: true }))).not.toThrow();
    }
  });

  test("public addresses pass", () => {
    expect(() => checkAddress("93.184.216.34", settings())).not.toThrow();
    expect(() => checkAddress("2606:2800:220:1:248:1893:25c8:1946", settings())).not.toThrow();
  });
});

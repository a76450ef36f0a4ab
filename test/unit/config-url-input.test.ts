// Specification of the URL image settings in loadConfig (ALLOW_URL_INPUT and friends).
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { DEFAULT_URL_INPUT_SETTINGS } from "../../src/vision/url-policy.ts";

describe("URL image settings", () => {
  test("default to the reference's policy plus public addresses only", () => {
    expect(loadConfig({}).urlInput).toEqual(DEFAULT_URL_INPUT_SETTINGS);
    expect(loadConfig({}).urlInput).toMatchObject({ allowUrlInput: true, allowNonHttps: false, allowWithoutFqdn: false, allowPrivateAddresses: false, maxRedirects: 30 });
  });

  test("read every variable", () => {
    const c = loadConfig({
      ALLOW_URL_INPUT: "false",
      ALLOW_NON_HTTPS_URL_INPUT: "True",
      ALLOW_URL_INPUT_WITHOUT_FQDN: "1",
      ALLOW_URL_INPUT_PRIVATE_ADDRESSES: "yes",
      WHITELISTED_DESTINATIONS_FOR_URL_INPUT: " Images.Example.com, *.cdn.example.net ,[::1]",
      BLACKLISTED_DESTINATIONS_FOR_URL_INPUT: "169.254.169.254",
      URL_INPUT_MAX_REDIRECTS: "0",
      URL_INPUT_TIMEOUT_MS: "2500",
      URL_INPUT_MAX_BYTES: "1048576",
      URL_INPUT_MAX_CONCURRENT: "8",
    });
    expect(c.urlInput).toEqual({
      allowUrlInput: false,
      allowNonHttps: true,
      allowWithoutFqdn: true,
      allowPrivateAddresses: true,
      allowedHosts: ["images.example.com", "*.cdn.example.net", "::1"],
      deniedHosts: ["169.254.169.254"],
      maxRedirects: 0,
      timeoutMs: 2500,
      maxBytes: 1048576,
      maxConcurrent: 8,
    });
  });

  test("an empty allow list means no allow list", () => {
    expect(loadConfig({ WHITELISTED_DESTINATIONS_FOR_URL_INPUT: "" }).urlInput.allowedHosts).toBeNull();
    expect(loadConfig({ BLACKLISTED_DESTINATIONS_FOR_URL_INPUT: " , " }).urlInput.deniedHosts).toEqual([]);
  });

  test("rejects invalid values, naming the setting", () => {
    expect(() => loadConfig({ ALLOW_URL_INPUT: "maybe" })).toThrow(/ALLOW_URL_INPUT/);
    expect(() => loadConfig({ ALLOW_URL_INPUT_PRIVATE_ADDRESSES: "2" })).toThrow(/ALLOW_URL_INPUT_PRIVATE_ADDRESSES/);
    expect(() => loadConfig({ WHITELISTED_DESTINATIONS_FOR_URL_INPUT: "https://images.example.com/" })).toThrow(/WHITELISTED_DESTINATIONS_FOR_URL_INPUT.*not a URL/);
    expect(() => loadConfig({ BLACKLISTED_DESTINATIONS_FOR_URL_INPUT: "*" })).toThrow(/BLACKLISTED_DESTINATIONS_FOR_URL_INPUT/);
    expect(() => loadConfig({ URL_INPUT_MAX_REDIRECTS: "-1" })).toThrow(/URL_INPUT_MAX_REDIRECTS/);
    expect(() => loadConfig({ URL_INPUT_TIMEOUT_MS: "0" })).toThrow(/URL_INPUT_TIMEOUT_MS/);
    expect(() => loadConfig({ URL_INPUT_MAX_BYTES: "lots" })).toThrow(/URL_INPUT_MAX_BYTES/);
    expect(() => loadConfig({ URL_INPUT_MAX_CONCURRENT: "0" })).toThrow(/URL_INPUT_MAX_CONCURRENT/);
  });

  test("the download deadline must end before the vision task watchdog fires", () => {
    expect(() => loadConfig({ URL_INPUT_TIMEOUT_MS: "60000" })).toThrow(/URL_INPUT_TIMEOUT_MS.*VISION_TASK_TIMEOUT_MS/);
    expect(loadConfig({ URL_INPUT_TIMEOUT_MS: "60000", VISION_TASK_TIMEOUT_MS: "90000" }).urlInput.timeoutMs).toBe(60000);
    expect(loadConfig({ URL_INPUT_TIMEOUT_MS: "60000", VISION_TASK_TIMEOUT_MS: "0" }).urlInput.timeoutMs).toBe(60000);
  });
});

// Tests for src/vision/image-input.ts: the request's image object becomes encoded bytes or a 400.

import { describe, expect, test } from "bun:test";
import { InputImageError } from "../../../src/errors.ts";
import { ENCODED_BYTES_TYPE, imageBytesFromInput, loadImageBytes } from "../../../src/vision/image-input.ts";
import { DEFAULT_URL_INPUT_SETTINGS } from "../../../src/vision/url-policy.ts";

const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_SIGNATURE_BASE64 = Buffer.from(PNG_SIGNATURE).toString("base64");

function loadError(image: { type: string; value: unknown }): InputImageError {
  try {
    imageBytesFromInput(image);
  } catch (error) {
    if (error instanceof InputImageError) return error;
    throw error;
  }
  throw new Error("expected an InputImageError");
}

describe("imageBytesFromInput with base64", () => {
  test("decodes a plain base64 string", () => {
    expect(imageBytesFromInput({ type: "base64", value: PNG_SIGNATURE_BASE64 })).toEqual(PNG_SIGNATURE);
  });

  test("strips a data:image/...;base64, prefix", () => {
    const value = `data:image/png;base64,${PNG_SIGNATURE_BASE64}`;
    expect(imageBytesFromInput({ type: "base64", value })).toEqual(PNG_SIGNATURE);
  });

  test("matches the type case-insensitively", () => {
    expect(imageBytesFromInput({ type: "BASE64", value: PNG_SIGNATURE_BASE64 })).toEqual(PNG_SIGNATURE);
    expect(imageBytesFromInput({ type: "Base64", value: PNG_SIGNATURE_BASE64 })).toEqual(PNG_SIGNATURE);
  });

  test("tolerates whitespace and line breaks inside the payload", () => {
    const wrapped = `${PNG_SIGNATURE_BASE64.slice(0, 4)}\n${PNG_SIGNATURE_BASE64.slice(4, 8)} \r\n${PNG_SIGNATURE_BASE64.slice(8)}`;
    expect(imageBytesFromInput({ type: "base64", value: wrapped })).toEqual(PNG_SIGNATURE);
  });

  test("rejects characters outside the standard alphabet as malformed", () => {
    const error = loadError({ type: "base64", value: "iVBO*w0KGgo=" });
    expect(error.status).toBe(400);
    expect(error.message).toBe("Could not load input image. Cause: Malformed base64 input image.");
  });

  test("rejects a payload whose length cannot be base64 as malformed", () => {
    expect(loadError({ type: "base64", value: "iVBOR" }).message).toBe("Could not load input image. Cause: Malformed base64 input image.");
  });

  test("rejects a non-string value as malformed", () => {
    expect(loadError({ type: "base64", value: 12345 }).message).toBe("Could not load input image. Cause: Malformed base64 input image.");
  });

  test("reports an empty payload, with or without the data-URI prefix", () => {
    expect(loadError({ type: "base64", value: "" }).message).toBe("Could not load input image. Cause: Empty image payload.");
    expect(loadError({ type: "base64", value: "data:image/jpeg;base64," }).message).toBe("Could not load input image. Cause: Empty image payload.");
  });
});

describe("imageBytesFromInput with other types", () => {
  test("numpy is refused like the reference's default configuration", () => {
    const error = loadError({ type: "numpy", value: "gASV" });
    expect(error.status).toBe(400);
    expect(error.message).toBe("Could not load input image. Cause: NumPy image type is not supported in this configuration of `inference`.");
  });

  test("url input is downloaded by loadImageBytes under the URL policy (see url-image.test.ts), never synchronously", async () => {
    const disabled = { ...DEFAULT_URL_INPUT_SETTINGS, allowUrlInput: false };
    await expect(loadImageBytes({ type: "URL", value: "https://example.com/a.jpg" }, disabled)).rejects.toThrow(
      "Could not load input image. Cause: Providing images via URL is not supported in this configuration of `inference`.",
    );
    await expect(loadImageBytes({ type: "url", value: "http://example.com/a.jpg" }, DEFAULT_URL_INPUT_SETTINGS)).rejects.toThrow(
      "Could not load input image. Cause: Providing images via non https:// URL is not supported in this configuration of `inference`.",
    );
    expect(() => imageBytesFromInput({ type: "url", value: "https://example.com/a.jpg" })).toThrow(/loadImageBytes/);
  });

  test("loadImageBytes reads the other types as imageBytesFromInput does", async () => {
    expect(await loadImageBytes({ type: "base64", value: PNG_SIGNATURE_BASE64 }, DEFAULT_URL_INPUT_SETTINGS)).toEqual(PNG_SIGNATURE);
  });

  test("already-downloaded bytes pass through; the internal type cannot be forged from JSON", () => {
    expect(imageBytesFromInput({ type: ENCODED_BYTES_TYPE, value: PNG_SIGNATURE })).toBe(PNG_SIGNATURE);
    for (const value of [PNG_SIGNATURE_BASE64, [137, 80], new Uint8Array(0), null]) {
      expect(loadError({ type: ENCODED_BYTES_TYPE, value }).message).toBe("Could not load input image. Cause: Image declaration contains not recognised image type.");
    }
  });

  test("file input is refused with a clear cause", () => {
    expect(loadError({ type: "file", value: "/etc/passwd" }).message).toBe(
      "Could not load input image. Cause: Loading images from the local filesystem is not enabled on this server.",
    );
  });

  test("any other type is not recognised", () => {
    for (const type of ["pil", "multipart", "numpy_object", "jpeg", ""]) {
      expect(loadError({ type, value: PNG_SIGNATURE_BASE64 }).message).toBe("Could not load input image. Cause: Image declaration contains not recognised image type.");
    }
  });
});

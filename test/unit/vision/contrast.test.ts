// Tests for src/vision/contrast.ts: grayscale, contrast stretching, histogram and adaptive equalisation as the reference computes them.

import { describe, expect, test } from "bun:test";
import { equalizeAdaptive, equalizeHistogram, grayLevels, stretchContrast, toGrayscale } from "../../../src/vision/contrast.ts";
import type { RgbImage } from "../../../src/vision/decode.ts";

function greyImage(width: number, height: number, value: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.fill(value(x, y), (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return { data, width, height };
}

/** The first channel of an image whose channels are all equal (and checks that they are). */
function equalChannels(image: RgbImage): Uint8Array {
  const out = new Uint8Array(image.width * image.height);
  for (let p = 0; p < out.length; p++) {
    const [r, g, b] = image.data.subarray(p * 3, p * 3 + 3);
    expect(g).toBe(r!);
    expect(b).toBe(r!);
    out[p] = r!;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

// A deterministic test pattern with structure at several scales.
const pattern = (a: number, b: number, m: number, k: number) => (x: number, y: number) => (x * a + y * b + ((x * y) % m) * k) % 256;

// Expected values come from cv2 (OpenCV 4.x) and skimage on the same inputs.
describe("grayLevels (cv2.cvtColor BGR2GRAY)", () => {
  test("uses OpenCV's 15-bit fixed-point luma weights", () => {
    const image: RgbImage = { data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 200, 99]), width: 4, height: 1 };
    expect(Array.from(grayLevels(image))).toEqual([76, 150, 29, 132]);
  });

  test("toGrayscale gives three equal channels of the luma", () => {
    const image: RgbImage = { data: new Uint8Array([255, 0, 0, 12, 200, 99]), width: 2, height: 1 };
    expect(Array.from(toGrayscale(image).data)).toEqual([76, 76, 76, 132, 132, 132]);
  });
});

describe("stretchContrast (numpy.percentile 2/98 + skimage rescale_intensity)", () => {
  test("interpolates percentiles linearly and truncates the rescaled values", () => {
    // p2 = 87.2, p98 = 196.4 over the 21 values; 160 maps to 169.99999999999994 -> 169.
    const values = [135, 139, 188, 89, 107, 109, 139, 160, 178, 114, 108, 110, 162, 176, 187, 105, 103, 202, 122, 160, 86];
    const out = stretchContrast({ data: new Uint8Array(values), width: 7, height: 1 });
    expect(Array.from(out.data)).toEqual([111, 120, 235, 4, 46, 50, 120, 169, 212, 62, 48, 53, 174, 207, 233, 41, 36, 255, 81, 169, 0]);
  });

  test("a single-valued image is left unchanged", () => {
    const image = greyImage(4, 4, () => 77);
    expect(stretchContrast(image).data).toEqual(image.data);
  });

  test("returns a new buffer and leaves the input alone", () => {
    const image = greyImage(3, 3, (x, y) => x * 40 + y * 10);
    const before = image.data.slice();
    const out = stretchContrast(image);
    expect(out.data).not.toBe(image.data);
    expect(image.data).toEqual(before);
  });
});

describe("equalizeHistogram (cv2.equalizeHist on the luma)", () => {
  test("maps the cumulative histogram onto 0..255 like OpenCV", () => {
    const rows = [
      [10, 10, 20, 30],
      [30, 30, 40, 200],
      [200, 200, 200, 255],
    ];
    const out = equalizeHistogram(greyImage(4, 3, (x, y) => rows[y]![x]!));
    expect(Array.from(equalChannels(out))).toEqual([0, 0, 26, 102, 102, 102, 128, 230, 230, 230, 230, 255]);
  });

  test("a single-valued image keeps its value", () => {
    expect(Array.from(equalChannels(equalizeHistogram(greyImage(3, 2, () => 42))))).toEqual(Array(6).fill(42));
  });
});

describe("equalizeAdaptive (cv2.createCLAHE(clipLimit=0.03, tileGridSize=(8, 8)) on the luma)", () => {
  test("sizes divisible by the grid use the image as is (16x8)", () => {
    const out = equalizeAdaptive(greyImage(16, 8, pattern(37, 91, 13, 7)));
    expect(hex(equalChannels(out))).toBe(
      "80ffc0ffc0ffff8080ffc0ffc0ff40ffc0ffdfff208080c0c0ff2080804080ffc0ff2080a0ffffc0ff4080ffffc0dfff4080a0ffffc02080a080c0ff20ff4080c0ffff402080bfc0dfffdf408080c0ffff408080c0ffdf40df408080dfc0ff4080c0dfc020ff8080c080dfc0404080c0c0ffdf4040c0a0ffdf402080a0c0ffc0",
    );
  });

  test("other sizes are padded by reflection for the tile histograms (20x12)", () => {
    const out = equalizeAdaptive(greyImage(20, 12, pattern(37, 91, 13, 7)));
    expect(hex(equalChannels(out))).toBe(
      "2a557995b1cdea234e6aa3cdd4f8232a5580bff1aad4f1ff2a556aa3d4ff2a55954e79aad4ff2a72eaff38607295eabfff2a67a3ca9cd0ff2e5595e22a809cbfffcd1547806ac6f815ff476aa3d4aaf880aafb3518638a589cffe226604072ca12ed4060d42a6355c6f8d423f8409c79bfaaf840479cd4cd2a6ab1b412ff60358780d8c6151259aa98edea4380ffd45547a380f8d42a238e949cf8d44e2a8079ff40598aa3bceaff515567c3d4f46055636e80d42aaad4ea23474079a3aaff232a4ea3aacdf8ff4795ff122a4a91b4b5c62038557584f4eaff1c60aad4557980cdf1ff315c80bfead4db2a4079a3bff1",
    );
  });

  test("larger images interpolate between tile tables like OpenCV (160x120, 333x217)", () => {
    const medium = equalChannels(equalizeAdaptive(greyImage(160, 120, pattern(3, 5, 11, 9))));
    expect(Array.from(medium.subarray(0, 8))).toEqual([2, 5, 9, 13, 17, 20, 25, 29]);
    expect(sha256(medium)).toBe("1867922e2bfb88281fc01632847c970df27f28f74a93d92376ef21b4afdca073");
    const odd = equalChannels(equalizeAdaptive(greyImage(333, 217, pattern(3, 5, 11, 9))));
    expect(sha256(odd)).toBe("58ee72b0032a4a67ff7ccb709a6a6e6b09b75d1047b2b2943a628360de031d4a");
  });
});

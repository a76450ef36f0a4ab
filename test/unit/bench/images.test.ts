// Specification of the benchmark's generated images: the sizes every task sends, and the photo-like 12 MP JPEG of the feed measure.
import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import { BENCH_IMAGE_SIZES, FEED_IMAGE_SIZES, PHOTO_SIZE, feedImages, photoLikeJpeg, photoLikeRgb } from "../../../bench/images.ts";

test("every task sends VGA, HD and full-HD frames", () => {
  expect(BENCH_IMAGE_SIZES.map((s) => `${s.width}x${s.height}`)).toEqual(["640x480", "1280x720", "1920x1080"]);
});

describe("photo-like images", () => {
  test("are the same pixels for the same seed and different ones for another", async () => {
    const [a, b, c] = await Promise.all([photoLikeRgb(320, 240, 1), photoLikeRgb(320, 240, 1), photoLikeRgb(320, 240, 2)]);
    expect(a.length).toBe(320 * 240 * 3);
    expect(Buffer.compare(a, b)).toBe(0);
    let differing = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== c[i]) differing++;
    expect(differing).toBeGreaterThan(a.length / 2);
  });

  test("a 12 MP one is a 4032x3024 JPEG of 2 to 4 MB, as a phone saves a photo", async () => {
    const photo = await photoLikeJpeg(PHOTO_SIZE.width, PHOTO_SIZE.height, 1);
    expect(photo.jpeg.length).toBeGreaterThan(2_000_000);
    expect(photo.jpeg.length).toBeLessThan(4_000_000);
    expect(await sharp(photo.jpeg).metadata()).toMatchObject({ format: "jpeg", width: 4032, height: 3024, channels: 3 });
  }, 60_000);
});

test("the feed measure's images are the named sizes, and an unknown size is refused", async () => {
  expect(FEED_IMAGE_SIZES).toEqual(["640x480", "1920x1080", "4032x3024"]);
  const [frame] = await feedImages(["640x480"]);
  expect(await sharp(frame!.jpeg).metadata()).toMatchObject({ format: "jpeg", width: 640, height: 480 });
  await expect(feedImages(["800x600"])).rejects.toThrow('feed image size "800x600" is not one of 640x480, 1920x1080, 4032x3024');
});

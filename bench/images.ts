// Benchmark images: varied-content JPEG scenes (SVG drawn by sharp) at the sizes clients send, and photo-like 12 MP JPEGs; no downloads.
import sharp from "sharp";

export interface BenchImage {
  name: string;
  width: number;
  height: number;
  jpeg: Uint8Array;
}

/** The image sizes every benchmark sends, round robin: a VGA camera frame, an HD one and a full-HD one. */
export const BENCH_IMAGE_SIZES = [
  { width: 640, height: 480 },
  { width: 1280, height: 720 },
  { width: 1920, height: 1080 },
] as const;

/** A small deterministic generator, so every run sends the same images. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * A scene: a gradient sky and ground, a dozen filled and outlined shapes, and film grain
 * (fractal noise), so the JPEG is about as large and as costly to decode as a photo.
 */
function sceneSvg(width: number, height: number, seed: number): string {
  const random = seededRandom(seed * 7919 + width);
  const colour = () => `rgb(${Math.floor(random() * 256)},${Math.floor(random() * 256)},${Math.floor(random() * 256)})`;
  const shapes: string[] = [];
  for (let i = 0; i < 12; i++) {
    const x = random() * width;
    const y = random() * height;
    const size = (0.05 + random() * 0.25) * Math.min(width, height);
    const fill = colour();
    const stroke = `stroke="${colour()}" stroke-width="${1 + Math.floor(random() * 6)}"`;
    switch (i % 4) {
      case 0:
        shapes.push(`<rect x="${x}" y="${y}" width="${size}" height="${size * (0.5 + random())}" fill="${fill}" ${stroke} transform="rotate(${random() * 90} ${x} ${y})"/>`);
        break;
      case 1:
        shapes.push(`<circle cx="${x}" cy="${y}" r="${size / 2}" fill="${fill}" ${stroke}/>`);
        break;
      case 2:
        shapes.push(`<polygon points="${x},${y} ${x + size},${y + size * 0.2} ${x + size * 0.4},${y + size}" fill="${fill}" ${stroke}/>`);
        break;
      default:
        shapes.push(`<ellipse cx="${x}" cy="${y}" rx="${size}" ry="${size / 3}" fill="none" ${stroke}/>`);
    }
  }
  const horizon = height * (0.3 + random() * 0.4);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient>
    <linearGradient id="ground" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient>
    <filter id="grain"><feTurbulence type="fractalNoise" baseFrequency="${0.4 + random() * 0.5}" numOctaves="3" seed="${seed}"/><feColorMatrix type="saturate" values="0"/><feComponentTransfer><feFuncA type="linear" slope="0.8"/></feComponentTransfer><feBlend in2="SourceGraphic" mode="multiply"/></filter>
  </defs>
  <g filter="url(#grain)">
    <rect width="${width}" height="${horizon}" fill="url(#sky)"/>
    <rect y="${horizon}" width="${width}" height="${height - horizon}" fill="url(#ground)"/>
    ${shapes.join("\n    ")}
  </g>
</svg>`;
}

/** One scene as a quality-85 JPEG. */
export async function sceneJpeg(width: number, height: number, seed: number): Promise<BenchImage> {
  const jpeg = await sharp(Buffer.from(sceneSvg(width, height, seed)))
    .jpeg({ quality: 85 })
    .toBuffer();
  return { name: `scene${seed}_${width}x${height}.jpg`, width, height, jpeg: new Uint8Array(jpeg) };
}

/** `perSize` different scenes at each of BENCH_IMAGE_SIZES, as quality-85 JPEGs. */
export async function benchImages(perSize: number): Promise<BenchImage[]> {
  const images: BenchImage[] = [];
  for (let seed = 1; seed <= perSize; seed++) {
    for (const { width, height } of BENCH_IMAGE_SIZES) images.push(await sceneJpeg(width, height, seed));
  }
  return images;
}

/** A JPEG of noise (quality 90): large to send for its size, and a full frame of pixels once decoded. */
export async function noiseJpeg(width: number, height: number): Promise<Uint8Array> {
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return new Uint8Array(
    await sharp(noise, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
}

/** A phone camera's 12 MP frame. */
export const PHOTO_SIZE = { width: 4032, height: 3024 } as const;

/** Value noise in [-1, 1]: random values on a grid of `cell` pixels, smoothstep-interpolated between them. */
function valueNoise(width: number, height: number, cell: number, random: () => number): Float32Array {
  const gridWidth = Math.ceil(width / cell) + 2;
  const gridHeight = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from({ length: gridWidth * gridHeight }, () => random() * 2 - 1);
  const out = new Float32Array(width * height);
  const smooth = (t: number) => t * t * (3 - 2 * t);
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const ty = smooth(gy - y0);
    for (let x = 0; x < width; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const tx = smooth(gx - x0);
      const i = y0 * gridWidth + x0;
      const top = grid[i]! + (grid[i + 1]! - grid[i]!) * tx;
      const bottom = grid[i + gridWidth]! + (grid[i + gridWidth + 1]! - grid[i + gridWidth]!) * tx;
      out[y * width + x] = top + (bottom - top) * ty;
    }
  }
  return out;
}

/** How much coarser than the photo its smooth layers are drawn (then upscaled by libvips): detail finer than this comes from grain. */
const PHOTO_LAYER_SCALE = 4;

/**
 * RGB pixels (HWC) that compress like a photo: sky and ground gradients, a few dozen lit and textured objects with hard
 * edges, multi-scale value noise (fields, foliage) drawn at 1/PHOTO_LAYER_SCALE and upscaled bicubically (a lens is soft at
 * the pixel level), then per-pixel sensor grain. Deterministic for a seed.
 */
export async function photoLikeRgb(width: number, height: number, seed: number): Promise<Uint8Array> {
  const random = seededRandom(seed * 104729 + 17);
  const w = Math.ceil(width / PHOTO_LAYER_SCALE);
  const h = Math.ceil(height / PHOTO_LAYER_SCALE);
  const layer = new Float32Array(w * h * 3);
  const colour = () => [random() * 255, random() * 255, random() * 255];
  const [skyTop, skyBottom, groundNear, groundFar] = [colour(), colour(), colour(), colour()];
  const horizon = h * (0.3 + random() * 0.3);
  for (let y = 0; y < h; y++) {
    const sky = y < horizon;
    const t = sky ? y / horizon : (y - horizon) / (h - horizon);
    const [a, b] = sky ? [skyTop, skyBottom] : [groundFar, groundNear];
    for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) layer[(y * w + x) * 3 + c] = a![c]! + (b![c]! - a![c]!) * t;
  }
  // Texture at several scales, tinted per channel: large ones shade, small ones look like foliage or gravel.
  for (const [cell, amplitude] of [
    [w / 3, 40],
    [w / 12, 24],
    [w / 48, 16],
    [4, 12],
    [1.5, 10],
  ] as const) {
    const noise = valueNoise(w, h, cell, random);
    const tint = [0.7 + random() * 0.6, 0.7 + random() * 0.6, 0.7 + random() * 0.6];
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) layer[i * 3 + c]! += noise[i]! * amplitude * tint[c]!;
  }
  // Objects: filled rectangles and ellipses, lit from one side, with their own fine texture and hard edges.
  const objectTexture = valueNoise(w, h, 2.5, random);
  for (let n = 0; n < 40; n++) {
    const [cx, cy] = [random() * w, horizon * 0.5 + random() * (h - horizon * 0.5)];
    const [rx, ry] = [(0.02 + random() * 0.12) * w, (0.02 + random() * 0.12) * h];
    const ellipse = random() < 0.5;
    const fill = colour();
    const texture = 5 + random() * 25;
    for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(h, Math.ceil(cy + ry)); y++) {
      for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(w, Math.ceil(cx + rx)); x++) {
        const [dx, dy] = [(x - cx) / rx, (y - cy) / ry];
        if (ellipse && dx * dx + dy * dy > 1) continue;
        const light = 0.75 + 0.25 * dx;
        for (let c = 0; c < 3; c++) layer[(y * w + x) * 3 + c] = fill[c]! * light + objectTexture[y * w + x]! * texture;
      }
    }
  }
  const small = Uint8Array.from(layer, (v) => Math.max(0, Math.min(255, Math.round(v))));
  const pixels = new Uint8Array(
    await sharp(small, { raw: { width: w, height: h, channels: 3 } })
      .resize(width, height, { fit: "fill", kernel: "cubic" })
      .raw()
      .toBuffer(),
  );
  // Sensor grain: luminance noise on every pixel, a little chroma noise on top (a sum of two uniforms: triangular).
  for (let i = 0; i < width * height; i++) {
    const luma = (random() + random() - 1) * 9;
    for (let c = 0; c < 3; c++) pixels[i * 3 + c] = Math.max(0, Math.min(255, Math.round(pixels[i * 3 + c]! + luma + (random() - 0.5) * 4)));
  }
  return pixels;
}

/** A photo-like JPEG (see photoLikeRgb) at quality 90, as phone cameras save them. */
export async function photoLikeJpeg(width: number, height: number, seed: number): Promise<BenchImage> {
  const rgb = await photoLikeRgb(width, height, seed);
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  return { name: `photo${seed}_${width}x${height}.jpg`, width, height, jpeg: new Uint8Array(jpeg) };
}

/** The feed measure's images, by size: camera frames as scenes (the first the other tasks send), a phone's 12 MP photo photo-like. */
export const FEED_IMAGE_SIZES = ["640x480", "1920x1080", `${PHOTO_SIZE.width}x${PHOTO_SIZE.height}`] as const;

/** The feed image of each size named ("WxH", one of FEED_IMAGE_SIZES). */
export async function feedImages(sizes: readonly string[]): Promise<BenchImage[]> {
  const images: BenchImage[] = [];
  for (const size of sizes) {
    if (!(FEED_IMAGE_SIZES as readonly string[]).includes(size)) throw new Error(`feed image size "${size}" is not one of ${FEED_IMAGE_SIZES.join(", ")}`);
    const [width, height] = size.split("x").map(Number) as [number, number];
    images.push(width * height > 1920 * 1080 ? await photoLikeJpeg(width, height, 1) : await sceneJpeg(width, height, 1));
  }
  return images;
}

// Benchmark images: varied-content JPEG scenes (SVG drawn by sharp) at the sizes clients send, no downloads.
import sharp from "sharp";

export interface BenchImage {
  name: string;
  width: number;
  height: number;
  jpeg: Uint8Array;
}

/** The image sizes every benchmark sends, round robin: a VGA camera frame and an HD one. */
export const BENCH_IMAGE_SIZES = [
  { width: 640, height: 480 },
  { width: 1280, height: 720 },
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

/** `perSize` different scenes at each of BENCH_IMAGE_SIZES, as quality-85 JPEGs. */
export async function benchImages(perSize: number): Promise<BenchImage[]> {
  const images: BenchImage[] = [];
  for (let seed = 1; seed <= perSize; seed++) {
    for (const { width, height } of BENCH_IMAGE_SIZES) {
      const jpeg = await sharp(Buffer.from(sceneSvg(width, height, seed))).jpeg({ quality: 85 }).toBuffer();
      images.push({ name: `scene${seed}_${width}x${height}.jpg`, width, height, jpeg: new Uint8Array(jpeg) });
    }
  }
  return images;
}

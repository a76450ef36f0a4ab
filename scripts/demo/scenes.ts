// Demo scenes: pictures of circles, squares, triangles, hex nuts and blobs drawn by our code, with their labels.
// The one source of the demo models' training data (export-scenes.ts) and of their evaluation (eval.ts, the
// quality test): a seed gives the same scene everywhere. README "Demo" says how the models were made.
import sharp from "sharp";
import { fillRings, type Ring } from "./raster.ts";

export const SHAPE_CLASSES = ["circle", "square", "triangle", "hex-nut", "blob"] as const;

/** Training uses seeds from 0 up; evaluation uses seeds from here up, which no training run reaches. */
export const HELD_OUT_SEED_BASE = 1_000_000;

export interface SceneShape {
  classId: number;
  /** Outlined shapes are drawn as a stroke inside their outline; their label is still the region the outline encloses. */
  style: "filled" | "outlined";
  /** Outer outline first; a hex nut adds its hole. Even-odd fill. */
  rings: Ring[];
  colour: string;
  /** Width of an outlined shape's stroke, in pixels, all of it inside the outline. */
  strokeWidth: number;
}

type Background =
  | { kind: "solid"; colour: string }
  | { kind: "linear"; from: string; to: string; angle: number }
  | { kind: "radial"; inner: string; outer: string; cx: number; cy: number }
  | { kind: "stripes"; base: string; ink: string; period: number; width: number; angle: number }
  | { kind: "checks"; base: string; ink: string; period: number; angle: number }
  | { kind: "dots"; base: string; ink: string; period: number; radius: number };

export interface SceneSpec {
  width: number;
  height: number;
  background: Background;
  /** Grey value-noise texture over the whole picture (two octaves, `cells` across the long side), or null. */
  texture: { cells: number; opacity: number; seed: number } | null;
  /** Drawn in order: a later shape covers an earlier one. */
  shapes: SceneShape[];
  /** Standard deviation of the per-pixel noise added after drawing, in 8-bit levels. */
  noise: number;
  /** Gaussian blur sigma in pixels (0: none). */
  blur: number;
  jpegQuality: number;
}

export interface SceneInstance {
  classId: number;
  className: string;
  /** Index in spec.shapes: the owner map holds shape + 1 where this instance is visible. */
  shape: number;
  /** The visible pixels' bounds, x1, y1, x2, y2 (exclusive), in image pixels. */
  box: [number, number, number, number];
  /** The shape's rings (outline, then a hex nut's hole). */
  rings: Ring[];
}

export interface Scene {
  spec: SceneSpec;
  jpeg: Uint8Array;
  /** One per shape, in drawing order. */
  instances: SceneInstance[];
  /** Per pixel (row-major), 0 for background or 1 + the index of the instance seen there: each instance's exact visible mask, holes included. */
  owner: Uint8Array;
}

export interface ClassificationScene {
  spec: SceneSpec;
  jpeg: Uint8Array;
  classId: number;
}

/** Image sizes of detection scenes: landscape, portrait and square, 416 to 1280 pixels wide. */
const SCENE_SIZES: [number, number][] = [
  [640, 480],
  [480, 640],
  [800, 600],
  [600, 800],
  [960, 540],
  [540, 960],
  [1280, 720],
  [720, 1280],
  [1024, 768],
  [640, 640],
  [512, 512],
  [416, 416],
  [768, 432],
  [720, 540],
];

/** mulberry32 over a splitmix-style hash of (stream, seed): scenes of different streams never share numbers. */
function sceneRandom(stream: number, seed: number): () => number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  let state = (h ^ (h >>> 16)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Draw {
  constructor(readonly next: () => number) {}
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }
  int(low: number, high: number): number {
    return Math.floor(this.uniform(low, high + 1));
  }
  logUniform(low: number, high: number): number {
    return Math.exp(this.uniform(Math.log(low), Math.log(high)));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

function hsl(hue: number, saturation: number, lightness: number): string {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    const value = lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/**
 * A palette where shapes stand out: the background's lightness lies in one band, the shapes' in the
 * other (dark on light or light on dark), hue and saturation free.
 */
function palette(draw: Draw): { background: () => string; shape: () => string } {
  const darkBackground = draw.chance(0.5);
  const backgroundBand: [number, number] = darkBackground ? [0.06, 0.42] : [0.58, 0.94];
  const shapeBand: [number, number] = darkBackground ? [0.55, 0.95] : [0.05, 0.45];
  const hue = draw.uniform(0, 360);
  return {
    background: () => hsl((hue + draw.uniform(-60, 60) + 360) % 360, draw.uniform(0, 0.7), draw.uniform(...backgroundBand)),
    shape: () => hsl(draw.uniform(0, 360), draw.uniform(0, 1), draw.uniform(...shapeBand)),
  };
}

function drawBackground(draw: Draw, colours: () => string, width: number, height: number): Background {
  const scale = Math.min(width, height);
  switch (draw.pick(["solid", "linear", "linear", "radial", "stripes", "checks", "dots"] as const)) {
    case "solid":
      return { kind: "solid", colour: colours() };
    case "linear":
      return { kind: "linear", from: colours(), to: colours(), angle: draw.uniform(0, 360) };
    case "radial":
      return { kind: "radial", inner: colours(), outer: colours(), cx: draw.uniform(0.2, 0.8), cy: draw.uniform(0.2, 0.8) };
    case "stripes": {
      const period = draw.uniform(0.02, 0.12) * scale;
      return { kind: "stripes", base: colours(), ink: colours(), period, width: period * draw.uniform(0.1, 0.5), angle: draw.uniform(0, 180) };
    }
    case "checks":
      return { kind: "checks", base: colours(), ink: colours(), period: draw.uniform(0.03, 0.15) * scale, angle: draw.uniform(0, 90) };
    case "dots": {
      const period = draw.uniform(0.02, 0.08) * scale;
      return { kind: "dots", base: colours(), ink: colours(), period, radius: period * draw.uniform(0.1, 0.3) };
    }
  }
}

function regularPolygon(sides: number, radius: number, rotation: number): Ring {
  const ring: Ring = [];
  for (let k = 0; k < sides; k++) {
    const angle = rotation + (2 * Math.PI * k) / sides;
    ring.push(radius * Math.cos(angle), radius * Math.sin(angle));
  }
  return ring;
}

/** Vertices on a circle for round outlines: enough that the polygon is the circle to under a tenth of a pixel at 300 px. */
const ROUND_VERTICES = 96;

/** A blob's area over its convex hull's at most this: its outline has a visible dent. */
export const MAX_BLOB_SOLIDITY = 0.93;

/** Area of a simple polygon (shoelace formula). */
export function ringArea(ring: Ring): number {
  let twice = 0;
  for (let k = 0; k < ring.length; k += 2) {
    const next = (k + 2) % ring.length;
    twice += ring[k]! * ring[next + 1]! - ring[next]! * ring[k + 1]!;
  }
  return Math.abs(twice) / 2;
}

/** Area of the convex hull of a ring's vertices (Andrew's monotone chain). */
export function hullArea(ring: Ring): number {
  const points = Array.from({ length: ring.length / 2 }, (_, k) => [ring[2 * k]!, ring[2 * k + 1]!] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: readonly number[], a: readonly number[], b: readonly number[]) => (a[0]! - o[0]!) * (b[1]! - o[1]!) - (a[1]! - o[1]!) * (b[0]! - o[0]!);
  const half = (list: (readonly [number, number])[]) => {
    const chain: (readonly [number, number])[] = [];
    for (const p of list) {
      while (chain.length >= 2 && cross(chain[chain.length - 2]!, chain[chain.length - 1]!, p) <= 0) chain.pop();
      chain.push(p);
    }
    return chain.slice(0, -1);
  };
  const hull = [...half(points), ...half([...points].reverse())];
  return ringArea(hull.flat());
}

/** The rings of one shape of `size` pixels (its width before rotation) centred on the origin. */
function shapeRings(draw: Draw, classId: number, size: number): Ring[] {
  const rotation = draw.uniform(0, 2 * Math.PI);
  const radius = size / 2;
  switch (SHAPE_CLASSES[classId]) {
    case "circle":
      return [regularPolygon(ROUND_VERTICES, radius, 0)];
    case "square":
      return [regularPolygon(4, radius * Math.SQRT2, rotation)];
    case "triangle": {
      // Near equilateral (vertices moved by up to 8% of the radius): a triangle, never a sliver.
      const ring = regularPolygon(3, size / Math.sqrt(3), rotation);
      return [ring.map((v) => v * draw.uniform(0.92, 1.08))];
    }
    case "hex-nut": {
      const hole = regularPolygon(ROUND_VERTICES / 2, radius * draw.uniform(0.3, 0.5), 0);
      return [regularPolygon(6, radius, rotation), hole];
    }
    case "blob": {
      // A smooth radius wobbling with harmonics 2 to 5 of random phases. Never close to another class: the radius
      // varies by 1.4x at least, and the outline has a dent (solidity <= MAX_BLOB_SOLIDITY), which no circle, square,
      // triangle or hexagon has; without the dent, many looked like rounded squares or ellipses to people and models.
      for (;;) {
        const harmonics = [2, 3, 4, 5].map((k) => ({ k, amplitude: draw.uniform(0.03, 0.2) / Math.sqrt(k - 1), phase: draw.uniform(0, 2 * Math.PI) }));
        const radii = Array.from({ length: ROUND_VERTICES }, (_, i) => {
          const angle = (2 * Math.PI * i) / ROUND_VERTICES;
          return 1 + harmonics.reduce((sum, h) => sum + h.amplitude * Math.cos(h.k * angle + h.phase), 0);
        });
        const largest = Math.max(...radii);
        if (largest / Math.min(...radii) < 1.4) continue;
        const ring = radii.flatMap((r, i) => {
          const angle = (2 * Math.PI * i) / ROUND_VERTICES;
          return [(radius * r * Math.cos(angle)) / largest, (radius * r * Math.sin(angle)) / largest];
        });
        if (ringArea(ring) / hullArea(ring) > MAX_BLOB_SOLIDITY) continue;
        return [ring];
      }
    }
    default:
      throw new RangeError(`no shape class ${classId}`);
  }
}

type Bounds = [number, number, number, number];

function ringBounds(ring: Ring): Bounds {
  const b: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < ring.length; k += 2) {
    b[0] = Math.min(b[0], ring[k]!);
    b[1] = Math.min(b[1], ring[k + 1]!);
    b[2] = Math.max(b[2], ring[k]!);
    b[3] = Math.max(b[3], ring[k + 1]!);
  }
  return b;
}

function boundsArea(b: Bounds): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

function intersectionArea(a: Bounds, b: Bounds): number {
  return boundsArea([Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])]);
}

/** One shape of `classId`, `size` pixels wide, centred on (x, y); `seed` draws its rotation (and a blob's outline). */
export function placedShape(classId: number, x: number, y: number, size: number, seed: number, style: Pick<SceneShape, "style" | "strokeWidth" | "colour">): SceneShape {
  const rings = shapeRings(new Draw(sceneRandom(4, seed)), classId, size);
  return { classId, rings: rings.map((ring) => ring.map((v, k) => v + (k % 2 === 0 ? x : y))), ...style };
}

/** Filled shapes may overlap by up to this fraction of the smaller one's box, so each stays mostly visible. */
const MAX_OVERLAP = 0.2;

/** The post-processing every scene gets: noise, blur and JPEG quality. */
function drawFinish(draw: Draw, scale: number): Pick<SceneSpec, "noise" | "blur" | "jpegQuality" | "texture"> {
  return {
    texture: draw.chance(0.35) ? { cells: draw.int(3, 24), opacity: draw.uniform(0.08, 0.3), seed: draw.int(0, 1_000_000) } : null,
    noise: draw.chance(0.5) ? draw.uniform(1, 12) : 0,
    blur: draw.chance(0.5) ? draw.uniform(0.4, 2) * Math.max(1, scale / 640) : 0,
    jpegQuality: draw.int(30, 95),
  };
}

function drawStyle(draw: Draw, size: number): Pick<SceneShape, "style" | "strokeWidth"> {
  const outlined = draw.chance(0.25);
  return { style: outlined ? "outlined" : "filled", strokeWidth: outlined ? Math.max(2, size * draw.uniform(0.06, 0.14)) : 0 };
}

/** The scene of `seed`: 1 to 12 shapes of 20 to 300 px (at least 4% of the long side) on a drawn background. */
export function detectionSceneSpec(seed: number): SceneSpec {
  const draw = new Draw(sceneRandom(0, seed));
  const [width, height] = draw.pick(SCENE_SIZES);
  const colours = palette(draw);
  const background = drawBackground(draw, colours.background, width, height);
  const minSize = Math.max(20, 0.04 * Math.max(width, height));
  const maxSize = Math.min(300, 0.45 * Math.min(width, height));
  const count = draw.int(1, Math.min(12, Math.max(4, Math.round((width * height) / 70_000))));
  const shapes: SceneShape[] = [];
  const placed: Bounds[] = [];
  for (let n = 0; n < count; n++) {
    const classId = draw.int(0, SHAPE_CLASSES.length - 1);
    const size = draw.logUniform(minSize, maxSize);
    const rings = shapeRings(draw, classId, size);
    const style = drawStyle(draw, size);
    const local = ringBounds(rings[0]!);
    for (let attempt = 0; attempt < 30; attempt++) {
      const dx = draw.uniform(2 - local[0], width - 2 - local[2]);
      const dy = draw.uniform(2 - local[1], height - 2 - local[3]);
      const bounds: Bounds = [local[0] + dx, local[1] + dy, local[2] + dx, local[3] + dy];
      const fits = placed.every((other, i) => {
        // Outlined shapes show what lies inside them, so nothing overlaps one (3 px apart at least).
        if (style.style === "outlined" || shapes[i]!.style === "outlined") return intersectionArea([bounds[0] - 3, bounds[1] - 3, bounds[2] + 3, bounds[3] + 3], other) === 0;
        return intersectionArea(bounds, other) <= MAX_OVERLAP * Math.min(boundsArea(bounds), boundsArea(other));
      });
      if (!fits) continue;
      shapes.push({ classId, rings: rings.map((ring) => ring.map((v, k) => v + (k % 2 === 0 ? dx : dy))), colour: colours.shape(), ...style });
      placed.push(bounds);
      break;
    }
  }
  return { width, height, background, shapes, ...drawFinish(draw, Math.max(width, height)) };
}

/** The classification scene of `seed`: one shape, 45 to 80% of the short side, near the centre of a 96 to 416 px image. */
export function classificationSceneSpec(seed: number): SceneSpec {
  const draw = new Draw(sceneRandom(1, seed));
  const width = draw.int(96, 416);
  const height = Math.round(width * draw.uniform(0.75, 1.33));
  const colours = palette(draw);
  const background = drawBackground(draw, colours.background, width, height);
  const short = Math.min(width, height);
  const classId = draw.int(0, SHAPE_CLASSES.length - 1);
  const size = short * draw.uniform(0.45, 0.8);
  const rings = shapeRings(draw, classId, size);
  const style = drawStyle(draw, size);
  const [x1, y1, x2, y2] = ringBounds(rings[0]!);
  const dx = width / 2 - (x1 + x2) / 2 + draw.uniform(-0.06, 0.06) * short;
  const dy = height / 2 - (y1 + y2) / 2 + draw.uniform(-0.06, 0.06) * short;
  const shape: SceneShape = { classId, rings: rings.map((ring) => ring.map((v, k) => v + (k % 2 === 0 ? dx : dy))), colour: colours.shape(), ...style };
  return { width, height, background, shapes: [shape], ...drawFinish(draw, Math.max(width, height)) };
}

function pathData(rings: readonly Ring[]): string {
  return rings
    .map((ring) => {
      const points: string[] = [];
      for (let k = 0; k < ring.length; k += 2) points.push(`${ring[k]!.toFixed(2)},${ring[k + 1]!.toFixed(2)}`);
      return `M${points.join("L")}Z`;
    })
    .join("");
}

function backgroundSvg(background: Background, width: number, height: number): { defs: string; fill: string } {
  const rect = (fill: string) => `<rect width="${width}" height="${height}" fill="${fill}"/>`;
  switch (background.kind) {
    case "solid":
      return { defs: "", fill: rect(background.colour) };
    case "linear":
      return {
        defs: `<linearGradient id="bg" gradientTransform="rotate(${background.angle.toFixed(1)} 0.5 0.5)"><stop offset="0" stop-color="${background.from}"/><stop offset="1" stop-color="${background.to}"/></linearGradient>`,
        fill: rect("url(#bg)"),
      };
    case "radial":
      return {
        defs: `<radialGradient id="bg" cx="${background.cx.toFixed(3)}" cy="${background.cy.toFixed(3)}" r="0.8"><stop offset="0" stop-color="${background.inner}"/><stop offset="1" stop-color="${background.outer}"/></radialGradient>`,
        fill: rect("url(#bg)"),
      };
    case "stripes": {
      const p = background.period.toFixed(2);
      return {
        defs: `<pattern id="bg" width="${p}" height="${p}" patternUnits="userSpaceOnUse" patternTransform="rotate(${background.angle.toFixed(1)})"><rect width="${p}" height="${p}" fill="${background.base}"/><rect width="${background.width.toFixed(2)}" height="${p}" fill="${background.ink}"/></pattern>`,
        fill: rect("url(#bg)"),
      };
    }
    case "checks": {
      const p = background.period.toFixed(2);
      const h = (background.period / 2).toFixed(2);
      return {
        defs: `<pattern id="bg" width="${p}" height="${p}" patternUnits="userSpaceOnUse" patternTransform="rotate(${background.angle.toFixed(1)})"><rect width="${p}" height="${p}" fill="${background.base}"/><rect width="${h}" height="${h}" fill="${background.ink}"/><rect x="${h}" y="${h}" width="${h}" height="${h}" fill="${background.ink}"/></pattern>`,
        fill: rect("url(#bg)"),
      };
    }
    case "dots": {
      const p = background.period.toFixed(2);
      const c = (background.period / 2).toFixed(2);
      return {
        defs: `<pattern id="bg" width="${p}" height="${p}" patternUnits="userSpaceOnUse"><rect width="${p}" height="${p}" fill="${background.base}"/><circle cx="${c}" cy="${c}" r="${background.radius.toFixed(2)}" fill="${background.ink}"/></pattern>`,
        fill: rect("url(#bg)"),
      };
    }
  }
}

/** The scene as SVG: background, then the shapes in order (an outlined shape's stroke clipped to its own outline). */
export function sceneSvg(spec: SceneSpec): string {
  const { width, height } = spec;
  const background = backgroundSvg(spec.background, width, height);
  const defs = [background.defs];
  const body = [background.fill];
  spec.shapes.forEach((shape, i) => {
    const d = pathData(shape.rings);
    if (shape.style === "filled") {
      body.push(`<path d="${d}" fill="${shape.colour}" fill-rule="evenodd"/>`);
    } else {
      defs.push(`<clipPath id="clip${i}"><path d="${d}" clip-rule="evenodd"/></clipPath>`);
      body.push(`<path d="${d}" fill="none" stroke="${shape.colour}" stroke-width="${(2 * shape.strokeWidth).toFixed(2)}" clip-path="url(#clip${i})"/>`);
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><defs>${defs.join("")}</defs>${body.join("")}</svg>`;
}

/** Gaussian noise from the scene's own stream (Box-Muller), so a seed gives the same bytes everywhere. */
function addNoise(pixels: Uint8Array, sigma: number, next: () => number): void {
  for (let i = 0; i < pixels.length; i += 2) {
    const radius = sigma * Math.sqrt(-2 * Math.log(1 - next()));
    const angle = 2 * Math.PI * next();
    pixels[i] = Math.max(0, Math.min(255, Math.round(pixels[i]! + radius * Math.cos(angle))));
    if (i + 1 < pixels.length) pixels[i + 1] = Math.max(0, Math.min(255, Math.round(pixels[i + 1]! + radius * Math.sin(angle))));
  }
}

/** Blends grey value noise over `pixels`: random grids of `cells` and 2 x `cells` across the long side, smoothly upscaled (SVG's feTurbulence costs ~20x more). */
async function addTexture(pixels: Uint8Array, width: number, height: number, texture: NonNullable<SceneSpec["texture"]>): Promise<void> {
  const next = sceneRandom(3, texture.seed);
  const octaves = await Promise.all(
    [texture.cells, 2 * texture.cells].map(async (cells) => {
      const gridWidth = Math.max(2, Math.round((cells * width) / Math.max(width, height)));
      const gridHeight = Math.max(2, Math.round((cells * height) / Math.max(width, height)));
      const grid = Uint8Array.from({ length: gridWidth * gridHeight }, () => Math.floor(next() * 256));
      return new Uint8Array(
        await sharp(grid, { raw: { width: gridWidth, height: gridHeight, channels: 1 } })
          .resize(width, height, { kernel: "cubic" })
          .raw()
          .toBuffer(),
      );
    }),
  );
  const [coarse, fine] = octaves as [Uint8Array, Uint8Array];
  for (let i = 0, p = 0; i < coarse.length; i++, p += 3) {
    const grey = (2 * coarse[i]! + fine[i]!) / 3;
    for (let c = 0; c < 3; c++) pixels[p + c] = Math.round(pixels[p + c]! * (1 - texture.opacity) + grey * texture.opacity);
  }
}

/** Draws `spec` into JPEG bytes. */
export async function renderSceneJpeg(spec: SceneSpec, noiseSeed: number): Promise<Uint8Array> {
  const { width, height } = spec;
  const pixels = new Uint8Array(
    await sharp(Buffer.from(sceneSvg(spec)))
      .removeAlpha()
      .raw()
      .toBuffer(),
  );
  if (spec.texture) await addTexture(pixels, width, height, spec.texture);
  if (spec.noise > 0) addNoise(pixels, spec.noise, sceneRandom(2, noiseSeed));
  let image = sharp(pixels, { raw: { width, height, channels: 3 } });
  if (spec.blur >= 0.3) image = image.blur(spec.blur);
  return new Uint8Array(await image.jpeg({ quality: spec.jpegQuality }).toBuffer());
}

/** Per pixel, 0 or 1 + the index of the topmost shape whose rings (even-odd) contain the pixel's centre. */
export function ownerMap(spec: SceneSpec): Uint8Array {
  const owner = new Uint8Array(spec.width * spec.height);
  spec.shapes.forEach((shape, i) => {
    fillRings(shape.rings, spec.width, spec.height, (y, x0, x1) => owner.fill(i + 1, y * spec.width + x0, y * spec.width + x1));
  });
  return owner;
}

/** The labels of `spec`: each shape's class, rings and the bounds of its visible pixels; a shape with none visible is left out. */
export function sceneInstances(spec: SceneSpec, owner: Uint8Array): SceneInstance[] {
  const bounds = spec.shapes.map((): Bounds => [Infinity, Infinity, -Infinity, -Infinity]);
  for (let y = 0, i = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++, i++) {
      const o = owner[i]!;
      if (o === 0) continue;
      const b = bounds[o - 1]!;
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x + 1 > b[2]) b[2] = x + 1;
      if (y + 1 > b[3]) b[3] = y + 1;
    }
  }
  return spec.shapes.flatMap((shape, i) => {
    const b = bounds[i]!;
    if (b[0] === Infinity) return [];
    return [{ classId: shape.classId, className: SHAPE_CLASSES[shape.classId]!, shape: i, box: b, rings: shape.rings }];
  });
}

/** Renders a scene from a spec: JPEG bytes, labels and the owner map. */
export async function renderScene(spec: SceneSpec, noiseSeed: number): Promise<Scene> {
  const owner = ownerMap(spec);
  return { spec, jpeg: await renderSceneJpeg(spec, noiseSeed), instances: sceneInstances(spec, owner), owner };
}

export function renderDetectionScene(seed: number): Promise<Scene> {
  return renderScene(detectionSceneSpec(seed), seed);
}

export async function renderClassificationScene(seed: number): Promise<ClassificationScene> {
  const spec = classificationSceneSpec(seed);
  return { spec, jpeg: await renderSceneJpeg(spec, -1 - seed), classId: spec.shapes[0]!.classId };
}

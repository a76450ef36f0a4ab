// What DECODE_AT_REDUCED_SIZE saves per image: decode and preprocessing into a model input (src/vision/preprocess.ts
// preprocessInto), one thread, full decode and reduced decode alternated, for the feed's images and a few model inputs.
//
//   nice -n 10 bun bench/reduced-decode-cost.ts [--rounds 15]
import { parseArgs } from "node:util";
import { setDecodeSettings } from "../src/vision/decode.ts";
import { parsePreprocessing } from "../src/vision/preprocess-config.ts";
import { preprocessInto } from "../src/vision/preprocess.ts";
import { keepLargeBuffers } from "../src/workers/memory-release.ts";
import { feedImages } from "./images.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "15" } } });
// As the server does by default (MALLOC_KEEP_LARGE_BUFFERS): otherwise the full decode's fresh pages dominate.
keepLargeBuffers();
const NO_SWITCHES = { disableAutoOrient: false, disableContrast: false, disableGrayscale: false, disableStaticCrop: false };
const models = [
  { name: "640x640 stretch", config: parsePreprocessing({}), input: { width: 640, height: 640, mean: [0, 0, 0], std: [1, 1, 1] } as const },
  {
    name: "640x640 letterbox",
    config: parsePreprocessing({ resize: { enabled: true, format: "Fit (black edges) in" } }),
    input: { width: 640, height: 640, mean: [0, 0, 0], std: [1, 1, 1] } as const,
  },
  { name: "224x224 stretch", config: parsePreprocessing({}), input: { width: 224, height: 224, mean: [0, 0, 0], std: [1, 1, 1] } as const },
];
const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `${sorted[0]!.toFixed(1)} / ${sorted[sorted.length >> 1]!.toFixed(1)}`;
};
console.log("| image | model input | full decode ms, min / median | reduced ms, min / median |");
console.log("| --- | --- | --- | --- |");
for (const image of await feedImages(["1920x1080", "4032x3024"])) {
  for (const model of models) {
    const target = new Float32Array(3 * model.input.width * model.input.height);
    const times: Record<"full" | "reduced", number[]> = { full: [], reduced: [] };
    for (let round = 0; round <= Number(values.rounds); round++) {
      for (const mode of ["full", "reduced"] as const) {
        setDecodeSettings({ maxImagePixels: 50_000_000, decodeAtReducedSize: mode === "reduced" });
        const started = performance.now();
        await preprocessInto(image.jpeg, model.config, NO_SWITCHES, model.input, target);
        // The first round warms up.
        if (round > 0) times[mode].push(performance.now() - started);
      }
      Bun.gc(true);
    }
    console.log(`| ${image.width}x${image.height} | ${model.name} | ${summary(times.full)} | ${summary(times.reduced)} |`);
  }
}

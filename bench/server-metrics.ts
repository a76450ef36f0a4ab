// Server metrics as the benchmark reads them: /metrics scraped into series -> value, and what changed between two scrapes.

/** Series line (name with labels) -> value. */
export type MetricsScrape = Map<string, number>;

export async function scrapeMetrics(url: string): Promise<MetricsScrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: MetricsScrape = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

const delta = (before: MetricsScrape, after: MetricsScrape, series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0);

/** Batch size -> ONNX Runtime calls of that size between two scrapes, ascending by size. */
export function batchSizesBetween(before: MetricsScrape, after: MetricsScrape, modelId: string): Map<number, number> {
  const sizes = new Map<number, number>();
  const pattern = /^inference_batches_by_size_total\{model_id="(.*)",size="(\d+)"\}$/;
  for (const series of after.keys()) {
    const m = pattern.exec(series);
    if (!m || m[1] !== modelId) continue;
    const n = delta(before, after, series);
    if (n > 0) sizes.set(Number(m[2]), n);
  }
  return new Map([...sizes].sort(([a], [b]) => a - b));
}

export const PIPELINE_STAGES = ["queue_wait", "preprocess", "batch_wait", "inference", "postprocess"] as const;

/** Mean milliseconds per image in each pipeline stage between two scrapes (NaN for a stage no image passed). */
export function stageMeansBetween(before: MetricsScrape, after: MetricsScrape, modelId: string): Record<(typeof PIPELINE_STAGES)[number], number> {
  const means = {} as Record<(typeof PIPELINE_STAGES)[number], number>;
  for (const stage of PIPELINE_STAGES) {
    const labels = `{model_id="${modelId}",stage="${stage}"}`;
    const seconds = delta(before, after, `inference_stage_seconds_sum${labels}`);
    const count = delta(before, after, `inference_stage_seconds_count${labels}`);
    means[stage] = count > 0 ? (seconds / count) * 1000 : Number.NaN;
  }
  return means;
}

/** The arena size of a loaded model (`arena_bytes`), NaN when the scrape has none. */
export function arenaBytes(scrape: MetricsScrape, modelId: string): number {
  return scrape.get(`arena_bytes{model_id="${modelId}"}`) ?? Number.NaN;
}

/** One thread's memory as /metrics exports it (thread_external_memory_bytes, thread_paced_collections_total). */
export interface ThreadMemoryReading {
  externalBytes: number;
  pacedCollections: number;
}

/** Each thread's memory in a scrape, by thread label (`http`, `vision-<n>`). */
export function threadMemoryReadings(scrape: MetricsScrape): Map<string, ThreadMemoryReading> {
  const readings = new Map<string, ThreadMemoryReading>();
  for (const [series, value] of scrape) {
    const m = /^thread_(external_memory_bytes|paced_collections_total)\{thread="([^"]+)"\}$/.exec(series);
    if (!m) continue;
    const reading = readings.get(m[2]!) ?? { externalBytes: 0, pacedCollections: 0 };
    if (m[1] === "external_memory_bytes") reading.externalBytes = value;
    else reading.pacedCollections = value;
    readings.set(m[2]!, reading);
  }
  return readings;
}

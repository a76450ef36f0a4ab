// Prometheus metric families (counter, gauge, histogram) keyed by label values, and their text exposition (format 0.0.4).
//
// Recording is on the request path, so a series is found by one Map lookup on its label
// values joined; the label text is built once, when the series first appears.

/** A label value as the exposition format writes it inside double quotes. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A number as Prometheus writes it (`+Inf`, `-Inf`, `NaN` spelled out). */
function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

abstract class MetricFamily<Series, Label extends string> {
  protected readonly series = new Map<string, { labels: string; data: Series }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: "counter" | "gauge" | "histogram",
    private readonly labelNames: readonly Label[],
  ) {}

  /** Forgets every series (for values sampled afresh at each scrape). */
  reset(): void {
    this.series.clear();
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, data } of this.series.values()) this.renderSeries(labels, data, lines);
    return lines;
  }

  protected abstract create(): Series;
  protected abstract renderSeries(labels: string, data: Series, lines: string[]): void;

  protected seriesFor(labels: Readonly<Record<Label, string>>): Series {
    const values = this.labelNames.map((name) => labels[name]);
    const key = values.join("\u0000");
    let entry = this.series.get(key);
    if (!entry) {
      const text = this.labelNames.map((name, i) => `${name}="${escapeLabelValue(values[i]!)}"`).join(",");
      entry = { labels: text, data: this.create() };
      this.series.set(key, entry);
    }
    return entry.data;
  }
}

/** Braces around label text, or nothing when a series has no labels. */
const braces = (labels: string) => (labels ? `{${labels}}` : "");

/** A value that only goes up (or, for a sampled total such as worker restarts, is set to the source's count). */
export class Counter<Label extends string = never> extends MetricFamily<{ value: number }, Label> {
  constructor(name: string, help: string, labelNames: readonly Label[] = []) {
    super(name, help, "counter", labelNames);
  }

  inc(labels: Readonly<Record<Label, string>>, by = 1): void {
    this.seriesFor(labels).value += by;
  }

  set(labels: Readonly<Record<Label, string>>, value: number): void {
    this.seriesFor(labels).value = value;
  }

  protected create() {
    return { value: 0 };
  }

  protected renderSeries(labels: string, data: { value: number }, lines: string[]): void {
    lines.push(`${this.name}${braces(labels)} ${formatValue(data.value)}`);
  }
}

/** A value that goes up and down. */
export class Gauge<Label extends string = never> extends MetricFamily<{ value: number }, Label> {
  constructor(name: string, help: string, labelNames: readonly Label[] = []) {
    super(name, help, "gauge", labelNames);
  }

  set(labels: Readonly<Record<Label, string>>, value: number): void {
    this.seriesFor(labels).value = value;
  }

  protected create() {
    return { value: 0 };
  }

  protected renderSeries(labels: string, data: { value: number }, lines: string[]): void {
    lines.push(`${this.name}${braces(labels)} ${formatValue(data.value)}`);
  }
}

interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last entry is the +Inf bucket. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** Observations counted into buckets by upper bound (`le`), with their sum and count. */
export class Histogram<Label extends string = never> extends MetricFamily<HistogramSeries, Label> {
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly Label[], bounds: readonly number[]) {
    super(name, help, "histogram", labelNames);
    this.bounds = [...bounds].sort((a, b) => a - b);
  }

  observe(labels: Readonly<Record<Label, string>>, value: number): void {
    const s = this.seriesFor(labels);
    let bucket = 0;
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++;
    s.counts[bucket]!++;
    s.sum += value;
    s.count++;
  }

  protected create(): HistogramSeries {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  protected renderSeries(labels: string, data: HistogramSeries, lines: string[]): void {
    const prefix = labels ? `${labels},` : "";
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += data.counts[i]!;
      lines.push(`${this.name}_bucket{${prefix}le="${formatValue(bound)}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${data.count}`);
    lines.push(`${this.name}_sum${braces(labels)} ${formatValue(data.sum)}`);
    lines.push(`${this.name}_count${braces(labels)} ${data.count}`);
  }
}

/** The exposition text of several families. */
export function exposition(families: readonly { render(): string[] }[]): string {
  return `${families.flatMap((f) => f.render()).join("\n")}\n`;
}

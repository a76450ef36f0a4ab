// Line charts as standalone SVG text: series of (x, y) points on linear or log axes, with a legend.

export interface ChartSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color: string;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  xScale: "linear" | "log";
  yScale: "linear" | "log";
  series: readonly ChartSeries[];
  /** Horizontal reference lines, e.g. the bare model's ceiling. */
  references?: readonly { name: string; y: number; color: string }[];
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 72, right: 200, top: 44, bottom: 56 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function formatTick(v: number): string {
  if (v >= 10_000) return `${v / 1000}k`;
  if (v >= 1) return String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(2)));
}

/** Round tick values covering [min, max]: powers of ten on a log axis, 1-2-5 steps on a linear one. */
function ticks(min: number, max: number, scale: "linear" | "log"): number[] {
  if (scale === "log") {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
    return out;
  }
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function axisRange(values: number[], scale: "linear" | "log"): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v) && (scale === "linear" || v > 0));
  if (finite.length === 0) return scale === "log" ? [1, 10] : [0, 1];
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  if (scale === "log") return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi === lo ? hi * 10 : hi))];
  // The last round tick at or below the headroom can fall short of the data: go one step past it.
  const headroom = hi === 0 ? 1 : hi * 1.08;
  const top = ticks(0, headroom, "linear");
  const last = top[top.length - 1]!;
  return [0, last >= headroom ? last : last + (top[1]! - top[0]!)];
}

export function renderLineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...chart.series.flatMap((s) => s.points.map((p) => p[1])), ...(chart.references ?? []).map((r) => r.y)];
  const [x0, x1] = chart.xScale === "log" ? [Math.min(...xs), Math.max(...xs)] : axisRange(xs, "linear");
  const [y0, y1] = axisRange(ys, chart.yScale);
  const t = (v: number, lo: number, hi: number, scale: "linear" | "log") =>
    scale === "log" ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo) || 1) : (v - lo) / (hi - lo || 1);
  const px = (x: number) => MARGIN.left + t(x, x0, x1, chart.xScale) * PLOT_W;
  const py = (y: number) => MARGIN.top + PLOT_H - t(y, y0, y1, chart.yScale) * PLOT_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  // x ticks: the data's own x values on a log axis (concurrency levels), round values on a linear one.
  const xTicks = chart.xScale === "log" ? [...new Set(xs)].sort((a, b) => a - b) : ticks(x0, x1, "linear");
  for (const x of xTicks) {
    out.push(`<line x1="${px(x)}" y1="${MARGIN.top}" x2="${px(x)}" y2="${MARGIN.top + PLOT_H}" stroke="#eee"/>`);
    out.push(`<text x="${px(x)}" y="${MARGIN.top + PLOT_H + 16}" text-anchor="middle">${formatTick(x)}</text>`);
  }
  for (const y of ticks(y0, y1, chart.yScale)) {
    if (y < y0 || y > y1) continue;
    out.push(`<line x1="${MARGIN.left}" y1="${py(y)}" x2="${MARGIN.left + PLOT_W}" y2="${py(y)}" stroke="#eee"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${py(y) + 4}" text-anchor="end">${formatTick(y)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  const legend: { name: string; color: string; dashed: boolean }[] = [];
  for (const r of chart.references ?? []) {
    out.push(`<line x1="${MARGIN.left}" y1="${py(r.y)}" x2="${MARGIN.left + PLOT_W}" y2="${py(r.y)}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="2 3"/>`);
    legend.push({ name: r.name, color: r.color, dashed: true });
  }
  for (const s of chart.series) {
    const points = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (chart.yScale === "linear" || y > 0));
    if (points.length === 0) continue;
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")}"/>`);
    for (const [x, y] of points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    legend.push({ name: s.name, color: s.color, dashed: s.dashed ?? false });
  }
  legend.forEach((item, i) => {
    const y = MARGIN.top + 10 + i * 20;
    const x = MARGIN.left + PLOT_W + 14;
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${item.color}" stroke-width="2"${item.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
    out.push(`<text x="${x + 30}" y="${y + 4}">${escapeXml(item.name)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

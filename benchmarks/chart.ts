// throughput.svg: papers/s against sequence length at batch 8, one line per engine, both axes logarithmic.
import type { RunResults } from "./runResults";
import { cell } from "./runResults";

const W = 800;
const H = 400;
const PAD = { left: 60, right: 270, top: 30, bottom: 45 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
export const CHART_BATCH = 8;

export function renderChart(r: RunResults): string {
  const fixed = r.workloads.filter((w) => typeof w.length === "number" && w.batchSize === CHART_BATCH && !w.name.endsWith("-sample"));
  const lines = r.engines
    .map((e) => ({
      label: e.label,
      points: fixed.flatMap((w) => {
        const c = cell(r, e, w);
        return c ? [[w.length as number, c.papersPerSecond]] : [];
      }),
    }))
    .filter((l) => l.points.length > 0);
  const xs = fixed.map((w) => w.length as number);
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]));
  const [x0, x1] = [Math.log2(Math.min(...xs)), Math.log2(Math.max(...xs))];
  const [y0, y1] = [Math.floor(Math.log10(Math.min(...ys))), Math.ceil(Math.log10(Math.max(...ys)))];
  const px = (x: number) => PAD.left + ((Math.log2(x) - x0) / Math.max(x1 - x0, 1)) * (W - PAD.left - PAD.right);
  const py = (y: number) => H - PAD.bottom - ((Math.log10(y) - y0) / Math.max(y1 - y0, 1)) * (H - PAD.top - PAD.bottom);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${PAD.left}" y="18" font-size="14">Papers/s vs sequence length, batch ${CHART_BATCH} (${r.date.slice(0, 10)})</text>`);
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${10 ** e}</text>`);
  }
  for (const x of xs)
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#eee"/><text x="${px(x)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${x}</text>`);
  out.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 8}" text-anchor="middle">tokens per paper</text>`);
  out.push(`<text transform="translate(16 ${(PAD.top + H - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">papers/s (log)</text>`);
  lines.forEach((l, i) => {
    const color = COLORS[i % COLORS.length];
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${l.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")}"/>`);
    for (const [x, y] of l.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    out.push(`<rect x="${W - PAD.right + 12}" y="${PAD.top + i * 20}" width="12" height="3" fill="${color}"/><text x="${W - PAD.right + 30}" y="${PAD.top + i * 20 + 5}">${l.label}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

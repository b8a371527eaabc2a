// A log-log line chart as a standalone SVG (no plotting library): one panel per series group.

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  series: Series[];
}

const W = 520;
const H = 380;
const M = { l: 64, r: 16, t: 34, b: 48 };

function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number): string {
  if (v >= 1000) return `${v / 1000}k`.replace('.0k', 'k');
  return String(v);
}

function panelSvg(p: Panel, ox: number, xs: number[], yLo: number, yHi: number): string {
  const xLo = Math.min(...xs);
  const xHi = Math.max(...xs);
  const px = (x: number): number => ox + M.l + ((Math.log(x) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo) || 1)) * (W - M.l - M.r);
  const py = (y: number): number => M.t + (1 - (Math.log(y) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo) || 1)) * (H - M.t - M.b);
  const parts: string[] = [];
  parts.push(`<text x="${ox + W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${esc(p.title)}</text>`);
  for (const t of ticks(yLo, yHi)) {
    if (t < yLo / 1.0001 || t > yHi * 1.0001) continue;
    parts.push(`<line x1="${ox + M.l}" x2="${ox + W - M.r}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${ox + M.l - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${t >= 1000 ? `${t / 1000} s` : `${t} ms`}</text>`);
  }
  for (const x of xs) {
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${M.t}" y2="${H - M.b}" stroke="#eee"/>`);
    parts.push(`<text x="${px(x)}" y="${H - M.b + 16}" text-anchor="middle" font-size="11">${fmt(x)}</text>`);
  }
  parts.push(`<text x="${ox + (M.l + W - M.r) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">tokens N (log)</text>`);
  parts.push(`<rect x="${ox + M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#888"/>`);
  for (const s of p.series) {
    const pts = s.points.filter((q) => q.y > 0 && Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) continue;
    const d = pts.map((q, i) => `${i ? 'L' : 'M'}${px(q.x).toFixed(1)},${py(q.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`);
    for (const q of pts) parts.push(`<circle cx="${px(q.x).toFixed(1)}" cy="${py(q.y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  return parts.join('\n');
}

/** Panels side by side, shared y range, legend underneath. */
export function lineChartSvg(panels: Panel[], subtitle: string): string {
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points)).filter((q) => q.y > 0 && Number.isFinite(q.y));
  const xs = [...new Set(all.map((q) => q.x))].sort((a, b) => a - b);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...all.map((q) => q.y))));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...all.map((q) => q.y))));
  const labels = new Map<string, Series>();
  for (const p of panels) for (const s of p.series) labels.set(s.label, s);
  const legendRows = Math.ceil(labels.size / 4);
  const totalW = W * panels.length;
  const totalH = H + 24 + legendRows * 18 + 8;
  const legend = [...labels.values()].map((s, i) => {
    const x = 20 + (i % 4) * ((totalW - 40) / 4);
    const y = H + 28 + Math.floor(i / 4) * 18;
    return `<line x1="${x}" x2="${x + 26}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/><text x="${x + 32}" y="${y + 4}" font-size="11">${esc(s.label)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalW}" height="${totalH}" viewBox="0 0 ${totalW} ${totalH}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...panels.map((p, i) => panelSvg(p, i * W, xs, yLo, yHi)),
    `<text x="${totalW / 2}" y="${H + 12}" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

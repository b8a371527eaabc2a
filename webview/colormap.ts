/**
 * Perceptual colormaps as 256-entry RGB lookup tables (built once from d3-scale-chromatic), so painting a
 * token is a table read, not a string parse. Heat colours are theme-independent by design.
 */
import { interpolateInferno, interpolateViridis, interpolateCividis } from 'd3-scale-chromatic';

export type ColormapId = 'viridis' | 'inferno' | 'cividis';
export const COLORMAPS: readonly ColormapId[] = ['viridis', 'inferno', 'cividis'];

export type Lut = Uint8Array; // 256 × RGB

function parseHex(c: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
  const r = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(c);
  if (r) return [Number(r[1]), Number(r[2]), Number(r[3])];
  return [0, 0, 0];
}

const cache = new Map<ColormapId, Lut>();

export function lut(id: ColormapId): Lut {
  const hit = cache.get(id);
  if (hit) return hit;
  const f = id === 'inferno' ? interpolateInferno : id === 'cividis' ? interpolateCividis : interpolateViridis;
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) out.set(parseHex(f(i / 255)), i * 3);
  cache.set(id, out);
  return out;
}

/** Index into a LUT for t ∈ [0,1] (clamped; NaN → 0). */
export function lutIndex(t: number): number {
  if (!(t > 0)) return 0;
  if (t >= 1) return 255;
  return Math.round(t * 255);
}

export function lutCss(table: Lut, t: number): string {
  const k = lutIndex(t) * 3;
  return `rgb(${table[k]}, ${table[k + 1]}, ${table[k + 2]})`;
}

/** Okabe–Ito colours (colour-blind safe) for F³A's stages. */
export const STAGE_COLORS: Readonly<Record<string, string>> = {
  loc: '#E69F00',
  comp: '#56B4E9',
  rec: '#CC79A7',
};

export const STAGE_NAMES: Readonly<Record<string, string>> = {
  loc: 'localization + refinement',
  comp: 'competition',
  rec: 'recovery',
};

/** A distinct colour per category id (prototype, cluster): golden-angle hues at fixed lightness. */
export function categoricalRgb(id: number): [number, number, number] {
  const h = ((id * 137.508) % 360) / 60;
  const s = 0.65;
  const l = 0.55;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] = h < 1 ? [c, x, 0] : h < 2 ? [x, c, 0] : h < 3 ? [0, c, x] : h < 4 ? [0, x, c] : h < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

export function rgbCss([r, g, b]: readonly [number, number, number], a = 1): string {
  return a === 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${a})`;
}

export function hexToRgb(hex: string): [number, number, number] {
  return parseHex(hex);
}

// One method's result drawn on the model's view of the image: the score heatmap blended in a perceptual
// colormap (viridis), dropped tokens dimmed, kept regions outlined. Pure pixels; PNG encoding is elsewhere.
import { interpolateViridis } from 'd3-scale-chromatic';

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved 8-bit RGB, row-major. */
  rgb: Uint8Array;
}

export interface OverlayInput {
  grid: readonly [number, number];
  keep: readonly number[];
  /** Per-token score (higher = more keep-worthy) or null. */
  scores: readonly (number | null)[] | null;
}

/** Heat weight, dimming of dropped tokens, outline colour. */
const HEAT_ALPHA = 0.5;
const DROPPED_DIM = 0.42;
const OUTLINE: readonly [number, number, number] = [255, 255, 255];

let viridis: Uint8Array | null = null;

function viridisLut(): Uint8Array {
  if (viridis) return viridis;
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(interpolateViridis(i / 255));
    if (m) out.set([parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)], i * 3);
  }
  viridis = out;
  return out;
}

/**
 * Scores → [0,1] by rank (ties share their mean rank). Methods select by ordering, and raw scores are
 * often heavy-tailed (softmax attention), which a min–max scale would flatten to one colour.
 * Missing or non-finite scores get 0.
 */
export function rankHeat(scores: readonly (number | null)[]): Float64Array {
  const n = scores.length;
  const heat = new Float64Array(n);
  const idx = Array.from({ length: n }, (_, i) => i).filter((i) => Number.isFinite(scores[i]));
  idx.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  const m = idx.length;
  for (let s = 0; s < m; ) {
    let e = s;
    while (e + 1 < m && scores[idx[e + 1]] === scores[idx[s]]) e++;
    const v = m > 1 ? (s + e) / 2 / (m - 1) : 1;
    for (let j = s; j <= e; j++) heat[idx[j]] = v;
    s = e + 1;
  }
  return heat;
}

/** Draws the overlay onto a copy of `base`; the token grid is stretched over the whole image. */
export function renderOverlay(base: RgbImage, o: OverlayInput): RgbImage {
  const [gh, gw] = o.grid;
  const { width: W, height: H } = base;
  const n = gh * gw;
  const kept = new Uint8Array(n);
  for (const k of o.keep) if (k >= 0 && k < n) kept[k] = 1;
  const heat = o.scores && o.scores.length >= n ? rankHeat(o.scores.slice(0, n)) : null;
  const lut = viridisLut();
  const out = new Uint8Array(base.rgb.length);
  // Column/row of the token each pixel lies in.
  const colOf = Int32Array.from({ length: W }, (_, x) => Math.min(gw - 1, Math.floor((x * gw) / W)));
  const rowOf = Int32Array.from({ length: H }, (_, y) => Math.min(gh - 1, Math.floor((y * gh) / H)));
  const line = Math.max(1, Math.round(Math.min(W / gw, H / gh) / 10));
  for (let y = 0; y < H; y++) {
    const r = rowOf[y];
    for (let x = 0; x < W; x++) {
      const c = colOf[x];
      const t = r * gw + c;
      const p = (y * W + x) * 3;
      let r0 = base.rgb[p];
      let g0 = base.rgb[p + 1];
      let b0 = base.rgb[p + 2];
      if (heat) {
        const q = Math.round(heat[t] * 255) * 3;
        r0 = r0 * (1 - HEAT_ALPHA) + lut[q] * HEAT_ALPHA;
        g0 = g0 * (1 - HEAT_ALPHA) + lut[q + 1] * HEAT_ALPHA;
        b0 = b0 * (1 - HEAT_ALPHA) + lut[q + 2] * HEAT_ALPHA;
      }
      if (!kept[t]) {
        r0 *= DROPPED_DIM;
        g0 *= DROPPED_DIM;
        b0 *= DROPPED_DIM;
      } else if (onBoundary(x, y, r, c)) [r0, g0, b0] = OUTLINE;
      out[p] = Math.round(r0);
      out[p + 1] = Math.round(g0);
      out[p + 2] = Math.round(b0);
    }
  }
  return { width: W, height: H, rgb: out };

  // A kept cell's pixel within `line` of an edge shared with a dropped cell (or the image border).
  function onBoundary(x: number, y: number, r: number, c: number): boolean {
    const x0 = Math.floor((c * W) / gw);
    const x1 = Math.floor(((c + 1) * W) / gw);
    const y0 = Math.floor((r * H) / gh);
    const y1 = Math.floor(((r + 1) * H) / gh);
    const open = (rr: number, cc: number): boolean => rr < 0 || cc < 0 || rr >= gh || cc >= gw || !kept[rr * gw + cc];
    return (x - x0 < line && open(r, c - 1)) || (x1 - 1 - x < line && open(r, c + 1)) || (y - y0 < line && open(r - 1, c)) || (y1 - 1 - y < line && open(r + 1, c));
  }
}

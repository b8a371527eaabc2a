// F³A Stage 0 (§4.3 [PROPOSED]): centring, frozen sparse sensing heads, winner-take-all tags, odour map.
import type { Matrix } from '../../bundle/tensor.ts';
import { dot, npSum } from './npsum.ts';
import { headWiring, tagHeads, tagRows, wtaShape, type WtaShape } from './wta.ts';

export const HEADS = 4;

export type SensingMode = 'sparse' | 'dense' | 'no-cue';

export interface Sensing {
  readonly mode: SensingMode;
  /** Final odour o ∈ [0,1]^N. */
  readonly odour: Float64Array;
  /** Odour before min–max normalisation. */
  readonly raw: Float64Array;
  /** Per-head odour maps o_h (sparse: one per head; dense / no-cue: the single map). */
  readonly perHead: Float64Array[];
  /** Best-matching cue per token (−1 without cues). */
  readonly argmaxCue: Int32Array;
  /** Centred, unit-length tokens ṽ (N×d, row-major): stages 3–4 use ṽ·ṽ. */
  readonly centred: Float64Array;
  readonly wta: WtaShape | null;
}

const f64 = (x: Float32Array | Float64Array): Float64Array => (x instanceof Float64Array ? x : new Float64Array(x));

/** Column mean over the rows of X (rows added in order, NumPy's axis-0 reduction; four rows per pass, same sums). */
function columnMean(X: Float64Array, rows: number, d: number): Float64Array {
  const mu = new Float64Array(d);
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    const o = i * d;
    for (let k = 0; k < d; k++) mu[k] = mu[k] + X[o + k] + X[o + d + k] + X[o + 2 * d + k] + X[o + 3 * d + k];
  }
  for (; i < rows; i++) {
    const o = i * d;
    for (let k = 0; k < d; k++) mu[k] += X[o + k];
  }
  for (let k = 0; k < d; k++) mu[k] /= rows;
  return mu;
}

/**
 * Rows of X minus `mu` (or as they are when null), each scaled to unit length: the norm from NumPy's pairwise
 * sum of squares, then a division per coordinate (a zero row stays zero).
 */
function unitRows(X: Float64Array, rows: number, d: number, mu: Float64Array | null): Float64Array {
  const out = new Float64Array(rows * d);
  const sq = new Float64Array(d);
  const zero = mu ?? new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    for (let k = 0; k < d; k++) {
      // Without mu: x − 0 is exactly x.
      const v = X[o + k] - zero[k];
      out[o + k] = v;
      sq[k] = v * v;
    }
    const norm = Math.sqrt(npSum(sq));
    if (norm > 0) for (let k = 0; k < d; k++) out[o + k] /= norm;
    else out.fill(0, o, o + d);
  }
  return out;
}

/** For each cell c, the cues whose tag contains it: cues[start[c] … start[c+1]) (overlap counting becomes a sparse walk). */
function cuesByCell(cueTags: Int32Array[], m: number): { start: Int32Array; cues: Int32Array } {
  const start = new Int32Array(m + 1);
  for (const t of cueTags) for (const c of t) start[c + 1]++;
  for (let c = 0; c < m; c++) start[c + 1] += start[c];
  const cues = new Int32Array(start[m]);
  const fill = start.slice(0, m);
  cueTags.forEach((t, u) => t.forEach((c) => (cues[fill[c]++] = u)));
  return { start, cues };
}

/** Min–max to [0,1]; a constant map becomes 0.5 everywhere. */
export function minMax(x: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  return range === 0 ? new Float64Array(x.length).fill(0.5) : x.map((v) => (v - lo) / range);
}

/** Stage 0. `cue` null (or with no rows) selects the no-cue branch (§4.3 step 5). */
export function sense(V: Matrix, cue: Matrix | null, dense: boolean): Sensing {
  const n = V.rows;
  const d = V.cols;
  // One element type through the loops below (float32 inputs widen exactly).
  const data = f64(V.data);
  const mu = columnMean(data, n, d);
  const centred = unitRows(data, n, d, mu);
  const argmaxCue = new Int32Array(n).fill(-1);

  if (!cue || cue.rows === 0) {
    // Text-agnostic distinctiveness: −x̂_i · normalize(mean_j x̂_j).
    const xh = unitRows(data, n, d, null);
    const dir = unitRows(columnMean(xh, n, d), 1, d, null);
    const raw = Float64Array.from({ length: n }, (_, i) => -dot(xh, i * d, dir, 0, d));
    return { mode: 'no-cue', odour: minMax(raw), raw, perHead: [raw], argmaxCue, centred, wta: null };
  }

  const M = cue.rows;
  const qt = unitRows(f64(cue.data), M, d, mu);

  if (dense) {
    // §4.3 step 6: o_i = max_u cos(q̃_u, ṽ_i) (identical for every head).
    const raw = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = -Infinity;
      for (let u = 0; u < M; u++) {
        const c = dot(qt, u * d, centred, i * d, d);
        if (c > best) {
          best = c;
          argmaxCue[i] = u;
        }
      }
      raw[i] = best;
    }
    return { mode: 'dense', odour: minMax(raw), raw, perHead: [raw], argmaxCue, centred, wta: null };
  }

  const shape = wtaShape(d);
  const acc = new Float64Array(n);
  const cueVotes = new Int32Array(n * M);
  const perHead: Float64Array[] = [];
  const counts = new Int32Array(M);
  const heads = Array.from({ length: HEADS }, (_, h) => headWiring(h, d, shape));
  const allTags = tagHeads(centred, n, d, heads, shape);
  for (let h = 0; h < HEADS; h++) {
    const { start, cues } = cuesByCell(tagRows(qt, M, d, heads[h], shape), shape.m);
    const tokenTags = allTags[h];
    const oh = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      counts.fill(0);
      const t = tokenTags[i];
      for (let a = 0; a < t.length; a++) for (let b = start[t[a]]; b < start[t[a] + 1]; b++) counts[cues[b]]++;
      let best = 0;
      for (let u = 0; u < M; u++) {
        cueVotes[i * M + u] += counts[u];
        if (counts[u] > best) best = counts[u];
      }
      // max_u |T(q̃_u) ∩ T(ṽ_i)| / k, then added head by head (the pinned order).
      oh[i] = best / shape.k;
      acc[i] += oh[i];
    }
    perHead.push(oh);
  }
  const raw = acc.map((v) => v / HEADS);
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let u = 0; u < M; u++) {
      if (cueVotes[i * M + u] > best) {
        best = cueVotes[i * M + u];
        argmaxCue[i] = u;
      }
    }
  }
  return { mode: 'sparse', odour: minMax(raw), raw, perHead, argmaxCue, centred, wta: shape };
}

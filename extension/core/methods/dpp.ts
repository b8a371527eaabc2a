import { gramRow } from '../numeric/gram.ts';

export interface DppSelection {
  /** Picks in order. */
  readonly order: number[];
  /** d²_j at each pick = det(L_{S∪j}) / det(L_S), the marginal gain. */
  readonly gains: number[];
  /** Conditional variance d² left for every token after the last pick (picked tokens: 0). */
  readonly residual: Float64Array;
  /** Step at which the kernel ran out of rank (best d² ≤ 0) and the rest was filled by relevance, or -1. */
  readonly exhaustedAt: number;
}

/**
 * CDPruner's min–max normalisation (r − min + 1e-6) / (max − min), with min/max taken over `over` (default:
 * every entry) and applied to every entry. A flat relevance maps to all ones (the official code divides by 0).
 */
export function minMaxRelevance(raw: ArrayLike<number>, over?: readonly number[]): Float64Array {
  let min = Infinity;
  let max = -Infinity;
  const idx = over ?? Array.from({ length: raw.length }, (_, i) => i);
  for (const i of idx) {
    if (raw[i] < min) min = raw[i];
    if (raw[i] > max) max = raw[i];
  }
  const out = new Float64Array(raw.length);
  const span = max - min;
  for (let i = 0; i < raw.length; i++) out[i] = span > 0 ? (raw[i] - min + 1e-6) / span : 1;
  return out;
}

/**
 * Greedy MAP of the DPP with kernel L = diag(r)·(X̂X̂ᵀ)·diag(r) (Chen et al. 2018 fast Cholesky update), as
 * CDPruner's `encode_images` runs it: j = argmax d² (first max), e = (L_j − Σ c_t[j]·c_t)/√d²_j,
 * d² −= e², d²_j = −∞. Kernel rows are built on demand from the unit rows `xn` [n,d], so no n×n matrix.
 */
export function greedyDpp(xn: Float64Array, n: number, d: number, r: Float64Array, t: number): DppSelection {
  const d2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += xn[i * d + k] * xn[i * d + k];
    d2[i] = r[i] * s * r[i];
  }
  const c = new Float64Array(t * n);
  const row = new Float64Array(n);
  const picked = new Uint8Array(n);
  const order: number[] = [];
  const gains: number[] = [];
  let exhaustedAt = -1;
  for (let step = 0; step < t; step++) {
    let j = -1;
    for (let i = 0; i < n; i++) if (!picked[i] && (j === -1 || d2[i] > d2[j])) j = i;
    const gain = d2[j];
    if (!(gain > 0)) {
      exhaustedAt = step;
      break;
    }
    order.push(j);
    gains.push(gain);
    picked[j] = 1;
    gramRow(xn, n, d, j, row);
    const inv = 1 / Math.sqrt(gain);
    const e = c.subarray(step * n, (step + 1) * n);
    for (let i = 0; i < n; i++) {
      let proj = 0;
      for (let s = 0; s < step; s++) proj += c[s * n + j] * c[s * n + i];
      e[i] = (r[j] * row[i] * r[i] - proj) * inv;
      d2[i] -= e[i] * e[i];
    }
    d2[j] = -Infinity;
  }
  if (exhaustedAt >= 0) {
    // Rank exhausted (√ of a non-positive d² would be NaN in the official code): fill by relevance.
    const rest = Array.from({ length: n }, (_, i) => i).filter((i) => !picked[i]);
    rest.sort((a, b) => r[b] - r[a] || a - b);
    for (const i of rest.slice(0, t - order.length)) {
      order.push(i);
      gains.push(0);
      picked[i] = 1;
    }
  }
  const residual = new Float64Array(n);
  for (let i = 0; i < n; i++) residual[i] = picked[i] ? 0 : d2[i];
  return { order, gains, residual, exhaustedAt };
}

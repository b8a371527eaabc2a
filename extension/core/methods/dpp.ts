import { kernelPlan } from '../numeric/gemm.ts';
import { cosineRows } from '../numeric/gram.ts';
import { type RowSource, rowGram } from '../numeric/row-gram.ts';
import { type DppStorage, DppWasm, projectScalar, updateScalar } from './dpp-wasm.ts';

export interface DppSelection {
  /** Picks in order. */
  readonly order: number[];
  /** d²_j at each pick = det(L_{S∪j}) / det(L_S), the marginal gain. */
  readonly gains: number[];
  /** Conditional variance d² left for every token after the last pick (picked tokens: 0). */
  readonly residual: Float64Array;
  /** Step at which the kernel ran out of rank (best d² ≤ the floor) and the rest was filled by relevance, or -1. */
  readonly exhaustedAt: number;
  /** The gain floor of this run: DPP_GAIN_FLOOR · max_i L_ii. */
  readonly floor: number;
}

/**
 * Gains at or below DPP_GAIN_FLOOR · max_i L_ii count as 0: the subset has saturated the kernel's rank (in
 * exact arithmetic every remaining gain is then exactly 0) and what is left is rounding — up to 6e-7 · max L_ii
 * measured with float32 similarity rows on low-rank bundles (d 23–4096, N 576–2880), ≈ 1e-13 in float64 —
 * which would otherwise pick the tail by noise that differs between backends and GEMM shapes. The floor sits
 * ≈ 17× above that noise, since gains just above it are not resolved in float32 either (a true 1.5e-6 came
 * out as 1.8e-6), and 30× below the smallest gain of the oracle fixtures (2.99e-4). A deviation from the
 * official code, which keeps picking by those float32 residues (docs/DECISIONS.md).
 */
export const DPP_GAIN_FLOOR = 1e-5;

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
 * Greedy MAP of the DPP with kernel L = diag(r)·S·diag(r), S the cosine Gram of unit rows `xn` [n,d]
 * (Chen et al. 2018 fast Cholesky update), as CDPruner's `encode_images` runs it: j = argmax d² (first max),
 * e = (L_j − Σ c_t[j]·c_t)/√d²_j, d² −= e², d²_j = −∞. Kept for callers holding unit rows; the method uses
 * greedyDppRows on a streamed Gram.
 */
export function greedyDpp(xn: Float64Array, n: number, d: number, r: Float64Array, t: number): DppSelection {
  const plan = kernelPlan((n * n * d) / 2);
  const u = cosineRows({ rows: n, cols: d, data: xn }, null, { backend: plan.backend, precision: 'f64' });
  return greedyDppRows(rowGram(u, { backend: plan.backend, precision: 'f64' }), u.self, r, t);
}

/**
 * The same greedy DPP over kernel rows from a RowGram (one row per pick, no n×n kernel unless the Gram's
 * layout holds one), in float64 arithmetic; the pick rows c are stored as `storage`. The projection
 * Σ_t c_t[j]·c_t[i] is formed before it is subtracted, as in the reference, summed over t ascending
 * (WebAssembly SIMD or TypeScript, bit-identical).
 */
export function greedyDppRows(gram: RowSource, self: Float64Array, r: Float64Array, t: number, storage: DppStorage = 'f64', threads = 1): DppSelection {
  const n = gram.n;
  // The per-pick passes run in WebAssembly SIMD when available, on buffers inside its memory (on `threads`
  // threads, each taking a share of the tokens: the same results).
  const wasm = DppWasm.load()?.buffers(n, t, storage, threads) ?? null;
  const d2 = wasm ? wasm.d2 : new Float64Array(n);
  let maxL = 0;
  for (let i = 0; i < n; i++) {
    d2[i] = r[i] * self[i] * r[i];
    if (d2[i] > maxL) maxL = d2[i];
  }
  const floor = DPP_GAIN_FLOOR * maxL;
  const c = wasm ? wasm.c : storage === 'f64' ? new Float64Array(t * n) : new Float32Array(t * n);
  const row = wasm ? wasm.row : new Float64Array(n);
  const proj = wasm ? wasm.proj : new Float64Array(n);
  if (wasm) wasm.r.set(r);
  const picked = new Uint8Array(n);
  const hint = { score: d2, skip: picked };
  const order: number[] = [];
  const gains: number[] = [];
  let exhaustedAt = -1;
  for (let step = 0; step < t; step++) {
    let j = -1;
    for (let i = 0; i < n; i++) if (!picked[i] && (j === -1 || d2[i] > d2[j])) j = i;
    const gain = d2[j];
    if (!(gain > floor)) {
      exhaustedAt = step;
      break;
    }
    order.push(j);
    gains.push(gain);
    picked[j] = 1;
    gram.row(j, row, hint);
    const inv = 1 / Math.sqrt(gain);
    const rj = r[j];
    // Σ_t c_t[j]·c_t (t ascending), then the update, in WebAssembly SIMD where available: faster than
    // onnxruntime's matrix–vector product, whose second thread pool would spin against the similarity GEMM's.
    if (wasm) wasm.step(step, j, rj, inv);
    else {
      projectScalar(c, n, step, j, proj);
      updateScalar(row, r, proj, c.subarray(step * n, (step + 1) * n), d2, n, rj, inv);
    }
    d2[j] = -Infinity;
  }
  if (exhaustedAt >= 0) {
    // Rank exhausted (only rounding left; √ of a non-positive d² would be NaN in the official code): fill by relevance.
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
  return { order, gains, residual, exhaustedAt, floor };
}

/**
 * Budget changes for score-ranked methods, computed in the webview: sort once per method, then a new
 * budget is a prefix of that order (O(n) per change, no sort). Pure functions, no DOM. The order and the
 * rounding are the methods' own (extension/shared/).
 */
import { rankDescending } from '../extension/shared/ranking.ts';
import { pyRound } from '../extension/shared/rounding.ts';

/** Token indices in the project-wide order (score desc, index asc, NaN last), as a typed array. */
export function rankOrder(scores: ArrayLike<number>): Int32Array {
  return Int32Array.from(rankDescending(scores));
}

/** Kept mask (1 = kept) for the first k tokens of `order`; k is clamped to [0, n]. Reuses `out` when given. */
export function maskFromOrder(order: Int32Array, k: number, out?: Uint8Array): Uint8Array {
  const n = order.length;
  const mask = out && out.length === n ? out : new Uint8Array(n);
  mask.fill(0);
  const kk = Math.max(0, Math.min(n, Math.floor(k)));
  for (let r = 0; r < kk; r++) mask[order[r]] = 1;
  return mask;
}

export function maskFromKeep(keep: readonly number[], n: number): Uint8Array {
  const mask = new Uint8Array(n);
  for (const i of keep) if (Number.isInteger(i) && i >= 0 && i < n) mask[i] = 1;
  return mask;
}

export function countKept(mask: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < mask.length; i++) c += mask[i];
  return c;
}

/** Kept indices (ascending) of a mask. */
export function keepFromMask(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

/**
 * Whether the method's own keep is exactly the top-|keep| of its scores; only then may the webview
 * re-rank it (a per-group budget, e.g. G-Prune on LLaVA-NeXT, is not a global top-k).
 */
export function isTopKOf(scores: ArrayLike<number>, keep: readonly number[]): boolean {
  const order = rankOrder(scores);
  const mask = maskFromOrder(order, keep.length);
  for (const i of keep) if (!mask[i]) return false;
  return new Set(keep).size === keep.length;
}

/** |A∩B| / |A∪B|; two empty sets count as identical (1). */
export function jaccard(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return union === 0 ? 1 : inter / union;
}

/** For each token, how many of the masks keep it. */
export function keepCounts(masks: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (const m of masks) for (let i = 0; i < n; i++) out[i] += m[i];
  return out;
}

/** Min and max of the finite values (0,0 when none). */
export function finiteRange(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/**
 * The redundancy-codebook keep rule (ALGORITHMS.md §3.4) for a live τ: mode A keeps r_i < τ; B keeps the
 * round(L·τ) smallest r; C/D drop the round(L(1−τ)) largest r (strict "<" against the k-th largest).
 * A drop count of 0 keeps every token (errata 4).
 */
export function codebookMask(r: ArrayLike<number>, mode: string, tau: number): Uint8Array {
  const L = r.length;
  const mask = new Uint8Array(L);
  if (mode === 'A') {
    for (let i = 0; i < L; i++) mask[i] = r[i] < tau ? 1 : 0;
    return mask;
  }
  const drop = pyRound(L * (1 - tau));
  if (drop <= 0) return mask.fill(1);
  if (mode === 'B') {
    const neg = Float64Array.from({ length: L }, (_, i) => -r[i]);
    return maskFromOrder(rankOrder(neg), pyRound(L * tau), mask);
  }
  const desc = rankOrder(r);
  const threshold = r[desc[Math.min(L, drop) - 1]];
  for (let i = 0; i < L; i++) mask[i] = r[i] < threshold ? 1 : 0;
  return mask;
}

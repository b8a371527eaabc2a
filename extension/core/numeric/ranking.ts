import { rankDescending } from '../../shared/ranking.ts';

// The order itself lives in extension/shared/ (the webview re-ranks with it too); re-exported for the core.
export { rankDescending, ranksFromOrder, ranksOf } from '../../shared/ranking.ts';

/** Indices sorted by (score asc, index asc). */
export function rankAscending(scores: ArrayLike<number>): number[] {
  const neg = Array.from(scores, (s) => -s);
  return rankDescending(neg);
}

/**
 * The top k indices by (score desc, index asc), returned in that order. The k-th largest value is found
 * with a native numeric sort of a copy, so only the k winners go through the comparator.
 */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const n = scores.length;
  const want = Math.max(0, Math.min(k, n));
  if (want === 0) return [];
  if (want === n || n < 64) return rankDescending(scores).slice(0, want);
  const work = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = scores[i];
    if (Number.isNaN(v)) return rankDescending(scores).slice(0, want);
    work[i] = v;
  }
  const kth = kthLargest(work, want);
  let above = 0;
  for (let i = 0; i < n; i++) if (scores[i] > kth) above++;
  // Every value above the k-th, then the lowest-index ties at it.
  let ties = want - above;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = scores[i];
    if (v > kth) out.push(i);
    else if (v === kth && ties > 0) {
      out.push(i);
      ties--;
    }
  }
  return out.sort((a, b) => (scores[a] !== scores[b] ? (scores[b] > scores[a] ? 1 : -1) : a - b));
}

/** The k-th largest value (1-based) of `a` by in-place quickselect (`a` is reordered); no NaN. */
export function kthLargest(a: Float64Array, k: number): number {
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/** A plain array copy of a typed array (Array.from goes through the iterator protocol and is slow). */
export function toArray(a: ArrayLike<number>): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

/** Token indices ascending (a native integer sort: several times faster than a comparator sort). */
export function sortedAscending(indices: Iterable<number>): number[] {
  const sorted = Int32Array.from(indices).sort();
  const out = new Array<number>(sorted.length);
  for (let i = 0; i < sorted.length; i++) out[i] = sorted[i];
  return out;
}

/** First index of the maximum (PyTorch argmax semantics); -1 for an empty array. Skips NaN. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v > bestValue || (best === -1 && v === bestValue)) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

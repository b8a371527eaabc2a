/**
 * Indices sorted by (score desc, index asc) — the project-wide tie-break (ARCHITECTURE.md).
 * NaN scores sort last.
 */
export function rankDescending(scores: ArrayLike<number>): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => {
    const sa = scores[a];
    const sb = scores[b];
    const na = Number.isNaN(sa);
    const nb = Number.isNaN(sb);
    if (na || nb) return na === nb ? a - b : na ? 1 : -1;
    if (sa !== sb) return sb > sa ? 1 : -1;
    return a - b;
  });
  return idx;
}

/** Indices sorted by (score asc, index asc). */
export function rankAscending(scores: ArrayLike<number>): number[] {
  const neg = Array.from(scores, (s) => -s);
  return rankDescending(neg);
}

/** The top k indices by (score desc, index asc), returned in that order. */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  return rankDescending(scores).slice(0, Math.max(0, Math.min(k, scores.length)));
}

export function sortedAscending(indices: Iterable<number>): number[] {
  return Array.from(indices).sort((a, b) => a - b);
}

/** rank[i] = position of token i in the (score desc, index asc) order, 0-based. */
export function ranksOf(scores: ArrayLike<number>): Int32Array {
  const order = rankDescending(scores);
  const rank = new Int32Array(scores.length);
  order.forEach((tok, r) => {
    rank[tok] = r;
  });
  return rank;
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

/**
 * The project-wide token order (score desc, index asc, NaN last — ARCHITECTURE.md), shared by the methods,
 * the decisions core and the webview's live re-ranking. Pure and dependency-free (see rounding.ts).
 */

/** Indices sorted by (score desc, index asc); NaN scores sort last. */
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

/** rank[i] = 0-based position of token i in `order` (the inverse permutation). */
export function ranksFromOrder(order: ArrayLike<number>): Int32Array {
  const rank = new Int32Array(order.length);
  for (let r = 0; r < order.length; r++) rank[order[r]] = r;
  return rank;
}

/** rank[i] = position of token i in the (score desc, index asc) order, 0-based. */
export function ranksOf(scores: ArrayLike<number>): Int32Array {
  return ranksFromOrder(rankDescending(scores));
}

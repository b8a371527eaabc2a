/**
 * Rounding rules the methods and the webview share. Pure and dependency-free: extension/shared/ may be
 * imported from the core, the host and the webview alike (eslint.config.mjs).
 */

/** Python 3 `round(x)`: round half to even. Needed for bit-exact DivPrune / FastV / codebook counts. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** ⌊x + ½⌋, the round-half-up used throughout F³A (§4.3). */
export function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}

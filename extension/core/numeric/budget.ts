import { pyRound } from './rounding.ts';

/** The next double above x (x > 0), so a search over ratios never stalls on rounding. */
function nextUp(x: number): number {
  const buf = new Float64Array([x]);
  const bits = new BigInt64Array(buf.buffer);
  bits[0] += 1n;
  return buf[0];
}

/** A ratio r in (0,1] with count(r·n) === k, starting from k/n and stepping up by ulps if rounding bites. */
function ratioFor(k: number, n: number, count: (x: number) => number): number | null {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || k > n) return null;
  let r = k / n;
  for (let step = 0; step < 64 && count(r * n) < k; step++) r = nextUp(r);
  if (count(r * n) !== k || r > 1) return null;
  return r;
}

/** Ratio r with ⌊r·n⌋ = k (G-Prune's `int(keep_ratio * N)`); null when k is not in 1..n. */
export function ratioForFloor(k: number, n: number): number | null {
  return ratioFor(k, n, Math.floor);
}

/** Ratio r with Python round(r·n) = k (DivPrune's `int(round(ratio * N))`); null when k is not in 1..n. */
export function ratioForRound(k: number, n: number): number | null {
  return ratioFor(k, n, pyRound);
}

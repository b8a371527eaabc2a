export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** P(X ≤ j) for X ~ Binomial(n, ½). */
function binomialHalfCdf(n: number, j: number): number {
  let term = 2 ** -n;
  let sum = 0;
  for (let i = 0; i <= j; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

export interface MedianInterval {
  lo: number;
  hi: number;
  /** Exact coverage of [x₍ⱼ₎, x₍ₙ₊₁₋ⱼ₎] for any continuous distribution: 1 − 2·P(Bin(n, ½) < j). */
  coverage: number;
}

/**
 * Distribution-free confidence interval for a median from order statistics: the narrowest
 * [x₍ⱼ₎, x₍ₙ₊₁₋ⱼ₎] whose coverage is at least `level`. Null when no such pair exists (n ≤ 5 at 95 %).
 * It assumes nothing about the shape of the noise, which on a shared machine is often bimodal.
 */
export function medianInterval(xs: readonly number[], level = 0.95): MedianInterval | null {
  const n = xs.length;
  const s = [...xs].sort((a, b) => a - b);
  let best: MedianInterval | null = null;
  for (let j = 1; 2 * j <= n; j++) {
    const coverage = 1 - 2 * binomialHalfCdf(n, j - 1);
    if (coverage < level) break;
    best = { lo: s[j - 1], hi: s[n - j], coverage };
  }
  return best;
}

/**
 * Speed-ups ref_i / ours_i of samples taken in alternation (sample i of each side ran back to back, so
 * both saw the same load). Null when the sides do not have the same number of samples.
 */
export function pairedSpeedups(oursMs: readonly number[], refMs: readonly number[]): number[] | null {
  if (oursMs.length !== refMs.length || oursMs.length === 0) return null;
  return oursMs.map((o, i) => refMs[i] / o);
}

/** 95 % interval of the median paired speed-up; null without both sides or with too few pairs. */
export function speedupInterval(oursMs: readonly number[] | null, refMs: readonly number[] | null): MedianInterval | null {
  const pairs = oursMs && refMs ? pairedSpeedups(oursMs, refMs) : null;
  return pairs ? medianInterval(pairs) : null;
}

/** "lo–hi×" for a table cell or a sentence. */
export const intervalLabel = (ci: MedianInterval): string => `${ci.lo.toFixed(2)}–${ci.hi.toFixed(2)}×`;

/** Milliseconds one call of `fn` takes. */
export function timeOnce(fn: () => unknown): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

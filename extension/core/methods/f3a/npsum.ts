// NumPy-compatible float64 reductions. The F³A reference is a float64 NumPy program, and its exact ties
// (odours are ratios of small integers) survive only if sums round the way NumPy's do.

/** np.sum of a contiguous 1-D float64 array: NumPy's pairwise summation (8 accumulators, blocks of 128). */
export function npSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start];
    let r1 = a[start + 1];
    let r2 = a[start + 2];
    let r3 = a[start + 3];
    let r4 = a[start + 4];
    let r5 = a[start + 5];
    let r6 = a[start + 6];
    let r7 = a[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const o = start + i;
      r0 += a[o];
      r1 += a[o + 1];
      r2 += a[o + 2];
      r3 += a[o + 3];
      r4 += a[o + 4];
      r5 += a[o + 5];
      r6 += a[o + 6];
      r7 += a[o + 7];
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return npSum(a, start, n2) + npSum(a, start + n2, n - n2);
}

/** np.mean of a 1-D array. */
export function npMean(a: ArrayLike<number>): number {
  return npSum(a) / a.length;
}

/** np.median: the middle value, or the mean of the two middle values for even lengths. */
export function npMedian(a: ArrayLike<number>): number {
  const s = Float64Array.from(a).sort();
  const n = s.length;
  const mid = n >> 1;
  return n % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Unit-length copy of x (norm from NumPy's pairwise sum of squares); a zero vector stays zero. */
export function unit(x: Float64Array): Float64Array {
  const sq = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) sq[k] = x[k] * x[k];
  const norm = Math.sqrt(npSum(sq));
  const out = new Float64Array(x.length);
  if (norm > 0) for (let k = 0; k < x.length; k++) out[k] = x[k] / norm;
  return out;
}

export function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[ai + k] * b[bi + k];
  return s;
}

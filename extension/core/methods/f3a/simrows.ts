// Rows of the centred cosine ṽ·ṽ for Stages 3–4, in TypeScript.
/** Summation depth of tsGemmNT: each entry is ((0 + Σ₀) + Σ₁) + …, Σ_b summed in index order over 256 coordinates. */
export const TS_DEPTH = 256;

/** out[o + j] = X[a..a+d) · X_j for every row j of X (n × d), in tsGemmNT's order. */
export function rowDots(X: Float64Array, a: number, n: number, d: number, out: Float64Array, o: number): void {
  let j = 0;
  for (; j + 3 < n; j += 4) {
    const b0 = j * d;
    const b1 = b0 + d;
    const b2 = b1 + d;
    const b3 = b2 + d;
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    for (let k0 = 0; k0 < d; k0 += TS_DEPTH) {
      const k1 = Math.min(d, k0 + TS_DEPTH);
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = k0; t < k1; t++) {
        const p = X[a + t];
        s0 += p * X[b0 + t];
        s1 += p * X[b1 + t];
        s2 += p * X[b2 + t];
        s3 += p * X[b3 + t];
      }
      c0 += s0;
      c1 += s1;
      c2 += s2;
      c3 += s3;
    }
    out[o + j] = c0;
    out[o + j + 1] = c1;
    out[o + j + 2] = c2;
    out[o + j + 3] = c3;
  }
  for (; j < n; j++) out[o + j] = pairDot(X, a, j * d, d);
}

/** ṽ_a·ṽ_b summed exactly as tsGemmNT (and rowDots) sum an entry: ((0 + Σ₀) + Σ₁) + … over 256-wide blocks. */
export function pairDot(X: Float64Array, a: number, b: number, d: number): number {
  let c = 0;
  for (let k0 = 0; k0 < d; k0 += TS_DEPTH) {
    const k1 = Math.min(d, k0 + TS_DEPTH);
    let s = 0;
    for (let t = k0; t < k1; t++) s += X[a + t] * X[b + t];
    c += s;
  }
  return c;
}

// exp(x) from float64 +, −, × only, in a fixed order, so a WebAssembly SIMD kernel can reproduce it bit for
// bit (Math.exp's result is the engine's own). Within 1 ulp of Math.exp on [−708, 0].
//   x = k·ln2 + r with k = nearest(x/ln2) (ties to even: adding and subtracting 1.5·2⁵² rounds there),
//   r = (x − k·ln2_hi) − k·ln2_lo (ln2 split so k·ln2_hi is exact), |r| ≤ ln2/2,
//   exp(r) by its Taylor polynomial to r¹³ (the next term is below 2⁻⁵⁶ relative), Horner's rule,
//   times 2^k (exact: k ≥ −1022 keeps it a normal number).

export const INV_LN2 = 1 / Math.LN2;
/** ln 2 in two parts: the high part has 32 significant bits (bits 0x3fe62e42fee00000). */
export const LN2_HI = 0.6931471803691238;
export const LN2_LO = 1.9082149292705877e-10;
/** 1.5·2⁵²: x + SHIFT − SHIFT is x rounded to an integer, ties to even. */
export const SHIFT = 6755399441055744;

/** 1/i! for i = 0..13, highest first (Horner order). */
export const EXP_COEFFS: readonly number[] = (() => {
  const c: number[] = [];
  let f = 1;
  for (let i = 0; i <= 13; i++) {
    if (i > 0) f *= i;
    c.push(1 / f);
  }
  return c.reverse();
})();

/** 2^−j for j = 0..1022, exact (built from the exponent bits). */
const POW2_NEG = (() => {
  const out = new Float64Array(1023);
  const bits = new BigInt64Array(1);
  const asFloat = new Float64Array(bits.buffer);
  for (let j = 0; j < 1023; j++) {
    bits[0] = BigInt(1023 - j) << 52n;
    out[j] = asFloat[0];
  }
  return out;
})();

/** exp(x) for −708 ≤ x ≤ 0 (callers guarantee the range; G-Prune's shared reference keeps x > −600). */
export function expDet(x: number): number {
  const t = x * INV_LN2 + SHIFT;
  const k = t - SHIFT;
  const r = x - k * LN2_HI - k * LN2_LO;
  let p = EXP_COEFFS[0];
  for (let q = 1; q < EXP_COEFFS.length; q++) p = p * r + EXP_COEFFS[q];
  return p * POW2_NEG[-k];
}

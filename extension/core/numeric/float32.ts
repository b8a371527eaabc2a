// Float32 rounding helpers for SIMD thresholds that must never exclude a value the float64 test admits.

const F32_BITS = new Float32Array(1);
const I32_BITS = new Int32Array(F32_BITS.buffer);

/** The largest float32 value ≤ v (v not NaN; ±∞ map to themselves). */
export function roundDown32(v: number): number {
  const f = Math.fround(v);
  if (f <= v) return f;
  if (f === 0) return -(2 ** -149);
  // One float32 step towards −∞: a smaller magnitude when positive, a larger one when negative.
  F32_BITS[0] = f;
  I32_BITS[0] += f > 0 ? -1 : 1;
  return F32_BITS[0];
}

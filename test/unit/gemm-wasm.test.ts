// The WebAssembly GEMM sums every entry in tsGemmNT's order (blocks of 256, each from 0): odd and even sizes,
// ragged row quads, depths across several 256-wide blocks, float32 and float64 operands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemmNTSimd } from '../../extension/core/numeric/gemm-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('gemmNTSimd equals the TypeScript tiles bit for bit', () => {
  const rand = mulberry32(21);
  for (const [m, n, k] of [
    [1, 2, 1],
    [5, 7, 300],
    [13, 9, 513],
    [36, 36, 1024],
  ]) {
    for (const wide of [false, true]) {
      const av = Array.from({ length: m * k }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 6));
      const bv = Array.from({ length: n * k }, () => rand() - 0.5);
      const a = wide ? Float64Array.from(av) : Float32Array.from(av);
      const b = wide ? Float64Array.from(bv) : Float32Array.from(bv);
      const want = new Float64Array(m * n);
      const got = new Float64Array(m * n).fill(Number.NaN);
      assert.ok(gemmNTSimd(a, m, b, n, k, got), 'WebAssembly SIMD is available in Node 20');
      blockedSums(a, m, b, n, k, want);
      assert.deepEqual(new BigInt64Array(got.buffer), new BigInt64Array(want.buffer), `${m}×${n}×${k} ${wide ? 'float64' : 'float32'}`);
    }
  }
});

/** tsGemmNT's order, one entry at a time: ((0 + Σ₀) + Σ₁) + …, each Σ over a 256-wide block from 0. */
function blockedSums(a: Float32Array | Float64Array, m: number, b: Float32Array | Float64Array, n: number, k: number, out: Float64Array): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k0 = 0; k0 < k; k0 += 256) {
        let s = 0;
        for (let t = k0; t < Math.min(k, k0 + 256); t++) s += a[i * k + t] * b[j * k + t];
        acc += s;
      }
      out[i * n + j] = acc;
    }
  }
}

// Row sums of squares in WebAssembly SIMD equal rowSumSquares bit for bit: float32 and float64 rows, contiguous
// and gathered rows, widths with a scalar tail, and more rows than one copy into WebAssembly memory holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowSumSquares } from '../../extension/core/numeric/gram.ts';
import { rowSumSquaresSimd } from '../../extension/core/numeric/sumsq-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

for (const wide of [false, true]) {
  test(`rowSumSquaresSimd adds the same four partial sums as rowSumSquares (${wide ? 'float64' : 'float32'} rows)`, () => {
    const rand = mulberry32(wide ? 11 : 9);
    for (const [n, d] of [
      [5, 4],
      [33, 1023],
      [wide ? 90 : 700, wide ? 4098 : 2050],
    ]) {
      const values = Array.from({ length: n * d }, () => (rand() - 0.5) * (rand() < 0.05 ? 1e4 : 1));
      const x = wide ? Float64Array.from(values) : Float32Array.from(values);
      for (const idx of [Int32Array.from({ length: n }, (_, i) => i), Int32Array.from({ length: n >> 1 }, (_, i) => n - 1 - 2 * i)]) {
        const got = new Float64Array(idx.length);
        assert.ok(rowSumSquaresSimd(x, idx, d, got), 'WebAssembly SIMD is available in Node 20');
        const want = Float64Array.from(idx, (r) => rowSumSquares(x, r * d, d));
        assert.deepEqual(new BigInt64Array(got.buffer), new BigInt64Array(want.buffer), `${n}×${d}, ${idx.length} rows`);
      }
    }
  });
}

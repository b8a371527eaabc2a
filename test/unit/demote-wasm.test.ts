// Unit float32 operand rows from float64 rows in WebAssembly SIMD: the sums of squares equal rowSumSquares and
// the scaled rows equal the TypeScript store x·f into a Float32Array, bit for bit, on gathered rows, widths
// with a scalar tail and values that round differently in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unitRowsToF32Simd } from '../../extension/core/numeric/demote-wasm.ts';
import { rowSumSquares } from '../../extension/core/numeric/gram.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('unitRowsToF32Simd passes rowSumSquares sums to scaleOf and rounds x·f as a Float32Array store does', () => {
  const rand = mulberry32(5);
  for (const [n, d] of [
    [3, 4],
    [40, 1027],
    [70, 4096],
  ]) {
    const x = Float64Array.from({ length: n * d }, () => (rand() - 0.5) * (rand() < 0.05 ? 1e30 : 1));
    const idx = Int32Array.from({ length: Math.ceil(n / 2) }, (_, i) => n - 1 - 2 * i);
    const factors = Float64Array.from(idx, () => 1 / (0.1 + rand()));
    const sums: number[] = [];
    const got = new Float32Array(idx.length * d).fill(Number.NaN);
    assert.ok(
      unitRowsToF32Simd(x, idx, d, (i, sq) => ((sums[i] = sq), factors[i]), got),
      'WebAssembly SIMD is available in Node 20',
    );
    assert.deepEqual(sums, Array.from(idx, (r) => rowSumSquares(x, r * d, d)), `${n}×${d} sums`);
    const want = new Float32Array(idx.length * d);
    idx.forEach((r, i) => {
      for (let k = 0; k < d; k++) want[i * d + k] = x[r * d + k] * factors[i];
    });
    assert.deepEqual(new Int32Array(got.buffer), new Int32Array(want.buffer), `${n}×${d}`);
  }
});

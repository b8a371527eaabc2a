// Float32 operand rows scaled from float64 rows in WebAssembly SIMD equal the TypeScript store x·f into a
// Float32Array bit for bit: gathered rows, widths with a scalar tail, values that round differently in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleRowsToF32Simd } from '../../extension/core/numeric/demote-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('scaleRowsToF32Simd rounds x·f to float32 exactly as a Float32Array store does', () => {
  const rand = mulberry32(5);
  for (const [n, d] of [
    [3, 4],
    [40, 1027],
    [70, 4096],
  ]) {
    const x = Float64Array.from({ length: n * d }, () => (rand() - 0.5) * (rand() < 0.05 ? 1e30 : 1));
    const idx = Int32Array.from({ length: Math.ceil(n / 2) }, (_, i) => n - 1 - 2 * i);
    const inv = Float64Array.from(idx, () => 1 / (0.1 + rand()));
    const got = new Float32Array(idx.length * d).fill(Number.NaN);
    assert.ok(scaleRowsToF32Simd(x, idx, inv, d, got), 'WebAssembly SIMD is available in Node 20');
    const want = new Float32Array(idx.length * d);
    idx.forEach((r, i) => {
      for (let k = 0; k < d; k++) want[i * d + k] = x[r * d + k] * inv[i];
    });
    assert.deepEqual(new Int32Array(got.buffer), new Int32Array(want.buffer), `${n}×${d}`);
  }
});

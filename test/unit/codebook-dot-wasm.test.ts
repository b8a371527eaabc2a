import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExactCosines } from '../../extension/core/methods/codebook-ort.ts';
import { WasmDots } from '../../extension/core/methods/codebook-dot-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('codebook float64 cosines: the WebAssembly SIMD dots give bit-identical values to the TypeScript loops', () => {
  assert.ok(WasmDots.load(), 'WebAssembly SIMD is available in Node');
  const rand = mulberry32(17);
  for (const d of [64, 1027, 4096]) {
    const L = 9;
    const P = 7;
    // Wide magnitude range, so any change of summation order would show in the last bits.
    const x = Float32Array.from({ length: L * d }, () => (rand() - 0.5) * 10 ** (6 * rand() - 3));
    const cb = Float32Array.from({ length: P * d }, () => rand() - 0.5);
    // Float64 copies hold the same values and take the TypeScript path.
    const simd = new ExactCosines({ rows: L, cols: d, data: x }, { rows: P, cols: d, data: cb });
    const ts = new ExactCosines({ rows: L, cols: d, data: Float64Array.from(x) }, { rows: P, cols: d, data: Float64Array.from(cb) });
    for (let i = 0; i < L; i++) {
      for (let p = (i * 3) % P; p < P; p++) {
        const a = simd.cosine(i, p);
        assert.ok(Object.is(a, ts.cosine(i, p)), `d=${d} (${i}, ${p})`);
      }
    }
    // A codebook changed in place between runs is read afresh by the next run.
    cb[0] += 1;
    const after = new ExactCosines({ rows: L, cols: d, data: x }, { rows: P, cols: d, data: cb });
    const ref = new ExactCosines({ rows: L, cols: d, data: Float64Array.from(x) }, { rows: P, cols: d, data: Float64Array.from(cb) });
    assert.ok(Object.is(after.cosine(1, 0), ref.cosine(1, 0)), `d=${d} after an in-place change`);
  }
});

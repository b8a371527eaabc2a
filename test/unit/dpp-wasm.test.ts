// The greedy DPP's WebAssembly passes give bit-identical results to their TypeScript loops (same operations
// in the same order), for odd and even token counts, every pick count the unrolled loop distinguishes, and
// both storages of the pick rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DppStorage, DppWasm, projectScalar, updateScalar } from '../../extension/core/methods/dpp-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const bits = (a: Float64Array | Float32Array, n: number): bigint[] => Array.from(Float64Array.from(a.subarray(0, n)), (v) => new BigInt64Array(Float64Array.of(v).buffer)[0]);

for (const storage of ['f64', 'f32'] satisfies DppStorage[]) {
  test(`DppWasm project and update (c in ${storage}) equal projectScalar and updateScalar bit for bit`, () => {
    const dpp = DppWasm.load();
    assert.ok(dpp, 'WebAssembly SIMD is available in Node 20');
    const rand = mulberry32(3);
    for (const n of [1, 2, 7, 64, 577]) {
      const t = 20;
      const buf = dpp.buffers(n, t, storage);
      const c = storage === 'f64' ? new Float64Array(t * n) : new Float32Array(t * n);
      for (let s = 0; s < t; s++) for (let i = 0; i < n; i++) buf.c[s * buf.stride + i] = c[s * n + i] = rand() - 0.5;
      // Negative zeros and exact cancellations exercise the order of additions and signs of zero.
      if (n > 3) buf.c[2] = c[2] = -0;
      for (const steps of [0, 1, 3, 4, 8, 13, 16, 19]) {
        const j = (steps * 5) % n;
        const want = new Float64Array(n);
        projectScalar(c, n, steps, j, want);
        buf.project(steps, j);
        assert.deepEqual(bits(buf.proj, n), bits(want, n), `project n=${n} steps=${steps}`);
      }
      const row = Float64Array.from({ length: n }, () => rand() * 2 - 1);
      const r = Float64Array.from({ length: n }, () => rand());
      const d2 = Float64Array.from({ length: n }, () => rand() * 3);
      buf.row.set(row);
      buf.r.set(r);
      buf.d2.set(d2);
      const proj = buf.proj.slice(0, n);
      const e = storage === 'f64' ? new Float64Array(n) : new Float32Array(n);
      updateScalar(row, r, proj, e, d2, n, r[0], 1 / Math.sqrt(1.7));
      buf.update(t - 1, r[0], 1 / Math.sqrt(1.7));
      assert.deepEqual(bits(buf.d2, n), bits(d2, n), `update d2 n=${n}`);
      assert.deepEqual(bits(buf.c.subarray((t - 1) * buf.stride), n), bits(e, n), `update e n=${n}`);
    }
  });
}

// Float64 row arithmetic in WebAssembly SIMD equals the scalar loops bit for bit: scaling, weighted
// accumulation, division and the two-partial-sum scaled dot, on even and odd widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowOps } from '../../extension/core/numeric/row-ops-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const bits = (a: Float64Array): BigInt64Array => new BigInt64Array(Float64Array.from(a).buffer);

test('RowOps scale, accumulate and divide exactly as the scalar loops do', () => {
  const rand = mulberry32(3);
  for (const d of [2, 7, 1024, 4097]) {
    const ops = RowOps.create(d);
    assert.ok(ops, 'WebAssembly SIMD is available in Node 20');
    const src = Float64Array.from({ length: 4 * d }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 8));
    const sizes = [3, 1, 7, 2];
    const want = new Float64Array(d);
    for (let k = 0; k < d; k++) want[k] = src[k] * sizes[0];
    for (let r = 1; r < 4; r++) for (let k = 0; k < d; k++) want[k] += src[r * d + k] * sizes[r];
    for (let k = 0; k < d; k++) want[k] = want[k] / 13;
    ops.scaleInto(src, 0, sizes[0]);
    for (let r = 1; r < 4; r++) ops.addScaled(src, r * d, sizes[r]);
    ops.divideBy(13);
    assert.deepEqual(bits(ops.acc), bits(want), `d = ${d}`);
  }
});

test('RowOps.scaledDot adds even and odd columns in two sums, as exactCross does', () => {
  const rand = mulberry32(4);
  for (const d of [2, 9, 1024, 4095]) {
    const ops = RowOps.create(d);
    assert.ok(ops);
    const x = Float64Array.from({ length: 2 * d }, () => rand() - 0.5);
    const y = Float64Array.from({ length: 3 * d }, () => rand() - 0.5);
    const [fa, fb] = [1 / (0.5 + rand()), 1 / (0.5 + rand())];
    let s0 = 0;
    let s1 = 0;
    let k = 0;
    for (; k + 1 < d; k += 2) {
      s0 += x[d + k] * fa * (y[2 * d + k] * fb);
      s1 += x[d + k + 1] * fa * (y[2 * d + k + 1] * fb);
    }
    if (k < d) s0 += x[d + k] * fa * (y[2 * d + k] * fb);
    assert.equal(Object.is(ops.scaledDot(x, d, fa, y, 2 * d, fb), s0 + s1), true, `d = ${d}`);
  }
});

// Float64 row arithmetic in WebAssembly SIMD equals the scalar loops bit for bit: scaling, weighted
// accumulation and division (as ToMe's engine merges rows) and the two-partial-sum scaled dot on even and odd widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TomeWasm } from '../../extension/core/methods/tome/tome-wasm.ts';
import { RowOps } from '../../extension/core/numeric/row-ops-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const bits = (a: Float64Array): BigInt64Array => new BigInt64Array(Float64Array.from(a).buffer);

test('the row kernels scale, accumulate and divide exactly as the scalar loops do (ToMe engine merges)', () => {
  const rand = mulberry32(3);
  for (const d of [32, 1024, 4096]) {
    const engine = TomeWasm.forSize(4, d);
    assert.ok(engine, 'WebAssembly SIMD is available in Node 20');
    const src = engine.state(0, 4 * d);
    src.set(Float64Array.from({ length: 4 * d }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 8)));
    const sizes = [3, 1, 7, 2];
    const want = new Float64Array(d);
    for (let k = 0; k < d; k++) want[k] = src[k] * sizes[0];
    for (let r = 1; r < 4; r++) for (let k = 0; k < d; k++) want[k] += src[r * d + k] * sizes[r];
    for (let k = 0; k < d; k++) want[k] = want[k] / 13;
    const out = engine.state(1, 4 * d);
    engine.mergeRow(out, 2, src, 0, [1, 2, 3], sizes, 13);
    assert.deepEqual(bits(out.subarray(2 * d, 3 * d)), bits(want), `d = ${d}`);
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

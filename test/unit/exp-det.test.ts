// expDet: within 1 ulp of Math.exp on the range G-Prune uses, and the WebAssembly exp kernel equals it bit for bit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowWasm } from '../../extension/core/methods/gprune-flow-wasm.ts';
import { expDet } from '../../extension/core/numeric/exp-det.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const bitsOf = (v: number): bigint => new BigInt64Array(Float64Array.of(v).buffer)[0];

/** Values in [−708, 0]: random, the ends, near zero, and halfway points between multiples of ln 2 (rounding ties). */
function samples(count: number): number[] {
  const rand = mulberry32(7);
  const out = [0, -0, -1e-300, -Number.MIN_VALUE, -708, -600, -599.9999999, -Math.LN2, -Math.LN2 / 2, -1.5 * Math.LN2, -2.5 * Math.LN2];
  for (let i = 0; i < count; i++) out.push(-rand() * (i % 3 === 0 ? 1 : i % 3 === 1 ? 40 : 708));
  return out;
}

test('expDet is within one ulp of Math.exp on [−708, 0]', () => {
  let worst = 0n;
  for (const x of samples(200_000)) {
    const d = bitsOf(expDet(x)) - bitsOf(Math.exp(x));
    const ulps = d < 0n ? -d : d;
    if (ulps > worst) worst = ulps;
  }
  assert.ok(worst <= 1n, `worst ${worst} ulps`);
  assert.equal(expDet(0), 1);
  assert.equal(expDet(-0), 1);
});

test('the WebAssembly exp kernel equals expDet bit for bit, odd counts included', () => {
  for (const count of [1, 2, 7, 4096, 20_001]) {
    const xs = samples(count).slice(0, count);
    const run = FlowWasm.run(1, count, 8, 2);
    assert.ok(run, 'WebAssembly SIMD is available');
    run.start[0] = 0;
    run.start[1] = count;
    const c = 0.25;
    // The kernel reads logits z and writes exp(z − c): feed z = x + c.
    for (let e = 0; e < count; e++) run.up[e] = xs[e] + c;
    const want = xs.map((_, e) => expDet(run.up[e] - c));
    run.exp(c);
    for (let e = 0; e < count; e++) assert.equal(bitsOf(run.up[e]), bitsOf(want[e]), `count ${count}, entry ${e}: x = ${xs[e]}`);
  }
});

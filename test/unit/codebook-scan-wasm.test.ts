// The WebAssembly column scans of the codebook product equal their scalar forms, ties and ragged tails
// included (every shape leaves 0–3 columns outside the SIMD groups).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodebookScan, columnContenders, columnMaxima } from '../../extension/core/methods/codebook-scan-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('colmax / colcount give the scalar maxima, contender counts and last contender', () => {
  const scan = CodebookScan.load();
  assert.ok(scan, 'WebAssembly SIMD is available in Node 20');
  const rand = mulberry32(11);
  for (const [P, L] of [
    [2, 1],
    [3, 4],
    [7, 3],
    [5, 9],
    [256, 577],
    [40, 2882],
  ]) {
    const prod = scan.product(P, L);
    // Values on a coarse grid so rows tie exactly; a few columns are constant.
    for (let k = 0; k < prod.length; k++) prod[k] = Math.round(rand() * 40) / 40 - 0.5;
    for (let p = 0; p < P; p++) prod[p * L] = 0.25;
    const top = scan.maxima();
    const want = new Float32Array(L).fill(-Infinity);
    columnMaxima(prod, P, L, 0, want);
    assert.deepEqual(top, want, `${P}×${L} maxima`);
    const floor = Float32Array.from(top, (t, i) => t - (i % 3) * 0.025);
    const got = scan.contenders(floor);
    const count = new Int32Array(L);
    const last = new Int32Array(L);
    columnContenders(prod, P, L, floor, 0, count, last);
    assert.deepEqual(got.count, count, `${P}×${L} counts`);
    assert.deepEqual(got.last, last, `${P}×${L} last`);
    assert.equal(got.count[0], P, 'a constant column has every row as contender');
    if (L > 500) assert.ok(got.count.includes(1) && got.count.some((c) => c > 1), 'single and several contenders both occur');
  }
});

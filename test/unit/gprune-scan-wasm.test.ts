// G-Prune's SIMD threshold scan flags exactly the groups of four a scalar scan would look into: any entry
// not below its row's threshold (NaN included), rows of every width modulo 4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThresholdScan } from '../../extension/core/methods/gprune-scan-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('ThresholdScan.groups lists every group holding an entry ≥ its row threshold, in row order', () => {
  const scan = ThresholdScan.load();
  assert.ok(scan, 'WebAssembly SIMD is available in Node 20');
  const rand = mulberry32(21);
  for (const [rows, cols] of [
    [1, 3],
    [3, 10],
    [7, 9],
    [80, 576],
    [64, 2881],
  ]) {
    const block = scan.prepare(rows, cols + 7).subarray(0, rows * cols);
    for (let k = 0; k < block.length; k++) block[k] = rand();
    if (block.length > 9) block[9] = NaN;
    const thr = Float32Array.from({ length: rows }, (_, r) => (r % 5 === 0 ? -Infinity : 0.9 + 0.02 * (r % 4)));
    const want: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g + 4 <= cols; g += 4) {
        const e = r * cols + g;
        if ([0, 1, 2, 3].some((q) => !(block[e + q] < thr[r]))) want.push(e);
      }
    }
    assert.deepEqual(Array.from(scan.groups(rows, cols, thr)), want, `${rows}×${cols}`);
  }
});

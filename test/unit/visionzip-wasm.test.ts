// VisionZip's SIMD loop equals the TypeScript sums bit for bit: unit keys (as normalizeRows scales them) and
// their similarities summed left to right per target (odd target counts, token counts that do not fill a group
// of four).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keySimilaritiesSimd } from '../../extension/core/methods/visionzip-wasm.ts';
import { normalizeRows } from '../../extension/core/numeric/linalg.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

test('keySimilaritiesSimd scales keys to unit rows and sums every token–target dot left to right', () => {
  const rand = mulberry32(8);
  for (const [n, dk, c] of [
    [9, 4, 1],
    [40, 64, 7],
    [300, 64, 10],
  ]) {
    const keys = Float32Array.from({ length: n * dk }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 4));
    keys.fill(0, 0, dk); // a zero row: eps guards its norm
    const kn = normalizeRows({ rows: n, cols: dk, data: keys });
    const targets = Array.from({ length: c }, (_, j) => (j * 3) % n);
    const tokens = Array.from({ length: n - 2 }, (_, i) => n - 1 - i);
    const got = keySimilaritiesSimd(keys, n, dk, tokens, targets);
    assert.ok(got, 'WebAssembly SIMD is available in Node 20');
    const want = new Float64Array(tokens.length * c);
    tokens.forEach((t, i) =>
      targets.forEach((g, j) => {
        let s = 0;
        for (let k = 0; k < dk; k++) s += kn[t * dk + k] * kn[g * dk + k];
        want[i * c + j] = s;
      }),
    );
    assert.deepEqual(new BigInt64Array(got.buffer), new BigInt64Array(want.buffer), `${n}×${dk}, ${c} targets`);
  }
});

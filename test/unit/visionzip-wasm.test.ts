// VisionZip's SIMD loops equal the TypeScript sums bit for bit: unit keys (as normalizeRows scales them) and
// their similarities summed left to right per target (odd target counts, token counts that do not fill a group of four) and member sums in row order
// (groups spread over several staged chunks, empty groups, rows in no group).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupSumsSimd, keySimilaritiesSimd } from '../../extension/core/methods/visionzip-wasm.ts';
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

test('groupSumsSimd adds each group’s rows in order, column by column', () => {
  const rand = mulberry32(9);
  for (const [n, d] of [
    [20, 4],
    [200, 1024],
    [90, 4096],
  ]) {
    const x = Float32Array.from({ length: n * d }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 5));
    // Ascending, disjoint groups (as VisionZip's assignment is), one empty, rows not in any group.
    const groups: number[][] = [[], [], []];
    for (let r = 1; r < n; r++) groups[r % 5 === 0 ? 1 : r % 3 === 0 ? 0 : 2].push(r);
    const got = groupSumsSimd(x, n, d, groups);
    assert.ok(got);
    groups.forEach((g, gi) => {
      const want = new Float64Array(d);
      for (const r of g) for (let k = 0; k < d; k++) want[k] += x[r * d + k];
      assert.deepEqual(new BigInt64Array(Float64Array.from(got[gi]).buffer), new BigInt64Array(want.buffer), `${n}×${d} group ${gi}`);
    });
    assert.equal(groupSumsSimd(x, n, d, [[3, 2]]), null, 'a group out of order is left to the TypeScript loop');
  }
});

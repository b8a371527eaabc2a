import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { InputError } from '../../extension/core/errors.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { randomBaseline } from '../../extension/core/methods/random.ts';
import { uniformBaseline, uniformGridSample } from '../../extension/core/methods/uniform.ts';
import { pyRound } from '../../extension/core/numeric/rounding.ts';

function bundle(n: number, grid: [number, number] | null): TokenBundle {
  const arrays = new Map([['features', makeTensor('float32', [n, 2], new Float32Array(n * 2).fill(1))]]);
  if (grid) arrays.set('grid', makeTensor('int32', [2], Int32Array.from(grid)));
  return makeBundle(arrays, { source: 'test', model: '', weightsKind: 'synthetic', layer: null, extra: {} });
}

test('random: seeded, reproducible, nested across budgets, k from ratio with half-even rounding', () => {
  const b = bundle(576, [24, 24]);
  const a = prune(b, 'random', { seed: 7, k: 64 });
  assert.deepEqual(prune(b, 'random', { seed: 7, k: 64 }).keep, a.keep);
  assert.notDeepEqual(prune(b, 'random', { seed: 8, k: 64 }).keep, a.keep);
  assert.equal(a.keep.length, 64);
  const small = prune(b, 'random', { seed: 7, k: 10 }).keep;
  for (const i of small) assert.ok(a.keep.includes(i));
  // Top-k of the reported scores is the kept set (the webview re-ranks it).
  const s = a.scores as number[];
  const minKept = Math.min(...a.keep.map((i) => s[i]));
  assert.equal(s.filter((v) => v >= minKept).length, 64);
  const b16 = bundle(16, [4, 4]);
  assert.equal(prune(b16, 'random', { ratio: 0.15625 }).keep.length, pyRound(2.5));
  assert.equal(prune(b16, 'random', {}).keep.length, 4);
  assert.equal(prune(b16, 'random', {}).params.ratio, 0.25);
});

test('uniform: an even lattice on the grid, exactly k distinct tokens for every k', () => {
  assert.deepEqual(
    uniformGridSample(144, { h: 24, w: 24 }).slice(0, 12),
    [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23].map((c) => 1 * 24 + c),
  );
  assert.deepEqual(uniformGridSample(4, { h: 4, w: 4 }), [5, 7, 13, 15]);
  for (const [h, w] of [
    [4, 4],
    [5, 7],
    [1, 9],
    [24, 24],
  ]) {
    for (let k = 0; k <= h * w; k++) {
      const keep = uniformGridSample(k, { h, w });
      assert.equal(new Set(keep).size, k, `${h}x${w} k=${k}`);
      assert.ok(keep.every((i, j) => i >= 0 && i < h * w && (j === 0 || keep[j - 1] < i)), `${h}x${w} k=${k} ascending`);
    }
  }
  const res = prune(bundle(576, [24, 24]), 'uniform', { k: 64 });
  assert.equal(res.keep.length, 64);
  const s = res.scores as number[];
  for (const i of res.keep) assert.equal(s[i], 0);
  assert.ok(Math.min(...s) >= -2.5, 'no token far from a kept one');
});

test('uniform without a grid samples the sequence evenly', () => {
  const res = prune(bundle(10, null), 'uniform', { k: 5 });
  assert.deepEqual(res.keep, [1, 3, 5, 7, 9]);
  assert.ok(res.notes.length === 1);
});

test('random/uniform budgetParams and bad parameters', () => {
  assert.deepEqual(randomBaseline.budgetParams(12, 64, { ratio: 0.5, seed: 3 }), { seed: 3, k: 12 });
  assert.deepEqual(uniformBaseline.budgetParams(12, 64, { ratio: 0.5 }), { k: 12 });
  assert.equal(randomBaseline.budgetParams(65, 64, {}), null);
  assert.equal(uniformBaseline.budgetParams(-1, 64, {}), null);
  const b = bundle(16, [4, 4]);
  for (const id of ['random', 'uniform']) {
    assert.throws(() => prune(b, id, { ratio: 0.5, k: 3 }), (e: unknown) => e instanceof InputError && /not both/.test(e.message));
    assert.throws(() => prune(b, id, { k: 17 }), (e: unknown) => e instanceof InputError && /exceeds/.test(e.message));
    assert.throws(() => prune(b, id, { ratio: 1.2 }), InputError);
    assert.throws(() => prune(b, id, { k: -1 }), InputError);
  }
  assert.throws(() => prune(b, 'random', { seed: 1.5 }), InputError);
  assert.throws(() => prune(b, 'uniform', { seed: 1 }), InputError);
});

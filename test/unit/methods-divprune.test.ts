import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError } from '../../extension/core/errors.ts';
import { divprune } from '../../extension/core/methods/divprune.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { gramSymmetric } from '../../extension/core/numeric/gram.ts';
import { rankDescending } from '../../extension/core/numeric/ranking.ts';
import { pyRound } from '../../extension/core/numeric/rounding.ts';
import { recordsFor } from '../helpers/oracle.ts';
import { assertOutputFields } from '../helpers/oracle-replay.ts';
import { bundleOf, toyX } from '../helpers/toy.ts';

function featureBundle(rows: number, cols: number, data: Float64Array): TokenBundle {
  return bundleOf({ features: makeTensor('float64', [rows, cols], data) });
}

test('§8 DivPrune test vector: K = 5 picks [7, 3, 9, 14, 10] in that order', () => {
  const r = prune(featureBundle(16, 8, toyX()), 'divprune', { ratio: 5 / 16 });
  assert.equal(r.output.K, 5);
  assert.deepEqual(r.output.order, [7, 3, 9, 14, 10]);
  assert.deepEqual(r.keep, [3, 7, 9, 10, 14]);
  assert.equal(r.output.has_duplicates, false);
  assert.equal(r.selection, 'greedy');
  // The heat-map ranking reads the pick order off the scores.
  assert.deepEqual(rankDescending(r.scores as number[]).slice(0, 5), [7, 3, 9, 14, 10]);
  // Step 0 is the largest nearest-neighbour distance; later steps the largest distance to the set.
  const nn = r.trace.nn_distance as number[];
  assert.equal((r.output.step_scores as number[])[0], Math.max(...nn));
  const minFinal = r.trace.min_distance_final as number[];
  for (const t of r.keep) assert.ok(Math.abs(minFinal[t]) < 1e-12, 'a picked token is at distance 0 from the set');
});

test('every divprune oracle record: K, order, keep exact; step_scores within tolerance', () => {
  const records = recordsFor('divprune');
  assert.ok(records.length >= 16, `found ${records.length} records`);
  for (const { c, r } of records) {
    const res = prune(c.bundle, 'divprune', r.params);
    const where = `${c.name} ${JSON.stringify(r.params)}`;
    assertOutputFields(res.output, r, where, new Set(['step_scores']));
    assert.deepEqual(res.keep, r.keep, where);
  }
});

test('K uses Python round-half-even: ratio·N = 2.5 keeps 2, 3.5 keeps 4', () => {
  const b = featureBundle(16, 8, toyX());
  assert.equal(prune(b, 'divprune', { ratio: 2.5 / 16 }).output.K, 2);
  assert.equal(prune(b, 'divprune', { ratio: 3.5 / 16 }).output.K, 4);
});

test('exact duplicates: ties go to the lowest index, and a would-be re-pick is reported', () => {
  // Tokens 0, 1 and 3 are identical; token 2 and 4 differ.
  const rows = [
    [1, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
    [1, 0, 0],
    [0.6, 0.8, 0.1],
  ];
  const b = featureBundle(5, 3, Float64Array.from(rows.flat()));
  const two = prune(b, 'divprune', { ratio: 0.4 });
  assert.deepEqual(two.output.order, [2, 0]);
  assert.equal(two.output.has_duplicates, false);
  const four = prune(b, 'divprune', { ratio: 0.8 });
  // After {2, 0, 4} only duplicates of 0 remain: masking picks 1 (lowest), the unmasked loop would re-pick 0.
  assert.deepEqual(four.output.order, [2, 0, 4, 1]);
  assert.equal(four.output.has_duplicates, true);
  assert.ok(four.notes.some((n) => /re-selected/.test(n)));
});

test('gramSymmetric equals naive dot products and is exactly symmetric (ragged tiles, several depth chunks)', () => {
  for (const [n, d] of [
    [1, 3],
    [37, 19],
    [67, 600],
  ]) {
    const x = Float64Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.731) + 0.3 * Math.cos(i * 0.017));
    const g = gramSymmetric(x, n, d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += x[i * d + k] * x[j * d + k];
        assert.ok(Math.abs(g[i * n + j] - s) <= 1e-12 * Math.max(1, Math.abs(s)), `G[${i},${j}] n=${n} d=${d}`);
        assert.equal(g[i * n + j], g[j * n + i]);
      }
    }
  }
});

test('bad parameters give one clear InputError', () => {
  const b = featureBundle(16, 8, toyX());
  const bad: [Record<string, number | string>, RegExp][] = [
    [{ ratio: 0 }, /ratio/],
    [{ ratio: 1.2 }, /ratio/],
    [{ ratio: -0.5 }, /ratio/],
    [{ ratio: 0.01 }, /0 tokens/],
    [{ ratio: 'half' }, /ratio/],
    [{ threshold_ratio: 0.1 }, /Unknown parameter "threshold_ratio"/],
  ];
  for (const [params, msg] of bad) {
    assert.throws(() => prune(b, 'divprune', params), (e: unknown) => e instanceof InputError && msg.test(e.message), JSON.stringify(params));
  }
  assert.throws(() => prune(b, 'divprune', { tokens: 3 }), InputError);
  assert.equal(prune(b, 'divprune', { tokens: 'all image tokens incl. newline' }).output.K, 2);
});

test('budgetParams gives a ratio whose Python round realises exactly k', () => {
  for (const n of [16, 49, 64, 100, 576, 804, 2880]) {
    for (let k = 1; k <= n; k++) {
      const p = divprune.budgetParams(k, n, {});
      assert.ok(p, `k=${k} n=${n}`);
      const r = p.ratio as number;
      assert.ok(r > 0 && r <= 1);
      assert.equal(pyRound(r * n), k, `k=${k} n=${n}`);
    }
  }
  assert.equal(divprune.budgetParams(0, 16, {}), null);
  assert.equal(divprune.budgetParams(17, 16, {}), null);
  const p = divprune.budgetParams(7, 16, { tokens: 'all' });
  assert.ok(p);
  assert.equal(prune(featureBundle(16, 8, toyX()), 'divprune', p).keep.length, 7);
});

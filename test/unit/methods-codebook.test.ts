import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError, MissingInputError } from '../../extension/core/errors.ts';
import { codebook } from '../../extension/core/methods/codebook.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { loadOracleCase } from '../helpers/oracle.ts';
import { replayRecords } from '../helpers/oracle-replay.ts';
import { bundleOf, toyX } from '../helpers/toy.ts';

/** §8 toy: X as in ALGORITHMS.md, prototypes P = [X[3] + 0.05, X[9] − 0.05]. */
function toyBundle(): TokenBundle {
  const x = toyX();
  const p = new Float64Array(2 * 8);
  for (let k = 0; k < 8; k++) {
    p[k] = x[3 * 8 + k] + 0.05;
    p[8 + k] = x[9 * 8 + k] - 0.05;
  }
  return bundleOf({ features: makeTensor('float64', [16, 8], x), codebook: makeTensor('float64', [2, 8], p) });
}

test('codebook reproduces every oracle record, modes A–D', () => {
  const records = replayRecords('codebook', 30, (res, r, where) => {
    assert.deepEqual(res.keep, r.keep, where);
    (res.scores as number[]).forEach((s, i) => assert.equal(s, -(res.output.r as number[])[i]));
  });
  assert.deepEqual(new Set(records.map(({ r }) => r.params.mode)), new Set(['A', 'B', 'C', 'D']));
});

test('codebook §8 toy: max-cosine r, mode A (tau 0.8) and mode B (tau 0.5)', () => {
  const b = toyBundle();
  const a = prune(b, 'codebook', { mode: 'A', tau: 0.8 });
  const want = [0.985651, 0.807177, 0.818143, 0.997794, 0.768541, 0.281238, -0.44307, 0.128781, 0.764091, 0.998288, 0.712042, 0.851795, 0.916143, 0.73757, 0.178678, -0.470512];
  (a.output.r as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-6 * Math.abs(want[i]) + 5e-7, `r[${i}] ${v}`));
  assert.deepEqual(a.keep, [4, 5, 6, 7, 8, 10, 13, 14, 15]);
  assert.deepEqual(prune(b, 'codebook', { mode: 'B', tau: 0.5 }).keep, [5, 6, 7, 8, 10, 13, 14, 15]);
});

test('codebook modes B–D with a drop count of 0 keep every token and say so (Errata 4)', () => {
  const b = loadOracleCase('oracle_f01_4x4x8').bundle;
  for (const mode of ['B', 'C', 'D']) {
    const res = prune(b, 'codebook', { mode, tau: 1 });
    assert.equal(res.keep.length, 16, mode);
    assert.ok(res.notes.some((n) => /crashes/.test(n)), mode);
  }
  assert.equal(prune(b, 'codebook', { mode: 'C', tau: 0 }).keep.length, 0);
});

test('codebook budgetParams: mode A switches to mode B; every k is realised exactly', () => {
  const b = loadOracleCase('oracle_f03_8x8x32').bundle;
  const fromA = codebook.budgetParams(10, 64, { mode: 'A', tau: 0.45, select_feature: 'high_info_patch' });
  assert.deepEqual(fromA, { mode: 'B', tau: 10 / 64 });
  for (const mode of ['A', 'B', 'C', 'D']) {
    for (const k of [0, 1, 7, 32, 50, 64]) {
      const p = codebook.budgetParams(k, 64, { mode });
      assert.ok(p);
      assert.equal(prune(b, 'codebook', p).keep.length, k, `${mode} k=${k}`);
    }
  }
  assert.equal(codebook.budgetParams(65, 64, {}), null);
});

test('codebook: missing codebook, width mismatch and bad parameters are clear errors', () => {
  const b = loadOracleCase('oracle_f01_4x4x8').bundle;
  assert.throws(
    () => prune(b, 'codebook', {}, { codebook: null }),
    (e: unknown) => e instanceof MissingInputError && e.role === 'codebook' && /--input codebook=/.test(e.message) && /\.npy/.test(e.message),
  );
  // keys are [N, 6] while features are [N, 8].
  assert.throws(() => prune(b, 'codebook', {}, { codebook: 'keys' }), (e: unknown) => e instanceof InputError && /width 6/.test(e.message) && /width 8/.test(e.message));
  assert.throws(() => prune(b, 'codebook', { mode: 'E' }), InputError);
  assert.throws(() => prune(b, 'codebook', { mode: 'B', tau: -0.1 }), (e: unknown) => e instanceof InputError && /keep fraction/.test(e.message));
  assert.throws(() => prune(b, 'codebook', { tau: 2 }), InputError);
  assert.throws(() => prune(b, 'codebook', { mode: 'C', select_feature: 'high_info_patch' }), (e: unknown) => e instanceof InputError && /select_feature/.test(e.message));
  const def = prune(b, 'codebook', {});
  assert.deepEqual([def.params.mode, def.params.tau], ['A', 0.45]);
});

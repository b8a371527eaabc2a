import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError, MissingInputError } from '../../extension/core/errors.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { visionzip } from '../../extension/core/methods/visionzip.ts';
import { loadOracleCase } from '../helpers/oracle.ts';
import { replayRecords } from '../helpers/oracle-replay.ts';
import { bundleOf, toyX } from '../helpers/toy.ts';

function toyBundle(): TokenBundle {
  const x = toyX();
  const cls = Float64Array.from({ length: 16 }, (_, i) => Math.exp(0.9 * Math.sin(1.7 * i)));
  return bundleOf({
    features: makeTensor('float64', [16, 8], x),
    keys: makeTensor('float64', [16, 8], Float64Array.from(x)),
    cls_attn: makeTensor('float64', [1, 16], cls),
  });
}

test('visionzip reproduces every oracle record (indices exact, merged features within tolerance)', () => {
  replayRecords('visionzip', 10, (res, r, where) => {
    assert.deepEqual(res.keep, r.keep, where);
    assert.equal(res.keep.length, (r.params.dominant as number) - 1 + (r.params.contextual as number));
  });
});

test('visionzip §8 toy: dominant, uniform targets and key-cosine assignment', () => {
  const res = prune(toyBundle(), 'visionzip', { dominant: 6, contextual: 3 });
  assert.deepEqual(res.output.dominant, [1, 4, 5, 8, 12]);
  assert.deepEqual(res.output.targets, [0, 6, 10]);
  assert.deepEqual(res.output.assignment, [[9], [7, 13, 14, 15], [2, 3, 11]]);
  assert.equal(res.output.n_out, 9);
  assert.deepEqual(res.keep, [0, 1, 4, 5, 6, 8, 10, 12]);
  // Contextual = target + mean(members), here with H = X.
  const x = toyX();
  const want = [0, 1, 2, 3].map((k) => x[6 * 8 + k] + (x[7 * 8 + k] + x[13 * 8 + k] + x[14 * 8 + k] + x[15 * 8 + k]) / 4);
  const got = (res.output.contextual_first4 as number[][])[1];
  want.forEach((w, k) => assert.ok(Math.abs(got[k] - w) < 1e-12));
  // Trace: slot per token (−1 for dominant).
  const slot = res.trace.token_slot as number[];
  assert.deepEqual([slot[1], slot[9], slot[0], slot[7], slot[11]], [-1, 0, 0, 1, 2]);
  assert.equal(res.selection, 'merge');
});

test('visionzip with contextual = 0 keeps only the dominant patches and says so', () => {
  const res = prune(toyBundle(), 'visionzip', { dominant: 4, contextual: 0 });
  assert.equal(res.keep.length, 3);
  assert.deepEqual(res.output.targets, []);
  assert.ok(res.notes.some((n) => n.includes('contextual = 0')));
});

test('visionzip budgetParams splits k about 54:10 and realises exactly k kept patches', () => {
  assert.deepEqual(visionzip.budgetParams(63, 576, {}), { dominant: 54, contextual: 10 });
  const c = loadOracleCase('oracle_f05_24x24x64');
  for (const k of [1, 2, 16, 100, 300]) {
    const p = visionzip.budgetParams(k, 576, { dominant: 54, contextual: 10, dominant_patches: 53 });
    assert.ok(p);
    assert.equal(p.dominant_patches, undefined);
    assert.equal(prune(c.bundle, 'visionzip', p).keep.length, k);
  }
  assert.equal(visionzip.budgetParams(577, 576, {}), null);
});

test('visionzip rejects bad parameters and missing inputs with clear errors', () => {
  const b = toyBundle();
  assert.throws(() => prune(b, 'visionzip', { dominant: 6, dominant_patches: 6, contextual: 3 }), (e: unknown) => e instanceof InputError && /dominant − 1 = 5/.test(e.message));
  assert.throws(() => prune(b, 'visionzip', { dominant: 14, contextual: 4 }), (e: unknown) => e instanceof InputError && /more than the 16/.test(e.message));
  assert.throws(() => prune(b, 'visionzip', { dominant: 0 }), InputError);
  assert.throws(() => prune(b, 'visionzip', { contextual: 1.5 }), InputError);
  assert.throws(() => prune(b, 'visionzip', { dominant: 6, contextual: 3 }, { cls_attn: null }), (e: unknown) => e instanceof MissingInputError && e.role === 'cls_attn');
  assert.throws(() => prune(b, 'visionzip', { dominant: 6, contextual: 3 }, { keys: null }), (e: unknown) => e instanceof MissingInputError && e.role === 'keys');
  const f01 = loadOracleCase('oracle_f01_4x4x8').bundle;
  assert.throws(() => prune(f01, 'visionzip', { dominant: 4, contextual: 2 }, { keys: 'codebook' }), (e: unknown) => e instanceof InputError && /rows/.test(e.message));
});

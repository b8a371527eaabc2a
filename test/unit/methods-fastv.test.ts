import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { InputError, MissingInputError } from '../../extension/core/errors.ts';
import { fastv } from '../../extension/core/methods/fastv.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { pyRound } from '../../extension/core/numeric/rounding.ts';
import { loadOracleCase } from '../helpers/oracle.ts';
import { replayRecords } from '../helpers/oracle-replay.ts';

test('fastv reproduces every oracle record (R with half-even rounding, and attention_rank)', () => {
  let halfEven = 0;
  replayRecords('fastv', 15, (res, r, where, c) => {
    assert.deepEqual(res.output.topk_order, r.topk_order, where);
    const n = c.json.N as number;
    if (typeof r.params.R === 'number' && (n * (1 - r.params.R)) % 1 === 0.5) {
      halfEven++;
      assert.equal(r.K, pyRound(n * (1 - r.params.R)));
    }
  });
  assert.ok(halfEven >= 2, 'the oracle exercises x.5 budgets');
});

// A tiny causal attention over 3 image tokens followed by 2 text queries.
function attnBundle() {
  const n = 3;
  const feats = makeTensor('float32', [n, 2], new Float32Array([1, 0, 0, 1, 1, 1]));
  const rows = [
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0.6, 0.3, 0.1],
    [0.1, 0.6, 0.3],
    [0.1, 0.2, 0.7],
  ];
  const full = makeTensor('float64', [5, n], Float64Array.from(rows.flat()));
  const arrays = new Map([
    ['features', feats],
    ['llm_attn', makeTensor('float64', [n], Float64Array.from(rows[4]))],
    ['attn_full', full],
  ]);
  return { bundle: makeBundle(arrays, { source: 'toy', model: '', weightsKind: 'synthetic', layer: null, extra: {} }), rows };
}

test('fastv meanReceived averages over the causal queries q ≥ i; lastToken reads the last row', () => {
  const { bundle, rows } = attnBundle();
  const mean = prune(bundle, 'fastv', { score: 'meanReceived', attention_rank: 1 }, { llm_attn: 'attn_full' });
  const want = [0, 1, 2].map((i) => rows.slice(i).reduce((s, r) => s + r[i], 0) / (rows.length - i));
  (mean.scores as number[]).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
  // Means 0.46, 0.4, 0.367: the paper score keeps token 0, the last row (…, 0.7) keeps token 2.
  assert.deepEqual(mean.keep, [0]);
  const last = prune(bundle, 'fastv', { attention_rank: 1 }, { llm_attn: 'attn_full' });
  assert.deepEqual(last.scores, rows[4]);
  assert.deepEqual(last.keep, [2]);
  assert.throws(() => prune(bundle, 'fastv', { score: 'meanReceived' }), (e: unknown) => e instanceof InputError && /\[Q,N\]/.test(e.message));
});

test('fastv default R = 0.5 is reported in the resolved params; budgetParams switches to attention_rank', () => {
  const c = loadOracleCase('oracle_f03_8x8x32');
  const res = prune(c.bundle, 'fastv', {});
  assert.equal(res.params.R, 0.5);
  assert.equal(res.keep.length, 32);
  const p = fastv.budgetParams(7, 64, { R: 0.5, variant: 'hf (round(N*(1-R)))', score: 'lastToken' });
  assert.deepEqual(p, { score: 'lastToken', attention_rank: 7 });
  assert.equal(prune(c.bundle, 'fastv', p ?? {}).keep.length, 7);
});

test('fastv rejects bad parameters and missing attention', () => {
  const b = loadOracleCase('oracle_f01_4x4x8').bundle;
  assert.throws(() => prune(b, 'fastv', { R: 0.5, attention_rank: 3 }), (e: unknown) => e instanceof InputError && /not both/.test(e.message));
  assert.throws(() => prune(b, 'fastv', { attention_rank: 17 }), (e: unknown) => e instanceof InputError && /exceeds/.test(e.message));
  assert.throws(() => prune(b, 'fastv', { R: 1.5 }), InputError);
  assert.throws(() => prune(b, 'fastv', { R: 0.5, variant: 'inplace (ATTENTION_RANK)' }), (e: unknown) => e instanceof InputError && /variant/.test(e.message));
  assert.throws(() => prune(b, 'fastv', { R: 0.5, variant: 'magic' }), InputError);
  assert.throws(() => prune(b, 'fastv', { score: 'paper' }), InputError);
  assert.throws(() => prune(b, 'fastv', {}, { llm_attn: null }), (e: unknown) => e instanceof MissingInputError && e.role === 'llm_attn');
});

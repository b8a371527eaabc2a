import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../extension/core/errors.ts';
import { percentileLinear, prumerge } from '../../extension/core/methods/prumerge.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { parseRoleMapping, resultJson } from '../../extension/cli/prune.ts';
import { loadOracleCase, recordsFor } from '../helpers/oracle.ts';
import { assertMatchesRecord, replayOf } from '../helpers/oracle-replay.ts';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { configureKernels } from '../../extension/core/numeric/gemm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const PM = { cls_attn: 'pm_cls_attn' } as const;

test('prumerge reproduces every oracle record (cls_attn role mapped to pm_cls_attn)', () => {
  const records = recordsFor('prumerge');
  assert.ok(records.length >= 2);
  assert.deepEqual(new Set(records.map(({ r }) => r.params.variant)), new Set(['prumerge', 'prumerge_plus']));
  for (const { c, r } of records) {
    assert.equal(r.float64_agrees, true);
    const rep = replayOf(r);
    assert.deepEqual(rep.inputs, ['cls_attn=pm_cls_attn']);
    const res = prune(c.bundle, rep.method, rep.params, parseRoleMapping(rep.inputs));
    const where = `${c.name} ${JSON.stringify(r.params)}`;
    assertMatchesRecord(resultJson(res), r, where);
    // The official output order (attention order, then spatial extras) is exact too.
    assert.deepEqual(res.output.topk_order, r.topk_order, where);
    assert.equal(res.output.n_out, (r.idx_final as number[]).length + 1);
  }
});

test('percentileLinear matches numpy linear interpolation', () => {
  const s = [1, 2, 4, 8, 16];
  // numpy: percentile([1,2,4,8,16], 25) = 2, 75 = 8, 30 → 2.4, 90 → 12.8
  assert.equal(percentileLinear(s, 25), 2);
  assert.equal(percentileLinear(s, 75), 8);
  assert.ok(Math.abs(percentileLinear(s, 30) - 2.4) < 1e-12);
  assert.ok(Math.abs(percentileLinear(s, 90) - 12.8) < 1e-12);
  assert.equal(percentileLinear([3], 50), 3);
});

test('prumerge: kept set is the IQR outliers, merged rows add the kNN-weighted neighbours', () => {
  const c = loadOracleCase('oracle_f05_24x24x64');
  const res = prune(c.bundle, 'prumerge', {}, PM);
  const a = res.scores as number[];
  const ub = res.output.upper_bound as number;
  const outl = a.map((v, i) => [v, i] as const).filter(([v]) => v > ub).map(([, i]) => i);
  assert.deepEqual(res.keep, outl);
  const nb = res.trace.neighbours as number[][];
  assert.equal(nb.length, res.keep.length);
  for (const list of nb) assert.equal(new Set(list).size, 32);
  assert.equal(res.selection, 'threshold');
  assert.equal(prumerge.budgetParams(10, 576, {}), null);
});

test('prumerge needs a single attention row unless heads=mean is asked for', () => {
  const b = loadOracleCase('oracle_f05_24x24x64').bundle;
  assert.throws(() => prune(b, 'prumerge', {}), (e: unknown) => e instanceof InputError && /pm_cls_attn/.test(e.message) && /heads=mean/.test(e.message));
  const res = prune(b, 'prumerge', { heads: 'mean' });
  assert.ok(res.notes.some((n) => /Averaged 16 attention heads/.test(n)));
  const attn = res.output.cls_attn as number[];
  const sum = attn.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(sum - 1) < 1e-4, `head-mean of per-head softmax rows sums to 1, got ${sum}`);
});

test('prumerge rejects bad parameters', () => {
  const b = loadOracleCase('oracle_f05_24x24x64').bundle;
  assert.throws(() => prune(b, 'prumerge', { variant: 'prumerge++' }, PM), InputError);
  assert.throws(() => prune(b, 'prumerge', { adaptive: false }, PM), (e: unknown) => e instanceof InputError && /adaptive/.test(e.message));
  assert.throws(() => prune(b, 'prumerge', { knn: 0 }, PM), InputError);
  assert.throws(() => prune(b, 'prumerge', { heads: 'max' }, PM), InputError);
  assert.throws(() => prune(b, 'prumerge', {}, { cls_attn: 'pm_cls_attn', keys: 'codebook' }), (e: unknown) => e instanceof InputError && /rows/.test(e.message));
  const small = loadOracleCase('oracle_f01_4x4x8').bundle;
  // 16 tokens: fewer than 32 neighbours exist, so the kNN is clamped with a note.
  const res = prune(small, 'prumerge', { heads: 'mean', variant: 'prumerge_plus' });
  assert.ok(res.notes.some((n) => /15 neighbours/.test(n)));
  // One outlier → ratio 1/16, step_length 16, spacing 5: extras 0, 5, 10 (< N−1 = 15) besides the outlier.
  assert.equal(res.output.n_outliers, 1);
  assert.deepEqual([res.output.step_length, res.output.spacing], [16, 5]);
  const extras = res.output.added as number[];
  assert.deepEqual(extras, [0, 5, 10].filter((i) => !(res.output.topk_order as number[]).includes(i)));
});

test('prumerge kNN on onnxruntime (float32, float64 re-scoring near the k-th) equals the float64 TypeScript kNN on crowded keys', () => {
  const n = 400;
  const dk = 64;
  const rand = mulberry32(23);
  const keys = Float32Array.from({ length: n * dk }, () => rand() - 0.5);
  // Groups of near-identical and identical keys put many cosines within the float32 error of the k-th.
  for (let i = 0; i < n; i++) {
    const src = (i % 50) * dk;
    if (i >= 50) for (let c = 0; c < dk; c++) keys[i * dk + c] = keys[src + c] + (i % 3 === 0 ? 0 : 1e-6 * (rand() - 0.5));
  }
  const attn = Float64Array.from({ length: n }, (_, i) => (i % 37 === 0 ? 0.05 : 0.001 * rand()));
  const feats = Float32Array.from({ length: n * 8 }, () => rand());
  const bundle = makeBundle(
    new Map([
      ['features', makeTensor('float32', [n, 8], feats)],
      ['pm_cls_attn', makeTensor('float64', [n], attn)],
      ['keys', makeTensor('float32', [n, dk], keys)],
    ]),
    { source: 'test', model: '', weightsKind: 'synthetic', layer: null, extra: {} },
  );
  try {
    configureKernels({ backend: 'ts', precision: 'f64' });
    const want = prune(bundle, 'prumerge', { variant: 'prumerge_plus' }, PM);
    configureKernels({ backend: 'auto', precision: 'auto' });
    const got = prune(bundle, 'prumerge', { variant: 'prumerge_plus' }, PM);
    assert.ok(want.keep.length * n * dk >= 1 << 18, 'large enough for the onnxruntime kNN');
    assert.deepEqual(got.trace.neighbours, want.trace.neighbours);
    assert.deepEqual(got.output, want.output);
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
  }
});

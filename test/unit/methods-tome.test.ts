import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError } from '../../extension/core/errors.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { tome } from '../../extension/core/methods/tome.ts';
import { resultJson } from '../../extension/cli/prune.ts';
import { loadOracleCase } from '../helpers/oracle.ts';
import { replayOf, replayRecords } from '../helpers/oracle-replay.ts';
import { bundleOf, toyX } from '../helpers/toy.ts';

/** ALGORITHMS.md §8 toy features (N = 16, d = 8). */
function toyBundle(withKeys: boolean): TokenBundle {
  const x = toyX();
  return bundleOf({ features: makeTensor('float64', [16, 8], x), ...(withKeys ? { keys: makeTensor('float64', [16, 8], Float64Array.from(x)) } : {}) });
}

test('tome reproduces every single-step oracle record', () => {
  replayRecords('tome', 15, (res, r, where, c) => {
    // The protected [CLS] row is −∞ and prints as null.
    if (r.params.class_token === true) assert.equal(JSON.parse(JSON.stringify(resultJson(res))).node_max[0], null, where);
    assert.equal(res.keep.length, c.json.N as number - (r.r_effective as number));
  });
});

test('tome schedule reproduces every tome_schedule oracle record', () => {
  replayRecords('tome_schedule', 5, (res, r, where) => {
    assert.equal(replayOf(r).method, 'tome');
    // keep: one representative per output group, each inside its own group.
    const sources = res.output.output_sources as number[][];
    assert.equal(res.keep.length, r.n_out);
    const group = res.trace.group_of_token as number[];
    for (const k of res.keep) assert.ok(sources[group[k]].includes(k));
    assert.equal(new Set(res.keep.map((k) => group[k])).size, res.keep.length, where);
  });
});

test('tome §8 toy: r = 4 merges on X itself (keys = X, or no keys at all)', () => {
  const want = [
    [4, 13],
    [2, 11],
    [6, 15],
    [0, 9],
  ];
  const withKeys = prune(toyBundle(true), 'tome', { r: 4 });
  assert.deepEqual(withKeys.output.merges, want);
  const noKeys = prune(toyBundle(false), 'tome', { r: 4 });
  assert.deepEqual(noKeys.output.merges, want);
  assert.ok(noKeys.notes.some((n) => /No keys/.test(n)));
  assert.deepEqual(withKeys.keep, [1, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  // Scores: merged-away A tokens are the least distinctive.
  const s = withKeys.scores as number[];
  for (const [src] of want) for (const k of withKeys.keep) assert.ok(s[src] <= s[k]);
});

test('tome budgetParams reaches exactly k tokens, with a schedule below N/2', () => {
  const c = loadOracleCase('oracle_f03_8x8x32');
  assert.deepEqual(tome.budgetParams(40, 64, { r: 8, class_token: false, metric: 'keys', x: 'features' }), { class_token: false, r: 24 });
  for (const k of [63, 40, 32, 20, 5, 1]) {
    const p = tome.budgetParams(k, 64, { class_token: false });
    assert.ok(p, `k=${k}`);
    const res = prune(c.bundle, 'tome', p);
    assert.equal(res.keep.length, k, `k=${k} ${JSON.stringify(p)}`);
  }
  assert.deepEqual(tome.budgetParams(10, 64, { class_token: false }), { class_token: false, schedule: [32, 16, 6] });
  assert.equal(tome.budgetParams(1, 64, { class_token: true }), null);
  assert.equal(tome.budgetParams(0, 64, {}), null);
});

test('tome r = 0 leaves every token in place', () => {
  const res = prune(toyBundle(true), 'tome', { r: 0 });
  assert.equal(res.keep.length, 16);
  assert.deepEqual(res.output.merges, []);
  assert.deepEqual(res.output.output_sources, Array.from({ length: 16 }, (_, i) => [i]));
});

test('tome rejects bad parameters', () => {
  const b = loadOracleCase('oracle_f01_4x4x8').bundle;
  assert.throws(() => prune(b, 'tome', { r: 2, schedule: [2] }), (e: unknown) => e instanceof InputError && /not both/.test(e.message));
  assert.throws(() => prune(b, 'tome', { r: -1 }), InputError);
  assert.throws(() => prune(b, 'tome', { schedule: [] }), InputError);
  assert.throws(() => prune(b, 'tome', { schedule: [2, 1.5] }), InputError);
  assert.throws(() => prune(b, 'tome', { r: 2, metric: 'features' }), (e: unknown) => e instanceof InputError && /metric/.test(e.message));
  assert.throws(() => prune(b, 'tome', { schedule: [2], metric: 'keys' }), (e: unknown) => e instanceof InputError && /metric/.test(e.message));
  assert.throws(() => prune(b, 'tome', { r: 2, x: 'keys' }), InputError);
  assert.throws(() => prune(b, 'tome', { r: 2, metric: 'keys' }, { keys: null }), (e: unknown) => e instanceof InputError && /no keys/.test(e.message));
  assert.throws(() => prune(b, 'tome', { class_token: 'yes' }), InputError);
});

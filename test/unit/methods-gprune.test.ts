import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError } from '../../extension/core/errors.ts';
import type { JsonObject } from '../../extension/core/json.ts';
import { gprune } from '../../extension/core/methods/gprune.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { assertClose, loadOracleCase, recordsFor } from '../helpers/oracle.ts';
import { assertOutputFields } from '../helpers/oracle-replay.ts';
import { bundleOf, toyFeatures, toyX } from '../helpers/toy.ts';

const toyBundle = (): TokenBundle => bundleOf({ features: toyFeatures() });

/** Printed to 6 decimals: half a unit in the last place. */
const SIX_DP = 5e-7 + 1e-12;

test('§8 toy rebuilds the documented check rows', () => {
  const x = toyX();
  assertClose(Array.from(x.subarray(0, 8)), [0.6, 1.541226, 1.028169, -0.276961, -0.602276, 0.350489, 0.984942, 0.166675], 0, SIX_DP, 'X[0]');
  assertClose(Array.from(x.subarray(120, 128)), [-0.779696, -0.769494, 0.524087, 1.01819, -0.087278, -0.869222, -0.567116, 0.657868], 0, SIX_DP, 'X[15]');
});

test('§8 G-Prune test vector: degree, initial mass, scores and keep', () => {
  const r = prune(toyBundle(), 'gprune', {});
  assert.deepEqual(r.output.degree, [5, 6, 6, 6, 6, 6, 5, 4, 4, 5, 6, 6, 6, 6, 6, 5]);
  assertClose(r.output.norms, [2.313588, 2.447109, 2.077244, 2.130155, 2.222054, 1.939669, 1.990779, 2.134427, 2.065554, 2.149089, 1.947757, 2.185005, 2.45702, 2.256035, 1.916358, 2.007237], 0, SIX_DP, 'm0');
  assertClose(
    r.output.scores,
    [0.44802, 0.377881, 0.358083, 0.358263, 0.378656, 0.32026, 0.400305, 0.532422, 0.515261, 0.448111, 0.351777, 0.359648, 0.391199, 0.37891, 0.319449, 0.400282],
    0,
    SIX_DP,
    's',
  );
  assert.equal(r.output.K, 8);
  assert.deepEqual(r.keep, [0, 6, 7, 8, 9, 12, 13, 15]);
  assert.deepEqual(r.output.keep, r.keep);
  assert.equal(r.selection, 'ranked');
  assert.deepEqual(r.params, { keep_ratio: 0.5, theta: 0.5, temperature: 0.03, iterate_num: 5, layout: 'single' });
});

test('trace: mass maps per iteration conserve total mass and end at scores × degree', () => {
  const r = prune(toyBundle(), 'gprune', { iterate_num: 5 });
  const groups = r.trace.groups as JsonObject[];
  assert.equal(groups.length, 1);
  const mass = groups[0].mass as number[][];
  assert.equal(mass.length, 6);
  const total = (m: number[]): number => m.reduce((a, b) => a + b, 0);
  for (const m of mass) assert.ok(Math.abs(total(m) - total(mass[0])) < 1e-12 * total(mass[0]), 'P is row-stochastic');
  assertClose(mass[0], r.output.norms, 1e-15, 0, 'm0 = norms');
  const deg = r.output.degree as number[];
  const s = r.output.scores as number[];
  assertClose(mass[5], s.map((v, j) => v * deg[j]), 1e-12, 0, 'm5');
  // Flow edges: at most 8 per node, none to itself, weights sorted per source and positive; count ≤ deg − 1.
  const edges = groups[0].edges as { src: number[]; dst: number[]; weight: number[] };
  for (let i = 0; i < 16; i++) {
    const mine = edges.src.map((sIdx, e) => [sIdx, e]).filter(([sIdx]) => sIdx === i).map(([, e]) => e);
    assert.equal(mine.length, Math.min(8, deg[i] - 1), `edges of ${i}`);
    for (const e of mine) assert.ok(edges.dst[e] !== i && edges.weight[e] > 0);
    for (let a = 1; a < mine.length; a++) assert.ok(edges.weight[mine[a - 1]] >= edges.weight[mine[a]]);
  }
  // Scores heat-map: per-token s, top-K of it is the kept set.
  assert.deepEqual(r.scores, s);
});

test('iterate_num 0 scores the initial mass divided by degree', () => {
  const r = prune(toyBundle(), 'gprune', { iterate_num: 0 });
  const norms = r.output.norms as number[];
  const deg = r.output.degree as number[];
  assertClose(r.output.scores, norms.map((w, j) => w / deg[j]), 1e-15, 0, 's');
});

const FLOAT_FIELDS = new Set(['scores', 'norms', 'scores_base', 'scores_hires']);

test('every gprune oracle record: indices exact, floats within the README tolerance', () => {
  const records = recordsFor('gprune');
  assert.ok(records.length >= 12, `found ${records.length} records`);
  for (const { c, r } of records) {
    const res = prune(c.bundle, 'gprune', r.params);
    const where = `${c.name} ${JSON.stringify(r.params)}`;
    assert.equal(res.params.layout, r.params.layout, where);
    assertOutputFields(res.output, r, where, FLOAT_FIELDS);
    assert.deepEqual(res.keep, r.keep, where);
  }
});

test('LLaVA-NeXT layout is also read positionally from grid + hires_grid when group/always_keep are hidden', () => {
  const c = loadOracleCase('oracle_f06_next_24x24+12x18_d16');
  const rec = c.json.results.find((x) => x.method === 'gprune' && x.params.keep_ratio === 0.25);
  assert.ok(rec);
  const res = prune(c.bundle, 'gprune', { keep_ratio: 0.25 }, { group: null, always_keep: null });
  assert.equal(res.params.layout, 'llava_next');
  assert.deepEqual(res.keep, rec.keep);
  assert.deepEqual(res.output.newline_indices, rec.newline_indices);
  // Newline tokens carry the top score so a score ranking puts them first.
  const s = res.scores as number[];
  const max = Math.max(...s);
  for (const t of rec.newline_indices as number[]) assert.equal(s[t], max);
});

test('layout given but not matching the bundle is an InputError', () => {
  const next = loadOracleCase('oracle_f06_next_24x24+12x18_d16').bundle;
  assert.throws(() => prune(next, 'gprune', { layout: 'single' }), (e: unknown) => e instanceof InputError && /layout "single"/.test(e.message));
  assert.throws(() => prune(toyBundle(), 'gprune', { layout: 'llava_next' }), InputError);
  assert.throws(() => prune(toyBundle(), 'gprune', { layout: 'pyramid' }), InputError);
});

test('always_keep tokens in a single-group bundle are kept and not scored', () => {
  const keepFlag = new Uint8Array(16);
  keepFlag[3] = 1;
  const b = bundleOf({ features: makeTensor('float64', [16, 8], toyX()), always_keep: makeTensor('uint8', [16], keepFlag) });
  const r = prune(b, 'gprune', { keep_ratio: 0.25 });
  assert.equal(r.output.K, 3); // ⌊0.25·15⌋
  assert.ok(r.keep.includes(3));
  assert.equal(r.keep.length, 4);
});

test('bad parameters and inputs give one clear InputError', () => {
  const b = toyBundle();
  const bad: [Record<string, number | string>, RegExp][] = [
    [{ keep_ratio: 0 }, /keep_ratio/],
    [{ keep_ratio: 1.5 }, /keep_ratio/],
    [{ keep_ratio: -0.1 }, /keep_ratio/],
    [{ keep_ratio: 0.05 }, /keeps no tokens/],
    [{ temperature: 0 }, /temperature/],
    [{ iterate_num: 2.5 }, /iterate_num/],
    [{ theta: 2 }, /theta/],
    [{ similarity: 0.5 }, /Unknown parameter "similarity"/],
  ];
  for (const [params, msg] of bad) {
    assert.throws(() => prune(b, 'gprune', params), (e: unknown) => e instanceof InputError && msg.test(e.message), JSON.stringify(params));
  }
  const group = new Int32Array(16).fill(2);
  const g2 = bundleOf({ features: makeTensor('float64', [16, 8], toyX()), group: makeTensor('int32', [16], group) });
  assert.throws(() => prune(g2, 'gprune', {}), (e: unknown) => e instanceof InputError && /group/.test(e.message));
});

test('budgetParams gives a keep_ratio whose floor realises exactly k', () => {
  // k/n alone is not enough: ⌊(29/100)·100⌋ = 28 in floating point.
  assert.equal(Math.floor((29 / 100) * 100), 28);
  for (const n of [16, 49, 64, 100, 576, 2304, 2880]) {
    for (let k = 1; k <= n; k++) {
      const p = gprune.budgetParams(k, n, { theta: 0.5 });
      assert.ok(p, `k=${k} n=${n}`);
      const r = p.keep_ratio as number;
      assert.ok(r > 0 && r <= 1);
      assert.equal(Math.floor(r * n), k, `k=${k} n=${n} r=${r}`);
      assert.equal(p.theta, 0.5);
    }
  }
  assert.equal(gprune.budgetParams(0, 16, {}), null);
  assert.equal(gprune.budgetParams(17, 16, {}), null);
  const p = gprune.budgetParams(5, 16, {});
  assert.ok(p);
  assert.equal(prune(toyBundle(), 'gprune', p).keep.length, 5);
});

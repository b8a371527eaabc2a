// F³A (PruneLens' reconstruction of ALGORITHMS.md §4.3): the §8 toy vector, every oracle record, bad params.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { RoleMapping, TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError } from '../../extension/core/errors.ts';
import type { JsonObject } from '../../extension/core/json.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import { makeCells, waterFill } from '../../extension/core/methods/f3a/budget.ts';
import { headWiring, tag, tagHeads, tagRows, wtaShape, type WtaShape } from '../../extension/core/methods/f3a/wta.ts';
import { loadSums } from '../../extension/core/methods/f3a/sums-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';
import { mulberry32 as builderMulberry } from '../../models/onnx/builder.ts';
import { assertClose, recordsFor } from '../helpers/oracle.ts';

const META = { source: 'f3a toy', model: '', weightsKind: 'synthetic' as const, layer: null, extra: {} };

/** §8 toy: 8×8 grid, d = 16, V[i,k] = sin(0.37i + 0.9k) + 0.3·cos(0.11·i·k), two cues near tokens 18 and 45. */
function toyBundle(withGrid = true): TokenBundle {
  const n = 64;
  const d = 16;
  const V = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) V[i * d + k] = Math.sin(0.37 * i + 0.9 * k) + 0.3 * Math.cos(0.11 * i * k);
  const Q = new Float64Array(2 * d);
  for (let k = 0; k < d; k++) {
    Q[k] = V[18 * d + k] + 0.2 * Math.cos(k);
    Q[d + k] = V[45 * d + k] - 0.1 * Math.sin(k);
  }
  const arrays = new Map([
    ['features', makeTensor('float64', [n, d], V)],
    ['cue', makeTensor('float64', [2, d], Q)],
  ]);
  if (withGrid) arrays.set('grid', makeTensor('int32', [2], Int32Array.from([8, 8])));
  return makeBundle(arrays, META);
}

const stageSet = (out: JsonObject, stage: string): number[] =>
  (out.keep as number[]).filter((_, j) => (out.labels as string[])[j] === stage);

test('mulberry32(1234) first outputs match §8, and the ONNX builder re-exports the same PRNG', () => {
  const r = mulberry32(1234);
  for (const want of [0.0732949781, 0.7034119898, 0.9028560191]) assert.ok(Math.abs(r() - want) < 5e-11);
  assert.equal(builderMulberry, mulberry32);
});

test('§8 F³A toy: derived sizes, budgets, quotas, keep, stages and odour peaks', () => {
  const res = prune(toyBundle(), 'f3a', { B: 13 });
  const out = res.output;
  assert.deepEqual(out.wta, { m: 128, s: 2, k: 7 });
  assert.equal(out.g, 2);
  assert.deepEqual(out.budgets, { B_loc: 8, B_comp: 3, B_rec: 2 });
  assert.deepEqual(out.quotas, [0, 2, 1, 0, 0, 1, 1, 0, 0, 0, 2, 1, 0, 0, 0, 0]);
  assert.deepEqual(res.keep, [2, 6, 10, 11, 12, 27, 28, 33, 44, 45, 46, 52, 62]);
  assert.deepEqual(stageSet(out, 'loc'), [10, 11, 12, 27, 28, 44, 45, 46]);
  assert.deepEqual(stageSet(out, 'comp'), [2, 52, 62]);
  assert.deepEqual(stageSet(out, 'rec'), [6, 33]);
  const o = out.odour as number[];
  assert.equal(o[45], 1);
  assert.ok(Math.abs(o[11] - 0.9583) < 5e-5, `odour[11] = ${o[11]}`);
  // Token 11 is the peak of the upper half (cue 1's side); 45 the global peak.
  assert.equal(o.slice(0, 32).indexOf(Math.max(...o.slice(0, 32))), 11);
  assert.equal(o.indexOf(Math.max(...o)), 45);
  assert.deepEqual(res.scores, o);
  assert.equal(res.selection, 'staged');
  assert.ok(res.notes.some((s) => s.includes("the authors' code is not public")));
});

test('§8 F³A toy without cues keeps the published set', () => {
  const res = prune(toyBundle(), 'f3a', { B: 13 }, { cue: null });
  assert.deepEqual(res.keep, [13, 14, 15, 23, 30, 31, 32, 33, 37, 46, 48, 49, 62]);
  assert.deepEqual(res.output.wta, {});
});

test('trace: mean-shift paths, competition penalties, coverage and U_c are consistent with the result', () => {
  const res = prune(toyBundle(), 'f3a', { B: 13 });
  const t = res.trace as unknown as {
    refinement: { cell: number; quota: number; path: number[][]; picked: number[] }[];
    competition: { token: number; gain: number; redPenalty: number; crowdPenalty: number }[];
    coverageBefore: number[];
    coverageAfter: number[];
    recovery: { cell: number; token: number; U: (number | null)[] }[];
    headOdour: number[][];
    argmaxCue: number[];
    cellOf: number[];
  };
  const o = res.output.odour as number[];
  assert.deepEqual(
    t.refinement.map((r) => r.cell),
    [1, 2, 5, 6, 10, 11],
  );
  for (const r of t.refinement) {
    assert.ok(r.path.length >= 1 && r.path.length <= 4);
    assert.equal(r.picked.length, r.quota);
  }
  assert.deepEqual(res.output.comp_gains, t.competition.map((c) => c.gain));
  for (const c of t.competition) assertClose(c.gain, o[c.token] - c.redPenalty - c.crowdPenalty, 1e-12, 1e-15, 'gain');
  assert.equal(t.recovery.length, 2);
  for (const r of t.recovery) assert.equal(t.cellOf[r.token], r.cell);
  t.coverageAfter.forEach((v, i) => assert.ok(v >= t.coverageBefore[i]));
  assert.ok(t.coverageAfter.some((v, i) => v > t.coverageBefore[i]));
  assert.equal(t.headOdour.length, 4);
  assert.ok(t.argmaxCue.every((u) => u === 0 || u === 1));
});

const VIEW_ROLES: Record<string, { mapping: RoleMapping; sensing?: 'dense' }> = {
  'features+cue': { mapping: {} },
  'image_joint+text': { mapping: { features: 'image_joint', cue: 'text' } },
  'features, no cue': { mapping: { cue: null } },
  'features+cue (dense variant)': { mapping: {}, sensing: 'dense' },
  'features+cue_flat': { mapping: { cue: 'cue_flat' } },
};

test('every f3a_proposed oracle record: indices and labels exact, floats at 1e-9 relative', () => {
  const records = recordsFor('f3a_proposed');
  assert.ok(records.length >= 60, `only ${records.length} records`);
  for (const { c, r } of records) {
    const where = `${c.name} ${JSON.stringify(r.params)}`;
    const view = VIEW_ROLES[String(r.params.view)];
    assert.ok(view, `${where}: unknown view`);
    const params: JsonObject = { ratio: r.params.ratio, B: r.params.B };
    if (view.sensing) params.sensing = view.sensing;
    const out = prune(c.bundle, 'f3a', params, view.mapping).output;
    for (const f of ['keep', 'labels', 'order', 'budgets', 'flat', 'g', 'quotas', 'wta']) assert.deepEqual(out[f], r[f], `${where}.${f}`);
    for (const f of ['odour', 'cell_odour', 'comp_gains', 'kappa']) assertClose(out[f], r[f], 1e-9, 0, `${where}.${f}`);
  }
});

test('the oracle flags (view, dense) are accepted and must agree with sensing', () => {
  const b = toyBundle();
  const a = prune(b, 'f3a', { B: 13, dense: true, view: 'features+cue (dense variant)' });
  const s = prune(b, 'f3a', { B: 13, sensing: 'dense' });
  assert.deepEqual(a.output, s.output);
  assert.notDeepEqual(s.keep, prune(b, 'f3a', { B: 13 }).keep);
  assert.throws(() => prune(b, 'f3a', { B: 13, dense: true, sensing: 'sparse' }), InputError);
});

test('budget: default ratio 0.2, alias budget, budgetParams realise k tokens', () => {
  const b = toyBundle();
  assert.equal(prune(b, 'f3a').keep.length, 13);
  assert.equal(prune(b, 'f3a', { ratio: 0.5 }).keep.length, 32);
  assert.deepEqual(prune(b, 'f3a', { budget: 20 }).keep, prune(b, 'f3a', { B: 20 }).keep);
  const spec = getMethod('f3a');
  for (const k of [1, 7, 64]) {
    const p = spec.budgetParams(k, 64, {});
    assert.deepEqual(p, { B: k });
    const res = prune(b, 'f3a', p ?? {});
    assert.equal(res.keep.length, k);
    const bud = res.output.budgets as { B_loc: number; B_comp: number; B_rec: number };
    assert.equal(bud.B_loc + bud.B_comp + bud.B_rec, k);
  }
});

test('bad parameters and inputs are one-sentence InputErrors', () => {
  const b = toyBundle();
  const bad: [JsonObject, RegExp][] = [
    [{ B: 65 }, /exceeds the 64 tokens/],
    [{ ratio: 0 }, /ratio of f3a must be in \(0, 1\]/],
    [{ ratio: -0.1 }, /ratio/],
    [{ ratio: 0.2, B: 12 }, /disagree/],
    [{ B: 12, budget: 13 }, /disagree/],
    [{ B: 0 }, /B/],
    [{ sensing: 'fuzzy' }, /sensing/],
    [{ lambda: 1 }, /Unknown parameter "lambda"/],
  ];
  for (const [params, msg] of bad) assert.throws(() => prune(b, 'f3a', params), (e: unknown) => e instanceof InputError && msg.test(e.message));
  assert.throws(
    () => prune(toyBundle(false), 'f3a', { B: 13 }),
    (e: unknown) => e instanceof InputError && /F³A needs a token grid/.test(e.message),
  );
  const narrow = makeBundle(new Map([...b.arrays, ['narrow', makeTensor('float64', [2, 8], new Float64Array(16).fill(1))]]), META);
  assert.throws(
    () => prune(narrow, 'f3a', { B: 13 }, { cue: 'narrow' }),
    (e: unknown) => e instanceof InputError && /width 8 but features "features" have 16/.test(e.message),
  );
});

test('WTA tags break z ties by lower cell; water-filling respects caps and largest remainders', () => {
  const identity = Int32Array.from([0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(tag(Float64Array.from([1, 2, 2, 2, 0, 2]), identity, { m: 6, s: 1, k: 3 })), [1, 2, 3]);
  const cells = makeCells({ h: 4, w: 4 });
  assert.equal(cells.g, 2);
  const p = Float64Array.from([0.7, 0.1, 0.1, 0.1]);
  assert.deepEqual(Array.from(waterFill(p, cells, 5)), [2, 1, 1, 1]);
  assert.deepEqual(Array.from(waterFill(p, cells, 10)), [2, 2, 2, 2]);
  assert.deepEqual(Array.from(waterFill(p, cells, 0)), [0, 0, 0, 0]);
});

/** The k cells of the largest sums (each summed from 0 in sampling order; ties: lower cell), ascending. */
function naiveTag(x: Float64Array, wires: Int32Array, shape: WtaShape): number[] {
  const z = Array.from({ length: shape.m }, (_, c) => {
    let acc = 0;
    for (let t = 0; t < shape.s; t++) acc += x[wires[c * shape.s + t]];
    return acc;
  });
  const order = z.map((_, c) => c).sort((a, b) => (z[a] !== z[b] ? z[b] - z[a] : a - b));
  return order.slice(0, shape.k).sort((a, b) => a - b);
}

test('WTA tags of many rows (blocks of eight, sampled threshold; SIMD and TypeScript sums) equal a full sort, exact ties included', () => {
  assert.ok(loadSums(), 'WebAssembly SIMD available in this Node');
  const rand = mulberry32(13);
  for (const d of [2, 17, 64, 257, 1024]) {
    const shape = wtaShape(d);
    const wires = headWiring(1, d, shape);
    const rows = 21; // not a multiple of the block
    const X = new Float64Array(rows * d);
    for (let i = 0; i < rows - 1; i++) {
      // Quantised coordinates make many cell sums tie exactly; the rest are generic.
      for (let j = 0; j < d; j++) X[i * d + j] = i % 2 === 0 ? Math.round((rand() - 0.5) * 4) / 4 : rand() - 0.5;
    }
    // The last row is zero: every cell ties at 0.
    for (const kernel of ['auto', 'ts'] as const) {
      const got = tagRows(X, rows, d, wires, shape, kernel);
      assert.equal(got.length, rows);
      for (let i = 0; i < rows; i++) {
        assert.deepEqual(Array.from(got[i]), naiveTag(X.subarray(i * d, (i + 1) * d), wires, shape), `${kernel} d=${d} row ${i}`);
      }
    }
    const [h0, h1] = tagHeads(X, rows, d, [wires, headWiring(2, d, shape)], shape);
    assert.deepEqual(h0.map((t) => Array.from(t)), tagRows(X, rows, d, wires, shape).map((t) => Array.from(t)), `heads d=${d}`);
    assert.deepEqual(h1.map((t) => Array.from(t)), tagRows(X, rows, d, headWiring(2, d, shape), shape).map((t) => Array.from(t)), `second head d=${d}`);
  }
  // Every sampled cell (each eighth) is large: fewer than k cells reach the sampled threshold, so all are candidates.
  const m = 64;
  const identity = Int32Array.from({ length: m }, (_, c) => c);
  const x = Float64Array.from({ length: m }, (_, c) => (c % 8 === 0 ? 10 : (c * 7) % 5));
  const shape = { m, s: 1, k: 16 };
  assert.deepEqual(Array.from(tag(x, identity, shape)), naiveTag(x, identity, shape));
});

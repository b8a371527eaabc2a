import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import type { Tensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { InputError, MissingInputError } from '../../extension/core/errors.ts';
import { cdpruner } from '../../extension/core/methods/cdpruner.ts';
import { DPP_GAIN_FLOOR, greedyDpp, minMaxRelevance } from '../../extension/core/methods/dpp.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { configureKernels } from '../../extension/core/numeric/gemm.ts';
import { normalizeRows } from '../../extension/core/numeric/linalg.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';
import { assertClose, loadOracleCase, recordsFor } from '../helpers/oracle.ts';
import { assertOutputFields } from '../helpers/oracle-replay.ts';
import { bundleOf, toyFeatures, toyX } from '../helpers/toy.ts';

/**
 * The toy with a CLIP side whose official relevance (sign −1) is cos(0.4i): one text vector t = (1,0) and
 * unit image embeddings e_i = (−cos 0.4i, sin 0.4i), so −cos(e_i, t) = cos(0.4i).
 */
function toyBundle(extra: Record<string, Tensor> = {}): TokenBundle {
  const joint = new Float64Array(32);
  for (let i = 0; i < 16; i++) {
    joint[2 * i] = -Math.cos(0.4 * i);
    joint[2 * i + 1] = Math.sin(0.4 * i);
  }
  const arrays: Record<string, Tensor> = {
    features: makeTensor('float64', [16, 8], toyX()),
    image_joint: makeTensor('float64', [16, 2], joint),
    text: makeTensor('float64', [1, 2], Float64Array.from([1, 0])),
    ...extra,
  };
  return bundleOf(arrays);
}

const TOY_ORDER = [0, 15, 13, 2, 3];
const TOY_GAINS = [1.000001, 0.7645, 0.40539, 0.015875, 0.006437];
/** Half a unit in the last printed digit of each gain. */
const TOY_GAIN_TOL = [5e-7, 5e-5, 5e-6, 5e-7, 5e-7];

function checkToyGains(gains: readonly number[]): void {
  assert.equal(gains.length, 5);
  gains.forEach((g, i) => assert.ok(Math.abs(g - TOY_GAINS[i]) <= TOY_GAIN_TOL[i] + 1e-12, `gain ${i}: ${g} vs ${TOY_GAINS[i]}`));
}

test('§8 CDPruner test vector through the DPP kernel: order [0,15,13,2,3] and gains', () => {
  const r = minMaxRelevance(Array.from({ length: 16 }, (_, i) => Math.cos(0.4 * i)));
  const sel = greedyDpp(normalizeRows({ rows: 16, cols: 8, data: toyX() }), 16, 8, r, 5);
  assert.deepEqual(sel.order, TOY_ORDER);
  checkToyGains(sel.gains);
  assert.equal(sel.exhaustedAt, -1);
});

/** det of a small symmetric matrix by Gaussian elimination with partial pivoting. */
function det(a: number[][]): number {
  const m = a.map((row) => [...row]);
  let d = 1;
  for (let c = 0; c < m.length; c++) {
    let p = c;
    for (let r = c + 1; r < m.length; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (p !== c) {
      [m[p], m[c]] = [m[c], m[p]];
      d = -d;
    }
    d *= m[c][c];
    for (let r = c + 1; r < m.length; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k < m.length; k++) m[r][k] -= f * m[c][k];
    }
  }
  return d;
}

test('§8 toy: each gain equals the determinant ratio det(L_{S∪j}) / det(L_S) of the brute-force greedy', () => {
  const r = minMaxRelevance(Array.from({ length: 16 }, (_, i) => Math.cos(0.4 * i)));
  const xn = normalizeRows({ rows: 16, cols: 8, data: toyX() });
  const L = (i: number, j: number): number => {
    let s = 0;
    for (let k = 0; k < 8; k++) s += xn[i * 8 + k] * xn[j * 8 + k];
    return r[i] * s * r[j];
  };
  const sub = (idx: number[]): number[][] => idx.map((i) => idx.map((j) => L(i, j)));
  const chosen: number[] = [];
  const gains: number[] = [];
  for (let step = 0; step < 5; step++) {
    const base = chosen.length ? det(sub(chosen)) : 1;
    let best = -1;
    let bestGain = -Infinity;
    for (let j = 0; j < 16; j++) {
      if (chosen.includes(j)) continue;
      const g = det(sub([...chosen, j])) / base;
      if (g > bestGain) [best, bestGain] = [j, g];
    }
    chosen.push(best);
    gains.push(bestGain);
  }
  assert.deepEqual(chosen, TOY_ORDER);
  const sel = greedyDpp(xn, 16, 8, r, 5);
  assertClose(sel.gains, gains, 1e-9, 1e-12, 'gains vs det ratios');
});

test('§8 toy through the method: image_joint/text relevance path gives the same picks', () => {
  const res = prune(toyBundle(), 'cdpruner', { visual_token_num: 5 });
  assert.deepEqual(res.output.order, TOY_ORDER);
  assert.deepEqual(res.keep, [0, 2, 3, 13, 15]);
  checkToyGains(res.output.gains as number[]);
  const rel = res.output.relevance as number[];
  assertClose(rel, Array.from(minMaxRelevance(Array.from({ length: 16 }, (_, i) => Math.cos(0.4 * i)))), 1e-12, 1e-12, 'relevance');
  assert.equal(res.selection, 'greedy');
  // Heat = conditional gain: the picks rank first, in pick order.
  const s = res.scores as number[];
  const ranked = Array.from(s.keys()).sort((a, b) => s[b] - s[a] || a - b);
  assert.deepEqual(ranked.slice(0, 5), TOY_ORDER);
});

test('relevance_sign +1 mirrors the min–max relevance: r₊ + r₋ = 1 + 2e-6/span', () => {
  const minus = prune(toyBundle(), 'cdpruner', { visual_token_num: 3, relevance_sign: -1 }).output.relevance as number[];
  const plus = prune(toyBundle(), 'cdpruner', { visual_token_num: 3, relevance_sign: 1 }).output.relevance as number[];
  const raw = Array.from({ length: 16 }, (_, i) => Math.cos(0.4 * i));
  const span = Math.max(...raw) - Math.min(...raw);
  plus.forEach((p, i) => assert.ok(Math.abs(p + minus[i] - (1 + 2e-6 / span)) < 1e-12, `token ${i}`));
});

const FLOAT_FIELDS = new Set(['gains', 'relevance']);

test('every cdpruner oracle record: K, order, keep exact; gains and relevance within tolerance', () => {
  const records = recordsFor('cdpruner');
  assert.ok(records.length >= 10, `found ${records.length} records`);
  for (const { c, r } of records) {
    const res = prune(c.bundle, 'cdpruner', r.params);
    const where = `${c.name} ${JSON.stringify(r.params)}`;
    assertOutputFields(res.output, r, where, FLOAT_FIELDS);
    assert.deepEqual(res.keep, r.keep, where);
  }
});

test('missing text or image_joint is a MissingInputError that says what is needed', () => {
  const b = loadOracleCase('oracle_f01_4x4x8').bundle;
  assert.throws(
    () => prune(b, 'cdpruner', { visual_token_num: 4 }, { text: null }),
    (e: unknown) => e instanceof MissingInputError && e.role === 'text' && /cdpruner needs text/.test(e.message),
  );
  assert.throws(
    () => prune(b, 'cdpruner', { visual_token_num: 4 }, { image_joint: null }),
    (e: unknown) => e instanceof MissingInputError && /needs image_joint/.test(e.message),
  );
  const featuresOnly = bundleOf({ features: toyFeatures() });
  assert.throws(() => prune(featuresOnly, 'cdpruner', {}), MissingInputError);
});

test('always_keep tokens are kept outside the DPP', () => {
  const flag = new Uint8Array(16);
  flag[0] = 1;
  flag[9] = 1;
  const res = prune(toyBundle({ always_keep: makeTensor('uint8', [16], flag) }), 'cdpruner', { visual_token_num: 4 });
  const order = res.output.order as number[];
  assert.equal(order.length, 4);
  assert.ok(!order.includes(0) && !order.includes(9));
  assert.deepEqual(res.keep, [...order, 0, 9].sort((a, b) => a - b));
});

test('a kernel that runs out of rank still returns K picks, filled by relevance and flagged', () => {
  // Features of rank 2: the DPP can pick at most 2 tokens with positive gain.
  const f = new Float64Array(16 * 2);
  for (let i = 0; i < 16; i++) [f[2 * i], f[2 * i + 1]] = [Math.cos(0.2 * i), Math.sin(0.2 * i)];
  const res = prune(toyBundle({ features: makeTensor('float64', [16, 2], f) }), 'cdpruner', { visual_token_num: 5 });
  assert.equal(res.keep.length, 5);
  const exhausted = res.trace.dpp_exhausted_at as number;
  assert.ok(exhausted >= 2 && exhausted < 5, `exhausted at ${exhausted}`);
  assert.ok(res.notes.some((n) => /out of rank/.test(n)));
  assert.deepEqual((res.output.gains as number[]).slice(exhausted), new Array(5 - exhausted).fill(0));
});

/** n tokens of rank r in d dimensions (float32, as encoders give them), with random CLIP-side relevance. */
function lowRankBundle(n: number, d: number, r: number, seed: number): TokenBundle {
  const rand = mulberry32(seed);
  const g = (): number => rand() + rand() + rand() - 1.5;
  const basis = Float64Array.from({ length: r * d }, g);
  const f = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < r; a++) {
      const c = g();
      for (let k = 0; k < d; k++) f[i * d + k] += c * basis[a * d + k];
    }
  }
  const dt = 16;
  return bundleOf({
    features: makeTensor('float32', [n, d], f),
    image_joint: makeTensor('float32', [n, dt], Float32Array.from({ length: n * dt }, g)),
    text: makeTensor('float32', [2, dt], Float32Array.from({ length: 2 * dt }, g)),
  });
}

test('a saturated kernel (rank 12, 40 picks): the same picks on onnxruntime float32 and TypeScript float64 kernels, the tail by relevance', () => {
  const n = 600;
  const r = 12;
  const k = 40;
  const b = lowRankBundle(n, 256, r, 11);
  const runWith = (backend: 'ts' | 'ort', budget: number) => {
    configureKernels({ backend });
    try {
      return prune(b, 'cdpruner', { visual_token_num: budget });
    } finally {
      configureKernels({ backend: 'auto' });
    }
  };
  const ts = runWith('ts', k);
  const ort = runWith('ort', k);
  assert.match(ort.notes[0], /float32 GEMM/);
  assert.match(ts.notes[0], /float64/);
  for (const [name, res] of [
    ['ts', ts],
    ['ort', ort],
  ] as const) {
    // In exact arithmetic gains are 0 from pick r on; what each backend computes there is its own rounding.
    assert.equal(res.trace.dpp_exhausted_at, r, name);
    const gains = res.output.gains as number[];
    assert.ok(gains[r - 1] > 1e-3, `${name}: last genuine gain ${gains[r - 1]}`);
    assert.deepEqual(gains.slice(r), new Array(k - r).fill(0), name);
    const relevance = res.output.relevance as number[];
    const floor = res.trace.dpp_gain_floor as number;
    const maxL = Math.max(...relevance.map((x) => x * x));
    assert.ok(Math.abs(floor - DPP_GAIN_FLOOR * maxL) <= 1e-12 * floor, `${name}: floor ${floor} = τ·max L_ii (unit rows)`);
    const residual = res.trace.residual_gain as number[];
    assert.ok(Math.max(...residual) <= floor, `${name}: what is left after rank ${r} is below the floor`);
    // The tail: the unpicked tokens of highest relevance, in relevance order.
    const order = res.output.order as number[];
    const rest = Array.from({ length: n }, (_, i) => i)
      .filter((i) => !order.slice(0, r).includes(i))
      .sort((a, c) => relevance[c] - relevance[a] || a - c);
    assert.deepEqual(order.slice(r), rest.slice(0, k - r), name);
    assert.ok(res.notes.some((x) => x.includes(`≤ ${DPP_GAIN_FLOOR}·max L_ii`)), name);
  }
  // float32 rounding leaves residues of ≈ 1e-7 (nonzero: without the floor they would pick the tail).
  assert.ok(Math.max(...(ort.trace.residual_gain as number[])) > 1e-12, 'float32 residues are not exact zeros');
  assert.deepEqual(ort.output.order, ts.output.order);
  assert.deepEqual(ort.keep, ts.keep);
  // Greedy picks are a prefix of the full pick order on either backend (the side view's "keep from" relies on it).
  for (const backend of ['ts', 'ort'] as const) {
    assert.deepEqual((runWith(backend, n).output.order as number[]).slice(0, k), ts.output.order, `${backend}: prefix of the full order`);
  }
});

test('bad parameters give one clear InputError', () => {
  const b = toyBundle();
  const bad: [Record<string, number | string>, RegExp][] = [
    [{ visual_token_num: 0 }, /visual_token_num/],
    [{ visual_token_num: 17 }, /exceeds the 16/],
    [{ visual_token_num: 2.5 }, /visual_token_num/],
    [{ relevance_sign: 0 }, /relevance_sign/],
    [{ relevance_sign: 2 }, /relevance_sign/],
    [{ theta: 0.5 }, /Unknown parameter "theta"/],
  ];
  for (const [params, msg] of bad) {
    assert.throws(() => prune(b, 'cdpruner', params), (e: unknown) => e instanceof InputError && msg.test(e.message), JSON.stringify(params));
  }
});

test('budgetParams sets visual_token_num = k within 1..n', () => {
  assert.deepEqual(cdpruner.budgetParams(7, 16, { relevance_sign: 1 }), { relevance_sign: 1, visual_token_num: 7 });
  assert.equal(cdpruner.budgetParams(0, 16, {}), null);
  assert.equal(cdpruner.budgetParams(17, 16, {}), null);
  const p = cdpruner.budgetParams(6, 16, {});
  assert.ok(p);
  assert.equal(prune(toyBundle(), 'cdpruner', p).keep.length, 6);
});

test('past 4,096 tokens (float32 pick rows, two threads) the picks at a budget are a prefix of the full pick order', () => {
  const n = 4200;
  const d = 48;
  const rand = mulberry32(5);
  const g = (): number => rand() * 2 - 1;
  const b = bundleOf({
    features: makeTensor('float32', [n, d], Float32Array.from({ length: n * d }, g)),
    image_joint: makeTensor('float32', [n, 8], Float32Array.from({ length: n * 8 }, g)),
    text: makeTensor('float32', [1, 8], Float32Array.from({ length: 8 }, g)),
  });
  const small = prune(b, 'cdpruner', { visual_token_num: 30 });
  const full = prune(b, 'cdpruner', { visual_token_num: n });
  for (const res of [small, full]) assert.match(res.notes[0], /pick rows stored in float32/);
  const order = full.output.order as number[];
  assert.ok((full.trace.dpp_exhausted_at as number) > 30, 'the 30 picks are DPP picks, not the relevance tail');
  assert.deepEqual(order.slice(0, 30), small.output.order);
});

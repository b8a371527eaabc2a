// Similarity kernels (numeric/gemm, gram) and the sparse G-Prune graph against the dense float64 path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Matrix, makeTensor } from '../../extension/core/bundle/tensor.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { rankDescending, topK } from '../../extension/core/numeric/ranking.ts';
import { configureKernels, f32DotErrorBound, gemmNT, kernelPlan, type KernelPlan, planErrorBound, tsGemmNT } from '../../extension/core/numeric/gemm.ts';
import { rowGram, rowGramLimits, speculativeRows } from '../../extension/core/numeric/row-gram.ts';
import { maxMinSelect } from '../../extension/core/methods/divprune.ts';
import { greedyDppRows, minMaxRelevance } from '../../extension/core/methods/dpp.ts';
import { pickRowStorage } from '../../extension/core/methods/cdpruner.ts';
import { cosineRows, exactDot, forEachUpperBlock } from '../../extension/core/numeric/gram.ts';
import { loadOrtGemm } from '../../extension/core/numeric/ort-gemm.ts';
import { normalizeRows } from '../../extension/core/numeric/linalg.ts';
import { gpruneLimits, propagateGroup, type GPruneSettings } from '../../extension/core/methods/gprune-graph.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';
import { topSet } from '../helpers/arrays.ts';

const F64: KernelPlan = { backend: 'ts', precision: 'f64' };
const F32_ORT: KernelPlan = { backend: 'ort', precision: 'f32' };
const F32_TS: KernelPlan = { backend: 'ts', precision: 'f32' };
const SETTINGS: GPruneSettings = { theta: 0.5, temperature: 0.03, iterateNum: 5 };

function naiveNT(a: ArrayLike<number>, m: number, b: ArrayLike<number>, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * b[j * k + t];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Clustered rows: `clusters` directions plus noise, random norms (cosines spread around θ = 0.5). */
function clustered(n: number, d: number, seed: number, clusters = 5, noise = 0.7): Float32Array {
  const rand = mulberry32(seed);
  const g = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, g));
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[i % clusters];
    const scale = 0.5 + 2 * rand();
    for (let k = 0; k < d; k++) out[i * d + k] = scale * (c[k] + noise * g());
  }
  return out;
}

test('tsGemmNT equals the naive product (ragged tiles, several depth chunks, float32 and float64)', () => {
  for (const [m, n, k] of [
    [1, 1, 1],
    [7, 33, 5],
    [37, 19, 600],
  ]) {
    const a = Float64Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
    const b = Float64Array.from({ length: n * k }, (_, i) => Math.cos(i * 0.11));
    const want = naiveNT(a, m, b, n, k);
    const got = new Float64Array(m * n);
    tsGemmNT(a, m, b, n, k, got);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-12 * Math.max(1, Math.abs(want[i])), `${m}x${n}x${k} [${i}]`);
    const got32 = new Float32Array(m * n);
    tsGemmNT(Float32Array.from(a), m, Float32Array.from(b), n, k, got32);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got32[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), `f32 ${m}x${n}x${k} [${i}]`);
  }
});

test('onnxruntime GEMM loads synchronously and agrees with TypeScript within the float32 bound', () => {
  assert.ok(loadOrtGemm(), 'onnxruntime-node binding must load in this repository');
  const n = 150;
  const d = 300;
  const x = { rows: n, cols: d, data: clustered(n, d, 3) };
  const u = cosineRows(x, null, F32_ORT);
  const ort = new Float32Array(n * n);
  gemmNT(F32_ORT, u.data as Float32Array, n, u.data as Float32Array, n, d, ort);
  const bound = f32DotErrorBound(d);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const cos = ort[i * n + j] * u.post[i] * u.post[j];
      const err = Math.abs(cos - exactDot(u, i, j));
      worst = Math.max(worst, err);
      assert.ok(err <= bound, `|fl32 − exact| = ${err} > bound ${bound} at ${i},${j}`);
    }
  }
  assert.ok(worst > 0, 'the float32 product differs from float64 somewhere (the test sees real rounding)');
  // Pre-allocated outputs: a view into a larger buffer is written in place.
  const big = new Float64Array(20).fill(-1);
  gemmNT({ backend: 'ort', precision: 'f64' }, Float64Array.of(1, 2, 3, 4), 2, Float64Array.of(5, 6), 1, 2, big.subarray(3, 5));
  assert.deepEqual(Array.from(big.subarray(2, 6)), [-1, 17, 39, -1]);
});

test('onnxruntime cosine mean (CDPruner relevance) equals the float64 mean of cosines within float32 rounding, zero rows included', () => {
  const ort = loadOrtGemm();
  assert.ok(ort, 'onnxruntime-node binding must load in this repository');
  const m = 40;
  const n = 7;
  const d = 96;
  const a = Float32Array.from(clustered(m, d, 4));
  const b = Float32Array.from(clustered(n, d, 2));
  a.fill(0, 5 * d, 6 * d); // a zero row: norms clamp at 1e-12, its cosines are 0
  const got = ort.cosineMean(a, m, b, n, d);
  assert.equal(got.length, m);
  const norm = (x: Float32Array, i: number): number => Math.max(Math.hypot(...x.subarray(i * d, (i + 1) * d)), 1e-12);
  for (let i = 0; i < m; i++) {
    let mean = 0;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a[i * d + k] * b[j * d + k];
      mean += dot / (norm(a, i) * norm(b, j)) / n;
    }
    assert.ok(Math.abs(got[i] - mean) <= 4 * f32DotErrorBound(d), `row ${i}: ${got[i]} vs ${mean}`);
  }
  assert.equal(got[5], 0);
});

test('cosineRows: float32 rows are used in place (views), other rows are unit copies; exactDot matches normalizeRows', () => {
  const n = 12;
  const d = 9;
  const data = clustered(n, d, 5);
  const m: Matrix = { rows: n, cols: d, data };
  const view = cosineRows(m, [3, 4, 5, 6], F32_ORT);
  assert.equal(view.data.buffer, data.buffer, 'contiguous float32 rows: no copy');
  assert.equal(view.data.byteOffset, 3 * d * 4);
  const gathered = cosineRows(m, [0, 5, 2], F32_ORT);
  assert.notEqual(gathered.data.buffer, data.buffer);
  const unit = normalizeRows(m, 1e-12);
  const f64 = cosineRows(m, null, F64);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += unit[i * d + k] * unit[j * d + k];
      assert.ok(Math.abs(exactDot(f64, i, j) - s) < 1e-15, `exactDot ${i},${j}`);
    }
    assert.ok(Math.abs(f64.self[i] - 1) < 1e-15);
  }
  // A zero row is not raw-usable and keeps cos = 0.
  const z = new Float32Array(2 * d);
  z.fill(1, 0, d);
  const zr = cosineRows({ rows: 2, cols: d, data: z }, null, F32_TS);
  assert.equal(zr.self[1], 0);
  assert.equal(exactDot(zr, 0, 1), 0);
});

test('forEachUpperBlock covers the upper triangle exactly once with the right values', () => {
  const n = 70;
  const d = 11;
  const m: Matrix = { rows: n, cols: d, data: clustered(n, d, 9) };
  const u = cosineRows(m, null, F64);
  const seen = new Uint8Array(n * n);
  forEachUpperBlock(
    u,
    F64,
    (b) => {
      for (let r = 0; r < b.rows; r++) {
        const i = b.i0 + r;
        for (let j = i; j < n; j++) {
          seen[i * n + j]++;
          const v = b.data[r * b.cols + (j - b.i0)] * u.post[i] * u.post[j];
          assert.ok(Math.abs(v - exactDot(u, i, j)) < 1e-14);
        }
      }
    },
    16,
  );
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) assert.equal(seen[i * n + j], 1);
});

/** The dense float64 G-Prune graph (the original implementation), for comparison. */
function denseReference(x: Matrix, s: GPruneSettings): { degree: number[]; scores: number[] } {
  const n = x.rows;
  const u = normalizeRows(x, 1e-12);
  const p = naiveNT(u, n, u, n, x.cols);
  const degree: number[] = [];
  for (let i = 0; i < n; i++) {
    const off = i * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const c = p[off + j];
      const z = (c < s.theta ? 0 : c) / s.temperature;
      p[off + j] = Math.abs(z) < 1e-6 ? -5000 : z;
      max = Math.max(max, p[off + j]);
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += p[off + j] = Math.exp(p[off + j] - max);
    let deg = 0;
    for (let j = 0; j < n; j++) if ((p[off + j] /= sum) > 0) deg++;
    degree.push(deg);
  }
  let m = Float64Array.from({ length: n }, (_, i) => Math.hypot(...x.data.subarray(i * x.cols, (i + 1) * x.cols)));
  for (let t = 0; t < s.iterateNum; t++) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j] += m[i] * p[i * n + j];
    m = out;
  }
  return { degree, scores: Array.from(m, (v, j) => v / degree[j]) };
}

test('sparse G-Prune graph equals the dense float64 graph: float64 plan, float32 plans, uncached weights', () => {
  const n = 260;
  const d = 48;
  const x: Matrix = { rows: n, cols: d, data: clustered(n, d, 11) };
  const want = denseReference(x, SETTINGS);
  const k = 90;
  const wantKeep = topSet(want.scores, k);
  const edgesBefore = gpruneLimits.pCacheEdges;
  try {
    for (const [label, backend, precision, cacheEdges] of [
      ['f64 cached', 'ts', 'f64', 1 << 30],
      ['f64 uncached', 'ts', 'f64', 0],
      ['f32 ts', 'ts', 'f32', 1 << 30],
      ['f32 ort', 'ort', 'f32', 1 << 30],
      ['f32 ort uncached', 'ort', 'f32', 0],
    ] as const) {
      configureKernels({ backend, precision });
      gpruneLimits.pCacheEdges = cacheEdges;
      const got = propagateGroup(x, SETTINGS, 8);
      assert.deepEqual(Array.from(got.degree), want.degree, `${label}: degree`);
      const rtol = precision === 'f64' ? 1e-12 : 1e-4;
      got.scores.forEach((v, j) => assert.ok(Math.abs(v - want.scores[j]) <= rtol * Math.abs(want.scores[j]), `${label}: score ${j} ${v} vs ${want.scores[j]}`));
      assert.deepEqual(topSet(got.scores, k), wantKeep, `${label}: kept set`);
      assert.ok(got.upperEdges > 0 && got.upperEdges < (n * (n - 1)) / 2, `${label}: the graph is sparse but not empty`);
    }
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
    gpruneLimits.pCacheEdges = edgesBefore;
  }
});

test('similarities within the float32 error of θ are re-decided in float64', () => {
  // Pairs built at cosine exactly 0.5 ± 1e-9: float32 cannot tell the side, float64 can.
  const d = 64;
  const n = 40;
  const data = new Float64Array(n * d);
  for (let p = 0; p < n / 2; p++) {
    const a = 2 * p;
    const e1 = (3 * p) % d;
    const e2 = (3 * p + 1) % d;
    const c = 0.5 + (p % 2 === 0 ? 1e-9 : -1e-9);
    data[a * d + e1] = 1;
    data[(a + 1) * d + e1] = c;
    data[(a + 1) * d + e2] = Math.sqrt(1 - c * c);
  }
  const x: Matrix = { rows: n, cols: d, data: Float32Array.from(data) };
  const xs: Matrix = { rows: n, cols: d, data };
  try {
    configureKernels({ backend: 'ts', precision: 'f64' });
    const exact = propagateGroup(xs, SETTINGS, 8);
    configureKernels({ backend: 'ort', precision: 'f32' });
    const fast = propagateGroup(xs, SETTINGS, 8);
    assert.ok(fast.rechecked >= n / 2, `rechecked ${fast.rechecked}`);
    assert.deepEqual(Array.from(fast.degree), Array.from(exact.degree));
    // Float32 storage of the same rows: still decided consistently (float64 of the float32 values).
    configureKernels({ backend: 'ts', precision: 'f64' });
    const exact32 = propagateGroup(x, SETTINGS, 8);
    configureKernels({ backend: 'ort', precision: 'f32' });
    assert.deepEqual(Array.from(propagateGroup(x, SETTINGS, 8).degree), Array.from(exact32.degree));
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
  }
});

test('a zero row (no edge at all) takes the dense path: uniform transition row, degree n', () => {
  const n = 30;
  const d = 8;
  const data = clustered(n, d, 4);
  data.fill(0, 5 * d, 6 * d);
  const x: Matrix = { rows: n, cols: d, data };
  const got = propagateGroup(x, SETTINGS, 8);
  const want = denseReference(x, SETTINGS);
  assert.equal(got.degree[5], n);
  assert.deepEqual(Array.from(got.degree), want.degree);
  got.scores.forEach((v, j) => assert.ok(Math.abs(v - want.scores[j]) <= 1e-12 * Math.abs(want.scores[j])));
});

test('kernelPlan: small products stay float64 TypeScript, large ones float32 onnxruntime', () => {
  assert.deepEqual(kernelPlan(1000), { backend: 'ts', precision: 'f64' });
  assert.deepEqual(kernelPlan(1e9), { backend: 'ort', precision: 'f32' });
  try {
    configureKernels({ backend: 'ts' });
    assert.deepEqual(kernelPlan(1e9), { backend: 'ts', precision: 'f64' });
    configureKernels({ backend: 'auto', precision: 'f64' });
    assert.deepEqual(kernelPlan(1e9), { backend: 'ort', precision: 'f64' });
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
  }
});

test('rowGram: full, staircase and on-demand layouts give the same symmetric rows', () => {
  const n = 75;
  const d = 13;
  const m: Matrix = { rows: n, cols: d, data: clustered(n, d, 21) };
  const before = { ...rowGramLimits };
  try {
    for (const plan of [F64, F32_ORT]) {
      const u = cosineRows(m, null, plan);
      const rows: Float64Array[][] = [];
      for (const [full, stair, layout] of [
        [1 << 30, 1 << 30, 'full'],
        [0, 1 << 30, 'staircase'],
        [0, 0, 'none'],
      ] as const) {
        rowGramLimits.fullBytes = full;
        rowGramLimits.staircaseBytes = stair;
        const g = rowGram(u, plan);
        assert.equal(g.layout, layout);
        const mine = Array.from({ length: n }, (_, i) => g.row(i, new Float64Array(n)));
        for (let i = 0; i < n; i++) {
          assert.equal(mine[i][i], u.self[i]);
          for (let j = 0; j < n; j++) {
            assert.ok(Math.abs(mine[i][j] - exactDot(u, i, j)) <= planErrorBound(plan, d) + 1e-15, `${layout} ${i},${j}`);
            if (layout !== 'none') {
              assert.equal(mine[i][j], mine[j][i], `${layout}: symmetric ${i},${j}`);
              assert.equal(g.entry(i, j), mine[i][j]);
            }
          }
        }
        rows.push(mine);
      }
      // The stored layouts hold the very same numbers.
      for (let i = 0; i < n; i++) assert.deepEqual(Array.from(rows[0][i]), Array.from(rows[1][i]));
    }
  } finally {
    Object.assign(rowGramLimits, before);
  }
});

test('DivPrune on crowded high-dimensional tokens: float32 picks (any layout) equal the float64 picks', () => {
  // Pure noise in 512-d: min-distances crowd within the float32 error bound, so picks need float64 re-checks.
  const n = 300;
  const d = 512;
  const rand = mulberry32(77);
  const data = Float32Array.from({ length: n * d }, () => rand() - 0.5);
  const m: Matrix = { rows: n, cols: d, data };
  const k = 60;
  const want = maxMinSelect(cosineRows(m, null, F64), F64, k);
  const before = { ...rowGramLimits };
  try {
    for (const [full, stair] of [
      [1 << 30, 1 << 30],
      [0, 1 << 30],
      [0, 0],
    ]) {
      rowGramLimits.fullBytes = full;
      rowGramLimits.staircaseBytes = stair;
      const got = maxMinSelect(cosineRows(m, null, F32_ORT), F32_ORT, k);
      assert.deepEqual(got.order, want.order, `layout limits ${full}/${stair}`);
      got.stepScores.forEach((v, i) => assert.ok(Math.abs(v - want.stepScores[i]) <= 2 * f32DotErrorBound(d)));
    }
  } finally {
    Object.assign(rowGramLimits, before);
  }
  let gaps = 0;
  for (let i = 1; i < want.stepScores.length; i++) if (Math.abs(want.stepScores[i] - want.stepScores[i - 1]) < 2 * f32DotErrorBound(d)) gaps++;
  assert.ok(gaps > 0, 'some consecutive picks lie within the float32 error (the re-check is exercised)');
});

test('greedy DPP over streamed rows: float32 and float64 kernels and every layout pick the same tokens', () => {
  const n = 200;
  const d = 40;
  const m: Matrix = { rows: n, cols: d, data: clustered(n, d, 31, 7, 1.2) };
  const r = minMaxRelevance(Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
  const u64 = cosineRows(m, null, F64);
  const want = greedyDppRows(rowGram(u64, F64), u64.self, r, 30);
  const before = { ...rowGramLimits };
  try {
    for (const stair of [1 << 30, 0]) {
      rowGramLimits.fullBytes = 0;
      rowGramLimits.staircaseBytes = stair;
      const u = cosineRows(m, null, F32_ORT);
      const got = greedyDppRows(rowGram(u, F32_ORT), u.self, r, 30);
      assert.deepEqual(got.order, want.order);
      got.gains.forEach((g, i) => assert.ok(Math.abs(g - want.gains[i]) <= 1e-4 * want.gains[i] + 1e-9));
    }
  } finally {
    Object.assign(rowGramLimits, before);
  }
});

test('greedy DPP: pick rows stored in float32 pick the tokens float64 rows pick, from the same float32 kernel rows', () => {
  const n = 600;
  const d = 200;
  const m: Matrix = { rows: n, cols: d, data: clustered(n, d, 37, 9, 1.0) };
  const r = minMaxRelevance(Array.from({ length: n }, (_, i) => Math.cos(i * 0.11)));
  const u = cosineRows(m, null, F32_ORT);
  const wide = greedyDppRows(rowGram(u, F32_ORT), u.self, r, 150, 'f64');
  const narrow = greedyDppRows(rowGram(u, F32_ORT), u.self, r, 150, 'f32');
  assert.equal(wide.exhaustedAt, -1, 'every pick is a DPP pick (no relevance tail)');
  assert.deepEqual(narrow.order, wide.order);
  narrow.gains.forEach((g, i) => assert.ok(Math.abs(g - wide.gains[i]) <= 1e-5 * wide.gains[0], `gain ${i}`));
  assert.ok(
    narrow.gains.some((g, i) => g !== wide.gains[i]),
    'the float32 rows were used (some gain differs in its last bits)',
  );
});

test('greedy DPP on two threads (a helper takes half of the tokens) gives bit-identical picks and gains', () => {
  const n = 601;
  const d = 120;
  const m: Matrix = { rows: n, cols: d, data: clustered(n, d, 41, 6, 0.9) };
  const r = minMaxRelevance(Array.from({ length: n }, (_, i) => Math.sin(i * 0.23)));
  const u = cosineRows(m, null, F32_ORT);
  for (const storage of ['f64', 'f32'] as const) {
    const one = greedyDppRows(rowGram(u, F32_ORT), u.self, r, 100, storage, 1);
    const two = greedyDppRows(rowGram(u, F32_ORT), u.self, r, 100, storage, 2);
    assert.deepEqual(two.order, one.order, storage);
    assert.ok(
      two.gains.every((g, i) => Object.is(g, one.gains[i])),
      `${storage}: gains bit for bit`,
    );
    assert.ok(
      two.residual.every((v, i) => Object.is(v, one.residual[i])),
      `${storage}: residuals bit for bit`,
    );
  }
});

test('CDPruner stores pick rows in float32 only for float32 kernel rows past 4,096 tokens, whatever the budget', () => {
  assert.equal(pickRowStorage(F32_ORT, 576), 'f64');
  assert.equal(pickRowStorage(F32_ORT, 2880), 'f64');
  assert.equal(pickRowStorage(F32_ORT, 4096), 'f64');
  assert.equal(pickRowStorage(F32_ORT, 4097), 'f32');
  assert.equal(pickRowStorage(F32_TS, 8192), 'f32');
  assert.equal(pickRowStorage(F64, 16384), 'f64');
});

test('DivPrune: a pick that float32 cannot see (distances 1e-9 apart) is settled in float64', () => {
  // P = e0 is picked first (largest nearest-neighbour distance); then B (index 1) and C (index 2) are at
  // distances 0.7 − 1e-9 and 0.7 from P. Rounded to float32 they tie (B would win by index); C is farther.
  const d = 8;
  const cosB = 0.3 + 1e-9;
  const cosC = 0.3;
  const data = new Float64Array(3 * d);
  data[0] = 1;
  data[d] = cosB;
  data[d + 1] = Math.sqrt(1 - cosB * cosB);
  data[2 * d] = cosC;
  data[2 * d + 1] = Math.sqrt(1 - cosC * cosC) * 0.999;
  data[2 * d + 2] = Math.sqrt(1 - cosC * cosC) * Math.sqrt(1 - 0.999 * 0.999);
  const m: Matrix = { rows: 3, cols: d, data };
  assert.deepEqual(maxMinSelect(cosineRows(m, null, F64), F64, 2).order, [0, 2]);
  const rounded = cosineRows(m, null, F32_ORT);
  const g = rowGram(rounded, F32_ORT);
  assert.equal(g.entry(0, 1), g.entry(0, 2), 'float32 products tie');
  assert.deepEqual(maxMinSelect(rounded, F32_ORT, 2).order, [0, 2]);
});

test('codebook modes A–D: float32 products give the float64 kept set and argmax prototypes on crowded scores', () => {
  const L = 300;
  const P = 40;
  const d = 256;
  const rand = mulberry32(91);
  const feats = Float32Array.from({ length: L * d }, () => rand() - 0.5);
  const protos = Float32Array.from({ length: P * d }, () => rand() - 0.5);
  // Some tokens sit almost on a prototype, so max cosines spread and cross the thresholds.
  for (let i = 0; i < L; i += 7) for (let k = 0; k < d; k++) feats[i * d + k] = protos[(i % P) * d + k] + 0.3 * feats[i * d + k];
  const bundle = makeBundle(
    new Map([
      ['features', makeTensor('float32', [L, d], feats)],
      ['codebook', makeTensor('float32', [P, d], protos)],
    ]),
    { source: 'test', model: '', weightsKind: 'synthetic', layer: null, extra: {} },
  );
  const cases: Record<string, string | number>[] = [
    { mode: 'A', tau: 0.1 },
    { mode: 'B', tau: 0.37 },
    { mode: 'C', tau: 0.5 },
    { mode: 'D', tau: 0.41 },
  ];
  try {
    for (const params of cases) {
      configureKernels({ backend: 'ts', precision: 'f64' });
      const want = prune(bundle, 'codebook', params);
      configureKernels({ backend: 'ort', precision: 'f32' });
      const got = prune(bundle, 'codebook', params);
      assert.deepEqual(got.keep, want.keep, JSON.stringify(params));
      assert.deepEqual(got.output.argmax_prototype, want.output.argmax_prototype, JSON.stringify(params));
      assert.ok(got.keep.length > 0 && got.keep.length < L, `${JSON.stringify(params)} keeps some`);
    }
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
  }
});

test('topK equals the full (score desc, index asc) ranking prefix: ties, ±0, −∞, NaN', () => {
  const rand = mulberry32(5);
  for (let trial = 0; trial < 200; trial++) {
    const n = 64 + Math.floor(rand() * 300);
    const levels = 1 + Math.floor(rand() * 12);
    const scores = Array.from({ length: n }, () => {
      const u = rand();
      if (u < 0.02) return -Infinity;
      if (u < 0.04) return trial % 3 === 0 ? NaN : 0;
      if (u < 0.06) return -0;
      return Math.floor(rand() * levels) / levels;
    });
    for (const k of [1, 2, Math.floor(n / 9), Math.floor(n / 2), n - 1, n]) assert.deepEqual(topK(scores, k), rankDescending(scores).slice(0, k), `trial ${trial} k ${k}`);
  }
});

test('uniform coverage scores equal the exhaustive nearest-kept distance on every grid shape', () => {
  for (const [h, w, k] of [
    [24, 24, 64],
    [48, 60, 320],
    [7, 13, 5],
    [1, 40, 3],
    [30, 2, 9],
    [16, 16, 1],
  ]) {
    const data = new Float32Array(h * w * 2).fill(1);
    const bundle = makeBundle(
      new Map([
        ['features', makeTensor('float32', [h * w, 2], data)],
        ['grid', makeTensor('int32', [2], Int32Array.of(h, w))],
      ]),
      { source: 'test', model: '', weightsKind: 'synthetic', layer: null, extra: {} },
    );
    const res = prune(bundle, 'uniform', { k });
    const want = Array.from({ length: h * w }, (_, i) => {
      let best = Infinity;
      for (const j of res.keep) best = Math.min(best, Math.hypot(Math.floor(i / w) - Math.floor(j / w), (i % w) - (j % w)));
      return 0 - best;
    });
    assert.deepEqual(res.scores, want, `${h}×${w} k=${k}`);
  }
});

test('greedy DPP on speculative row batches: same picks and gains as on the whole Gram, far fewer rows', () => {
  const n = 300;
  const d = 40;
  const m: Matrix = { rows: n, cols: d, data: clustered(n, d, 41, 9, 1.0) };
  const r = minMaxRelevance(Array.from({ length: n }, (_, i) => Math.cos(i * 0.21)));
  for (const plan of [F64, F32_ORT]) {
    const u = cosineRows(m, null, plan);
    const want = greedyDppRows(rowGram(u, plan), u.self, r, 40);
    const spec = speculativeRows(u, plan, 8);
    const got = greedyDppRows(spec, u.self, r, 40);
    assert.deepEqual(got.order, want.order, plan.precision);
    // Float32 rows from differently shaped GEMM calls may differ in the last bit.
    const tol = plan.precision === 'f64' ? 1e-12 : 1e-5;
    got.gains.forEach((g, i) => assert.ok(Math.abs(g - want.gains[i]) <= tol * want.gains[i] + 1e-15, `${plan.precision} gain ${i}`));
    assert.ok(spec.computed() >= 40 && spec.computed() < n, `computed ${spec.computed()} rows`);
  }
});

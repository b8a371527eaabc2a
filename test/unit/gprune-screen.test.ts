// G-Prune's int8 screen: the quantiser and the flag kernel against scalar models, the cosine bound against
// exact float64 cosines (outlier coordinates, varied norms, a zero row), and whole graphs built with and
// without the screen (same edges, same re-checks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Matrix } from '../../extension/core/bundle/tensor.ts';
import { buildGraph } from '../../extension/core/methods/gprune-edges.ts';
import { Int8Screen } from '../../extension/core/methods/gprune-screen-wasm.ts';
import { boundTerms, screenLimits, screenStats } from '../../extension/core/methods/gprune-screen.ts';
import { configureKernels, kernelPlan, planErrorBound } from '../../extension/core/numeric/gemm.ts';
import { cosineRows } from '../../extension/core/numeric/gram.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

/** Rows with varied norms, a few large outlier coordinates and one zero row. */
function awkwardRows(n: number, d: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    if (i === 3) continue;
    const scale = 0.05 * 400 ** rand();
    for (let k = 0; k < d; k++) x[i * d + k] = scale * (rand() * 2 - 1) * (k % 17 === 0 ? 25 : 1);
  }
  return x;
}

function loadScreen(): Int8Screen {
  const screen = Int8Screen.load();
  assert.ok(screen, 'WebAssembly SIMD is available in Node 20');
  return screen;
}

test('quantize: q = round-half-even(fround(x·f)), f = fround(127 / max|x|), uint8 rows hold q + 128, padding is zero', () => {
  const screen = loadScreen();
  const n = 9;
  const d = 37;
  const width = 48;
  const x = awkwardRows(n, d, 4);
  // A tie: x·f lands exactly on k + ½ (f = 1 when max|x| = 127).
  x.fill(0, 5 * d, 6 * d);
  x[5 * d] = 127;
  x[5 * d + 1] = 2.5;
  x[5 * d + 2] = -3.5;
  screen.prepare(n, width, 8);
  const stats = screen.quantize(x, d);
  assert.ok(stats);
  const s8 = screen.signedRows(0, n);
  const u8 = screen.offsetRows(0, n);
  for (let i = 0; i < n; i++) {
    let max = 0;
    let sum = 0;
    for (let k = 0; k < d; k++) {
      max = Math.max(max, Math.abs(x[i * d + k]));
      sum += Math.abs(x[i * d + k]);
    }
    assert.equal(stats.max[i], Math.fround(max));
    assert.equal(stats.f[i], max > 0 ? Math.fround(127 / Math.fround(max)) : 0, `f of row ${i}`);
    assert.ok(Math.abs(stats.absSum[i] - sum) <= 1e-5 * sum, `Σ|x| of row ${i}`);
    for (let k = 0; k < width; k++) {
      const v: number = k < d ? Math.fround(x[i * d + k] * stats.f[i]) : 0;
      const floor = Math.floor(v);
      const want: number = v - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(v);
      assert.equal(s8[i * width + k], want + 0, `q[${i}][${k}] of ${v}`);
      assert.equal(u8[i * width + k], want + 128);
    }
  }
  assert.deepEqual(Array.from(s8.subarray(5 * width, 5 * width + 3)), [127, 2, -4]);
});

test('quantize rejects rows that are not finite', () => {
  const screen = loadScreen();
  const x = new Float32Array(2 * 16).fill(1);
  x[20] = NaN;
  screen.prepare(2, 16, 4);
  assert.equal(screen.quantize(x, 16), null);
});

test('screen flags exactly the rows a scalar float32 evaluation of (Q + a_i + b_j)·s_i·s_j ≥ thr flags', () => {
  const screen = loadScreen();
  const rand = mulberry32(8);
  const n = 50;
  const rows = 31;
  const cols = 12;
  screen.prepare(n, 16, cols);
  const b = Float64Array.from({ length: n }, () => rand() * 40);
  const s = Float64Array.from({ length: n }, () => rand() * 0.02);
  screen.setRowTerms(b, s);
  const a = Float32Array.from({ length: cols }, () => rand() * 40);
  const sc = Float32Array.from({ length: cols }, (_, c) => (c === cols - 1 ? 0 : rand() * 0.02));
  const block = screen.block(rows, cols);
  for (let t = 0; t < block.length; t++) block[t] = Math.round((rand() * 2 - 1) * 3000);
  const first = 7;
  let flagged = 0;
  for (const thr of [0.05, 0.2, 0.4, 0.6]) {
    const flags = Uint8Array.from(screen.screen(rows, first, a, sc, thr));
    for (let r = 0; r < rows; r++) {
      const bj = Math.fround(b[first + r]);
      const sj = Math.fround(s[first + r]);
      let want = 0;
      for (let c = 0; c < cols; c++) {
        const v = Math.fround(Math.fround(Math.fround(Math.fround(block[r * cols + c] + a[c]) + bj) * sc[c]) * sj);
        if (v >= Math.fround(thr)) want = 1;
      }
      assert.equal(flags[r], want, `row ${r}, thr ${thr}`);
      flagged += want;
    }
  }
  assert.ok(flagged > 10 && flagged < 4 * rows - 10, `a mix of flagged and clear rows (${flagged})`);
});

test('the screen bound holds for every pair: exact cosine ≤ (Q + a_i + b_j)·s_i·s_j, and it is tight enough to screen', () => {
  const screen = loadScreen();
  for (const [n, d] of [
    [40, 64],
    [24, 1000],
  ]) {
    const width = Math.ceil(d / 16) * 16;
    const x = awkwardRows(n, d, 11 + d);
    // Rows 0 and 1 put every rounding error at its worst, all with the same sign: x·f = 1.49 rounds to 1.
    for (const i of [0, 1]) {
      x.fill(1.49, i * d, (i + 1) * d);
      x[i * d] = 127;
    }
    const u = cosineRows({ rows: n, cols: d, data: x }, null, { backend: 'ort', precision: 'f32' });
    screen.prepare(n, width, 4);
    const stats = screen.quantize(u.data as Float32Array, d);
    assert.ok(stats);
    const { a, b, s } = boundTerms(stats.f, stats.absSum, u.post, width);
    const q = screen.signedRows(0, n);
    let worstSlack = Infinity;
    let sumWidth = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let dot = 0;
        let qq = 0;
        for (let k = 0; k < d; k++) dot += x[i * d + k] * x[j * d + k];
        for (let k = 0; k < width; k++) qq += q[i * width + k] * q[j * width + k];
        const cos = dot * u.inv[i] * u.inv[j];
        const upper = (qq + a[i] + b[j]) * s[i] * s[j];
        assert.ok(upper >= cos, `pair (${i}, ${j}) of ${n}×${d}: bound ${upper} < cosine ${cos}`);
        worstSlack = Math.min(worstSlack, upper - cos);
        sumWidth += upper - cos;
      }
    }
    assert.ok(worstSlack >= 0);
    // The bound is useful: its mean width stays far below the distance from typical cosines to θ = 0.5.
    assert.ok(sumWidth / (n * n) < 0.2, `mean bound width ${sumWidth / (n * n)}`);
  }
});

function clusteredRows(n: number, d: number, clusters: number, seed: number): Matrix {
  const rand = mulberry32(seed);
  const centres = Array.from({ length: clusters * d }, () => rand() * 2 - 1);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    // Cluster runs of 24 tokens, so whole column ranges are free of edges.
    const c = Math.floor(i / 24) % clusters;
    const scale = 0.2 * 50 ** rand();
    for (let k = 0; k < d; k++) data[i * d + k] = scale * (centres[c * d + k] + 0.7 * (rand() * 2 - 1));
  }
  return { rows: n, cols: d, data };
}

function graphs(x: Matrix, theta: number): { plain: ReturnType<typeof buildGraph>; screened: ReturnType<typeof buildGraph>; eps: number; share: number } {
  const s = { theta, temperature: 0.03, iterateNum: 5 };
  const saved = { ...screenLimits };
  try {
    configureKernels({ backend: 'ort', precision: 'f32' });
    screenLimits.minTokens = 64;
    screenLimits.maxKeptShare = 1;
    const plan = kernelPlan((x.rows * x.rows * x.cols) / 2);
    const copy = (g: ReturnType<typeof buildGraph>) => ({ ...g, col: g.col.slice(), sim: g.sim.slice() });
    process.env.PRUNELENS_SCREEN = '0';
    const plain = copy(buildGraph(cosineRows(x, null, plan), s, plan));
    assert.equal(screenStats.screened, false);
    delete process.env.PRUNELENS_SCREEN;
    const screened = copy(buildGraph(cosineRows(x, null, plan), s, plan));
    assert.ok(screenStats.screened, 'the screen ran');
    return { plain, screened, eps: planErrorBound(plan, x.cols), share: screenStats.f32Entries / screenStats.staircaseEntries };
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
    Object.assign(screenLimits, saved);
    delete process.env.PRUNELENS_SCREEN;
  }
}

for (const [n, d, clusters, theta] of [
  // Wide rows: a float32 call then costs more than ~20 columns, so flagged runs stay apart.
  [403, 512, 6, 0.5],
  [300, 200, 1, 0.05],
  [257, 700, 40, 0.3],
] as const) {
  test(`a screened graph has the unscreened graph's edges and re-checks (${n}×${d}, ${clusters} clusters, θ = ${theta})`, () => {
    const x = clusteredRows(n, d, clusters, n + d);
    const { plain, screened, eps, share } = graphs(x, theta);
    assert.deepEqual(Array.from(screened.start), Array.from(plain.start), 'row starts');
    assert.deepEqual(Array.from(screened.col), Array.from(plain.col), 'edge columns');
    assert.equal(screened.rechecked, plain.rechecked);
    assert.ok(plain.start[n] > n, `the graph has edges (${plain.start[n]})`);
    for (let e = 0; e < plain.sim.length; e++) assert.ok(Math.abs(screened.sim[e] - plain.sim[e]) <= 2 * eps, `similarity of edge ${e}`);
    if (clusters > 1) assert.ok(share < 0.7, `the screen skipped float32 work (kept ${share})`);
  });
}

test('a group the screen barely thinned is not screened again; another group still is', () => {
  const saved = { ...screenLimits };
  try {
    configureKernels({ backend: 'ort', precision: 'f32' });
    screenLimits.minTokens = 64;
    const s = { theta: 0.3, temperature: 0.03, iterateNum: 5 };
    const dense = clusteredRows(200, 64, 1, 3);
    const plan = kernelPlan((200 * 200 * 64) / 2);
    buildGraph(cosineRows(dense, null, plan), s, plan);
    assert.ok(screenStats.screened);
    assert.ok(screenStats.f32Entries / screenStats.staircaseEntries > screenLimits.maxKeptShare, 'one cluster: every range is flagged');
    buildGraph(cosineRows(dense, null, plan), s, plan);
    assert.equal(screenStats.screened, false, 'the dense group skips the screen');
    buildGraph(cosineRows(clusteredRows(200, 64, 8, 4), null, plan), s, plan);
    assert.ok(screenStats.screened, 'a new feature array is screened');
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
    Object.assign(screenLimits, saved);
  }
});

// G-Prune's sparse kernels (gprune-edges.ts row scan, gprune-transition.ts top edges) on the float32
// onnxruntime path against the float64 path: edges exactly at θ, just around it, varied row norms, ties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Matrix } from '../../extension/core/bundle/tensor.ts';
import { propagateGroup, type GPruneSettings } from '../../extension/core/methods/gprune-graph.ts';
import { configureKernels } from '../../extension/core/numeric/gemm.ts';
import { normalizeRows } from '../../extension/core/numeric/linalg.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';
import { topSet } from '../helpers/arrays.ts';

const D = 52;
/** Coordinates ≥ FREE are zero in every cluster token, so designed pairs only see each other. */
const FREE = 40;

function runBoth(x: Matrix, s: GPruneSettings): { f64: ReturnType<typeof propagateGroup>; f32: ReturnType<typeof propagateGroup> } {
  try {
    configureKernels({ backend: 'ts', precision: 'f64' });
    const f64 = propagateGroup(x, s, 8);
    configureKernels({ backend: 'ort', precision: 'f32' });
    const f32 = propagateGroup(x, s, 8);
    return { f64, f32 };
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
  }
}

for (const nCluster of [150, 151]) {
  // 156 tokens fill whole SIMD groups in every staircase block; 157 leave a ragged tail in each row.
  test(`float32 rows of varied norms, pairs at, just above and just below θ: the float32 path decides every edge as float64 does (${nCluster + 6} tokens)`, () => {
    const rand = mulberry32(5);
    const clusters = 5;
    const centres = Array.from({ length: clusters * FREE }, () => rand() * 2 - 1);
    const pairs = 3;
    const n = nCluster + 2 * pairs;
    const data = new Float32Array(n * D);
    for (let i = 0; i < nCluster; i++) {
      const c = i % clusters;
      // Norms from ≈ 0.1 to ≈ 10: the row scan's float32 pre-filter scales with 1/‖x_i‖ and max 1/‖x_j‖.
      const scale = 0.1 * 100 ** rand();
      for (let k = 0; k < FREE; k++) data[i * D + k] = scale * (centres[c * FREE + k] + 0.45 * (rand() * 2 - 1));
    }
    // Pair p: a = s_a·(1, 1) on coordinates (FREE + p, FREE + 3 + p), b = s_b·(1, 1 + δ_p) on (FREE + p, FREE + 6 + p):
    // they share one coordinate, so every summation order gives the same float64 cosine.
    const deltas = [0, 2 ** -20, -(2 ** -20)];
    const scales = [
      [3.5, 0.25],
      [0.5, 7],
      [1, 1],
    ];
    for (let p = 0; p < pairs; p++) {
      const a = nCluster + 2 * p;
      const b = a + 1;
      data[a * D + FREE + p] = scales[p][0];
      data[a * D + FREE + 3 + p] = scales[p][0];
      data[b * D + FREE + p] = scales[p][1];
      data[b * D + FREE + 6 + p] = scales[p][1] * (1 + deltas[p]);
    }
    const x: Matrix = { rows: n, cols: D, data };
    // θ is exactly the float64 cosine of pair 0, so pair 0 sits on the threshold (c ≥ θ keeps it).
    const unit = normalizeRows(x, 1e-12);
    const a0 = nCluster;
    let theta = 0;
    for (let k = 0; k < D; k++) theta += unit[a0 * D + k] * unit[(a0 + 1) * D + k];
    const s: GPruneSettings = { theta, temperature: 0.03, iterateNum: 5 };
    const { f64, f32 } = runBoth(x, s);

    assert.ok(f32.rechecked >= pairs, `rechecked ${f32.rechecked}: the designed pairs lie within the float32 bound of θ`);
    assert.deepEqual(Array.from(f32.degree), Array.from(f64.degree));
    assert.equal(f32.upperEdges, f64.upperEdges);
    // Pair 0 (exactly θ) and pair 2 (above) are edges: self + partner; pair 1 (below θ) is not.
    for (const [p, deg] of [
      [0, 2],
      [1, 1],
      [2, 2],
    ]) {
      assert.equal(f64.degree[nCluster + 2 * p], deg, `pair ${p}, float64 degree`);
      assert.equal(f32.degree[nCluster + 2 * p], deg, `pair ${p}, float32 degree`);
    }
    f32.scores.forEach((v, j) => assert.ok(Math.abs(v - f64.scores[j]) <= 1e-4 * Math.abs(f64.scores[j]), `score ${j}`));
    for (const k of [10, 40, 78]) assert.deepEqual(topSet(f32.scores, k), topSet(f64.scores, k), `kept set of ${k}`);
    assert.ok(f32.upperEdges > 0 && f32.upperEdges < (n * (n - 1)) / 2, 'sparse but not empty');
  });
}

test('equal transition weights: the flow edges keep the lower columns, in ascending order, on both paths', () => {
  // Token 0 and twelve identical copies of one vector close to it; a second group far away.
  const n = 30;
  const rand = mulberry32(9);
  const v = Array.from({ length: D }, () => rand() * 2 - 1);
  const w = Array.from({ length: D }, () => rand() * 2 - 1);
  const data = new Float32Array(n * D);
  for (let k = 0; k < D; k++) data[k] = v[k] + 0.2 * (rand() * 2 - 1);
  for (let i = 1; i <= 12; i++) for (let k = 0; k < D; k++) data[i * D + k] = v[k];
  for (let i = 13; i < n; i++) for (let k = 0; k < D; k++) data[i * D + k] = w[k] + 0.3 * (rand() * 2 - 1);
  const x: Matrix = { rows: n, cols: D, data };
  const { f64, f32 } = runBoth(x, { theta: 0.5, temperature: 0.03, iterateNum: 5 });
  for (const [label, r] of [
    ['float64', f64],
    ['float32', f32],
  ] as const) {
    const row = (i: number): { dst: number[]; weight: number[] } => {
      const idx = r.edges.src.flatMap((src, e) => (src === i ? [e] : []));
      return { dst: idx.map((e) => r.edges.dst[e]), weight: idx.map((e) => r.edges.weight[e]) };
    };
    const zero = row(0);
    assert.deepEqual(zero.dst, [1, 2, 3, 4, 5, 6, 7, 8], `${label}: row 0 keeps the eight lowest of twelve tied columns`);
    assert.ok(
      zero.weight.every((x) => x === zero.weight[0]),
      `${label}: the copies' weights are tied`,
    );
    // Row 5: the other eleven copies tie with each other (one weight), token 0 has its own weight.
    const five = row(5);
    const copies = five.dst.filter((j) => j !== 0);
    assert.deepEqual(copies, [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12].slice(0, copies.length), `${label}: tied copies in column order`);
    assert.equal(five.dst.length, 8);
  }
});

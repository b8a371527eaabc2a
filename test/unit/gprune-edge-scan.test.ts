// G-Prune's fused edge scan (one WebAssembly pass per unscreened float32 block) builds the same graph as the
// two-pass scan (SIMD group list, then TypeScript): the same row starts, columns, similarity bits and
// float64 re-checks, for widths with and without a tail, entries planted next to θ, and outputs split into
// several chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Matrix } from '../../extension/core/bundle/tensor.ts';
import { edgeScanKnobs } from '../../extension/core/methods/gprune-edge-scan-wasm.ts';
import { buildGraph } from '../../extension/core/methods/gprune-edges.ts';
import type { GPruneSettings } from '../../extension/core/methods/gprune-limits.ts';
import type { KernelPlan } from '../../extension/core/numeric/gemm.ts';
import { cosineRows } from '../../extension/core/numeric/gram.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const PLAN: KernelPlan = { backend: 'ort', precision: 'f32' };
const bits = (a: ArrayLike<number>): string[] => Array.from(new BigInt64Array(Float64Array.from(a).buffer), (v) => v.toString(16));

/** Clustered rows; rows 2k and 2k + 1 of the first few pairs have a cosine of θ ± a few float32 ulps. */
function tokens(n: number, d: number, seed: number, theta: number): Matrix {
  const rand = mulberry32(seed);
  const centres = Array.from({ length: 3 * d }, () => rand() * 2 - 1);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) data[i * d + k] = centres[(i % 3) * d + k] + 0.8 * (rand() - 0.5);
  for (let p = 0; p + 1 < Math.min(n, 12); p += 2) {
    // x = e0, y = cos·e0 + sin·e1: their cosine is θ up to the float32 rounding of y.
    const c = theta + (p - 5) * 1e-7;
    data.fill(0, p * d, (p + 2) * d);
    data[p * d] = 1;
    data[(p + 1) * d] = c;
    data[(p + 1) * d + 1] = Math.sqrt(1 - c * c);
  }
  return { rows: n, cols: d, data };
}

function graph(x: Matrix, s: GPruneSettings, fused: boolean) {
  edgeScanKnobs.enabled = fused;
  try {
    const g = buildGraph(cosineRows(x, null, PLAN), s, PLAN);
    const edges = g.start[g.n];
    return { start: Array.from(g.start), col: Array.from(g.col.subarray(0, edges)), sim: bits(g.sim.subarray(0, edges)), rechecked: g.rechecked };
  } finally {
    edgeScanKnobs.enabled = true;
  }
}

test('the fused edge scan builds the same graph as the two-pass scan', () => {
  let rechecks = 0;
  for (const [n, d] of [
    [5, 8],
    [37, 33],
    [130, 64],
    [577, 16],
  ]) {
    for (const theta of [0.5, 0.2, 0.95]) {
      const x = tokens(n, d, n + d, theta);
      const s: GPruneSettings = { theta, temperature: 0.03, iterateNum: 5 };
      const want = graph(x, s, false);
      const what = `n=${n} d=${d} θ=${theta}`;
      assert.deepEqual(graph(x, s, true), want, what);
      // A capacity below one block forces a call per row (and the rows of one call still share the output).
      const saved = edgeScanKnobs.capacity;
      edgeScanKnobs.capacity = 3;
      try {
        assert.deepEqual(graph(x, s, true), want, `${what}, one row per call`);
      } finally {
        edgeScanKnobs.capacity = saved;
      }
      rechecks += want.rechecked;
    }
  }
  assert.ok(rechecks > 0, 'the planted pairs exercise the float64 re-check');
});

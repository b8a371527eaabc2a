// G-Prune's WebAssembly transition and mass passes give bit-identical results to the TypeScript loops:
// weights, degrees, every mass step, scores and the top-edge lists with their order (ties included), for
// the shared-reference and per-row exp cases, the SIMD (k = 8) and scalar insertion, rows without edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Matrix } from '../../extension/core/bundle/tensor.ts';
import { flowWasm } from '../../extension/core/methods/gprune-flow-wasm.ts';
import { type GPruneSettings, propagateGroup } from '../../extension/core/methods/gprune-graph.ts';
import { gpruneLimits } from '../../extension/core/methods/gprune-limits.ts';
import { buildGraph } from '../../extension/core/methods/gprune-edges.ts';
import { TopEdges, softmax, stepMass, propagateMass } from '../../extension/core/methods/gprune-transition.ts';
import { kernelPlan } from '../../extension/core/numeric/gemm.ts';
import { cosineRows } from '../../extension/core/numeric/gram.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const bits = (a: ArrayLike<number>): string[] => Array.from(new Float64Array(Array.from(a)), (v) => new BigInt64Array(new Float64Array([v]).buffer)[0].toString(16));

/** Clustered tokens with exact duplicates (equal weights: the lists' tie order), optionally a zero-norm one (dense path). */
function tokens(n: number, d: number, seed: number, zero = false): Matrix {
  const rand = mulberry32(seed);
  const clusters = 4;
  const centres = Array.from({ length: clusters * d }, () => rand() * 2 - 1);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    for (let k = 0; k < d; k++) data[i * d + k] = (1 + rand()) * (centres[c * d + k] + 0.7 * (rand() - 0.5));
  }
  for (let i = 3; i + 7 < n; i += 11) data.copyWithin((i + 7) * d, i * d, (i + 1) * d);
  if (zero) data.fill(0, 20 * d, 21 * d);
  return { rows: n, cols: d, data };
}

function both<T>(run: () => T): { wasm: T; ts: T } {
  const wasm = run();
  flowWasm.enabled = false;
  try {
    return { wasm, ts: run() };
  } finally {
    flowWasm.enabled = true;
  }
}

const SETTINGS: GPruneSettings[] = [
  { theta: 0.5, temperature: 0.03, iterateNum: 5 },
  // Logits 1000–2000 apart: one exp per weight (no shared reference).
  { theta: 0.5, temperature: 0.0005, iterateNum: 3 },
  { theta: 0.2, temperature: 0.1, iterateNum: 0 },
  { theta: 0.95, temperature: 1, iterateNum: 2 },
];

test('propagateGroup: WebAssembly passes equal the TypeScript loops bit for bit', () => {
  for (const [n, d] of [
    [1, 8],
    [2, 8],
    [37, 16],
    [160, 24],
    [577, 48],
    [64, 16],
  ]) {
    const x = tokens(n, d, n, n === 64);
    for (const s of SETTINGS) {
      for (const perNode of [8, 3, 0]) {
        const { wasm, ts } = both(() => propagateGroup(x, s, perNode));
        const what = `n=${n} T=${s.temperature} θ=${s.theta} k=${perNode}`;
        assert.deepEqual(Array.from(wasm.degree), Array.from(ts.degree), what);
        assert.equal(wasm.mass.length, ts.mass.length, what);
        wasm.mass.forEach((m, t) => assert.deepEqual(bits(m), bits(ts.mass[t]), `${what} mass ${t}`));
        assert.deepEqual(bits(wasm.scores), bits(ts.scores), what);
        assert.deepEqual(wasm.edges.src, ts.edges.src, what);
        assert.deepEqual(wasm.edges.dst, ts.edges.dst, what);
        assert.deepEqual(bits(wasm.edges.weight), bits(ts.edges.weight), what);
        assert.equal(wasm.upperEdges, ts.upperEdges, what);
      }
    }
  }
});

/** Runs `run` with one numeric knob set to `value`, restoring it afterwards. */
function withKnob<K extends string>(knobs: Record<K, number>, key: K, value: number, run: () => void): void {
  const saved = knobs[key];
  knobs[key] = value;
  try {
    run();
  } finally {
    knobs[key] = saved;
  }
}

test('a graph beyond the retained memory runs in a module of its own, with the same results', () => {
  const x = tokens(160, 24, 12);
  const s = SETTINGS[0];
  const shared = propagateGroup(x, s, 8);
  withKnob(flowWasm, 'retainBytes', 0, () => {
    const own = propagateGroup(x, s, 8);
    own.mass.forEach((m, t) => assert.deepEqual(bits(m), bits(shared.mass[t]), `mass ${t}`));
    assert.deepEqual(bits(own.edges.weight), bits(shared.edges.weight));
    assert.deepEqual(own.edges.dst, shared.edges.dst);
  });
  // The shared module's cached views still serve the next run.
  assert.deepEqual(bits(propagateGroup(x, s, 8).scores), bits(shared.scores));
});

test('the uncached path (weights recomputed per step) equals the cached WebAssembly one', () => {
  const x = tokens(160, 24, 9);
  const s = SETTINGS[0];
  const cached = propagateGroup(x, s, 8);
  withKnob(gpruneLimits, 'pCacheEdges', 10, () => {
    const uncached = propagateGroup(x, s, 8);
    assert.deepEqual(bits(uncached.scores), bits(cached.scores));
    assert.deepEqual(bits(uncached.edges.weight), bits(cached.edges.weight));
    assert.deepEqual(uncached.edges.dst, cached.edges.dst);
  });
});

test('stepMass one step at a time equals propagateMass, in WebAssembly and TypeScript', () => {
  const x = tokens(200, 32, 4);
  const s = SETTINGS[0];
  const plan = kernelPlan((x.rows * x.rows * x.cols) / 2);
  const { wasm, ts } = both(() => {
    const u = cosineRows(x, null, plan, 1e-12, 'test.rows');
    const g = buildGraph(u, s, plan);
    const p = softmax(g, s, new TopEdges(x.rows, 8));
    assert.ok(p);
    const all = propagateMass(u.norms, p, g, 4);
    let m = u.norms;
    for (let t = 1; t <= 4; t++) {
      m = stepMass(m, p, g);
      assert.deepEqual(bits(m), bits(all[t]), `step ${t}`);
    }
    return all.map(bits);
  });
  assert.deepEqual(wasm, ts);
});

test('softmax into lists that already hold edges: both paths keep the same top edges', () => {
  const x = tokens(120, 24, 6);
  const s = SETTINGS[0];
  const plan = kernelPlan((x.rows * x.rows * x.cols) / 2);
  for (const perNode of [8, 3]) {
    const { wasm, ts } = both(() => {
      const u = cosineRows(x, null, plan, 1e-12, 'test.rows');
      const g = buildGraph(u, s, plan);
      const top = new TopEdges(x.rows, perNode);
      for (let i = 0; i < x.rows; i += 3) for (let q = 0; q < (i % 11); q++) top.offer(i, (i + q + 1) % x.rows, 0.005 * (q + 1));
      assert.ok(softmax(g, s, top));
      const e = top.edges();
      return { src: e.src, dst: e.dst, weight: bits(e.weight) };
    });
    assert.deepEqual(wasm, ts, `k=${perNode}`);
  }
});

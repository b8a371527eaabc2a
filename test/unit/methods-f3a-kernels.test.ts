// F³A kernels: float32-screened coverage and medoids give exactly the float64 answers, and a whole run is
// byte-identical whichever backend computes the similarity rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { Coverage } from '../../extension/core/methods/f3a/coverage.ts';
import { pairDot } from '../../extension/core/methods/f3a/simrows.ts';
import { Medoids } from '../../extension/core/methods/f3a/medoid.ts';
import { dot, npSum } from '../../extension/core/methods/f3a/npsum.ts';
import { rowDots } from '../../extension/core/methods/f3a/simrows.ts';
import { configureKernels, tsGemmNT } from '../../extension/core/numeric/gemm.ts';
import { loadOrtGemm } from '../../extension/core/numeric/ort-gemm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

/** n unit rows of width d; every third row repeats an earlier one exactly (exact ties everywhere). */
function unitRows(n: number, d: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    if (i % 3 === 2) {
      X.copyWithin(i * d, (i - 2) * d, (i - 1) * d);
      continue;
    }
    let s = 0;
    for (let k = 0; k < d; k++) s += (X[i * d + k] = rand() - 0.5 + (i % 5) * 0.1) ** 2;
    for (let k = 0; k < d; k++) X[i * d + k] /= Math.sqrt(s);
  }
  return X;
}

function withBackend<T>(backend: 'ts' | 'ort', f: () => T): T {
  configureKernels({ backend });
  try {
    return f();
  } finally {
    configureKernels({ backend: 'auto' });
  }
}

test('rowDots and pairDot sum each entry exactly as tsGemmNT does', () => {
  const [n, d] = [37, 600];
  const X = unitRows(n, d, 3);
  const want = new Float64Array(n * n);
  tsGemmNT(X, n, X, n, d, want);
  const row = new Float64Array(n);
  for (const j of [0, 5, 36]) {
    rowDots(X, j * d, n, d, row, 0);
    assert.deepEqual(row, want.subarray(j * n, (j + 1) * n));
    for (let i = 0; i < n; i++) assert.equal(pairDot(X, j * d, i * d, d), want[j * n + i]);
  }
});

test('coverage: float32-screened rows (onnxruntime) give the exact float64 maxima, ties included', () => {
  assert.ok(loadOrtGemm(), 'onnxruntime available');
  const [n, d] = [240, 96];
  const X = unitRows(n, d, 11);
  const init = Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0.3 : -1));
  const first = Array.from({ length: 30 }, (_, r) => (r * 13) % n);
  const later = [7, 8, 100, 101, 239];
  const run = (backend: 'ts' | 'ort'): Float64Array =>
    withBackend(backend, () => {
      const c = new Coverage(X, n, d, init);
      c.absorbAll(first);
      c.prefetch(later.slice(0, 3));
      for (const j of later) c.absorb(j);
      return c.best;
    });
  const want = Float64Array.from(init);
  for (const j of [...first, ...later]) for (let i = 0; i < n; i++) want[i] = Math.max(want[i], pairDot(X, j * d, i * d, d));
  assert.deepEqual(run('ts'), want);
  assert.deepEqual(run('ort'), want);
});

test('medoids: float32 screening picks the exact medoid, the first member on exact ties', () => {
  const [n, d] = [90, 64];
  const X = unitRows(n, d, 5);
  const mem = Array.from({ length: 30 }, (_, a) => a * 3);
  const taken = new Uint8Array(n);
  const exact = (): number => {
    let token = -1;
    let best = -Infinity;
    for (const i of mem) {
      if (taken[i]) continue;
      const score = npSum(Float64Array.from(mem, (j) => dot(X, i * d, X, j * d, d))) / mem.length;
      if (token === -1 || score > best) [token, best] = [i, score];
    }
    return token;
  };
  const ts = new Medoids(X, d, false);
  const ort = new Medoids(X, d, true);
  for (let round = 0; round < 6; round++) {
    const want = exact();
    assert.equal(withBackend('ts', () => ts.of(0, mem, taken)), want, `ts round ${round}`);
    assert.equal(withBackend('ort', () => ort.of(0, mem, taken)), want, `ort round ${round}`);
    taken[want] = 1;
  }
  mem.forEach((i) => (taken[i] = 1));
  assert.equal(ort.of(0, mem, taken), -1);
});

test('a whole F³A run is byte-identical with similarity rows from TypeScript or onnxruntime', () => {
  const [h, w, d] = [16, 18, 48];
  const n = h * w;
  const rand = mulberry32(21);
  const V = Float32Array.from({ length: n * d }, (_, t) => Math.sin(t % d) * ((t / d) % 4) + rand() - 0.5);
  const cue = Float32Array.from({ length: 3 * d }, () => rand() - 0.5);
  const b = makeBundle(
    new Map([
      ['features', makeTensor('float32', [n, d], V)],
      ['cue', makeTensor('float32', [3, d], cue)],
      ['grid', makeTensor('int32', [2], Int32Array.from([h, w]))],
    ]),
    { source: 'f3a kernels', model: '', weightsKind: 'synthetic', layer: null, extra: {} },
  );
  const run = (backend: 'ts' | 'ort'): string => withBackend(backend, () => JSON.stringify(prune(b, 'f3a', { B: 60 })));
  assert.equal(run('ort'), run('ts'));
});

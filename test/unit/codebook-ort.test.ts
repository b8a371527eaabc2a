// Codebook modes A/B on onnxruntime: the graph's float32 cosines stay within graphErrorBound, and the
// float64 settling gives the float64 path's kept sets and argmax prototypes on near-tied prototypes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../../extension/core/bundle/tensor.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { ExactCosines, graphErrorBound, unitCodebook } from '../../extension/core/methods/codebook-ort.ts';
import { configureKernels, f32DotErrorBound } from '../../extension/core/numeric/gemm.ts';
import { loadOrtGemm } from '../../extension/core/numeric/ort-gemm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

/** Tokens and prototypes with near-duplicate and exactly duplicated prototypes, tokens close to some of them. */
function crowded(L: number, P: number, d: number, seed: number): { feats: Float32Array; protos: Float32Array } {
  const rand = mulberry32(seed);
  const protos = Float32Array.from({ length: P * d }, () => rand() - 0.5);
  for (let p = 1; p < P; p += 3) for (let k = 0; k < d; k++) protos[p * d + k] = protos[(p - 1) * d + k] + (p % 2 ? 0 : 1e-5) * (rand() - 0.5);
  const feats = Float32Array.from({ length: L * d }, () => (rand() - 0.5) * (1 + 40 * Number(rand() < 0.1)));
  for (let i = 0; i < L; i += 3) for (let k = 0; k < d; k++) feats[i * d + k] = protos[(i % P) * d + k] + 0.05 * feats[i * d + k];
  return { feats, protos };
}

test('graphErrorBound covers every cosine built from the onnxruntime product with the float32 unit prototypes and the tokens\' sums of squares (≈ 2× the dot bound, not more)', () => {
  const ort = loadOrtGemm();
  assert.ok(ort, 'onnxruntime loads');
  for (const [L, P, d] of [
    [60, 40, 2048],
    [90, 33, 300],
  ]) {
    const { feats, protos } = crowded(L, P, d, d);
    const prod = new Float32Array(L * P);
    // As ortMax: ĉ·xᵀ [P, L] with the unit prototypes kept per codebook, the tokens' squares from the graph.
    const unit = unitCodebook({ rows: P, cols: d, data: protos });
    assert.ok(unit);
    const sa = ort.gemmSquaresA(feats, L, unit, P, d, prod);
    const exact = new ExactCosines({ rows: L, cols: d, data: feats }, { rows: P, cols: d, data: protos });
    const eps = graphErrorBound(d, false);
    let worst = 0;
    for (let i = 0; i < L; i++) {
      for (let p = 0; p < P; p++) worst = Math.max(worst, Math.abs(prod[p * L + i] * (1 / Math.sqrt(sa[i])) - exact.cosine(i, p)));
    }
    assert.ok(worst > 0 && worst <= eps, `d ${d}: worst ${worst} ≤ ${eps}`);
    assert.ok(eps < 2.01 * f32DotErrorBound(d) && graphErrorBound(d, true) > eps);
  }
});

test('codebook on onnxruntime keeps the float64 tokens and argmax prototypes with near-tied and duplicated prototypes', () => {
  const L = 240;
  const P = 48;
  const d = 2048;
  const { feats, protos } = crowded(L, P, d, 5);
  const bundle = makeBundle(
    new Map([
      ['features', makeTensor('float32', [L, d], feats)],
      ['codebook', makeTensor('float32', [P, d], protos)],
    ]),
    { source: 'test', model: '', weightsKind: 'synthetic', layer: null, extra: {} },
  );
  try {
    for (const params of [
      { mode: 'A', tau: 0.05 },
      { mode: 'A', tau: 0.5 },
      { mode: 'B', tau: 0.2 },
      { mode: 'B', tau: 0.61 },
    ]) {
      configureKernels({ backend: 'ts', precision: 'f64' });
      const want = prune(bundle, 'codebook', params);
      configureKernels({ backend: 'ort', precision: 'f32' });
      const got = prune(bundle, 'codebook', params);
      const where = JSON.stringify(params);
      assert.deepEqual(got.keep, want.keep, where);
      assert.deepEqual(got.output.argmax_prototype, want.output.argmax_prototype, where);
      assert.ok(got.keep.length > 0 && got.keep.length < L, `${where} keeps some`);
      // Prototypes p ≡ 1 (mod 6) copy p − 1 exactly: the tie goes to the first copy, which does win tokens.
      const args = got.output.argmax_prototype as number[];
      assert.ok(!args.some((p) => p % 6 === 1), `${where}: a duplicate never beats its first copy`);
      assert.ok(args.some((p) => p % 6 === 0), `${where}: first copies win tokens`);
      const r = got.output.r as number[];
      const rf = want.output.r as number[];
      for (let i = 0; i < L; i++) assert.ok(Math.abs(r[i] - rf[i]) <= graphErrorBound(d, false), `${where} r[${i}]`);
    }
  } finally {
    configureKernels({ backend: 'auto', precision: 'auto' });
  }
});

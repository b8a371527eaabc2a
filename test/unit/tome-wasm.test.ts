// ToMe with its states in WebAssembly memory (in-place cosine operands, float64 re-checks and merges) takes
// the same steps as with TypeScript buffers, bit for bit: a four-step schedule large enough for the float32
// GEMM plan (576 × 256: every step but the last), with token sizes above 1 after the first step; and its
// SIMD row scan against the TypeScript one on tied values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, tomeStep, type TomeState } from '../../extension/core/methods/tome/matching.ts';
import { TomeWasm } from '../../extension/core/methods/tome/tome-wasm.ts';
import { type RowScan, scanRows } from '../../extension/core/numeric/gram.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

function runSchedule(start: TomeState, schedule: number[]): { steps: string[]; x: Float64Array } {
  let state = start;
  const steps: string[] = [];
  for (const r of schedule) {
    const step = tomeStep(state, state.x, state.d, r, false);
    steps.push(JSON.stringify([step.merges, step.unmerged, step.nodeIdx, step.nodeMax.map((v) => Object.is(v, -0) ? '-0' : v)]));
    state = step.state;
  }
  return { steps, x: Float64Array.from(state.x) };
}

test('the WebAssembly ToMe engine takes the same steps as TypeScript buffers', () => {
  const [n, d] = [576, 256];
  const rand = mulberry32(17);
  // Clustered rows, so many A tokens share a best B token and groups grow past one member.
  const centres = Array.from({ length: 12 }, () => Float32Array.from({ length: d }, () => rand() - 0.5));
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) data[i * d + k] = centres[i % 12][k] + 0.3 * (rand() - 0.5);
  const schedule = [288, 144, 72, 8];

  const wasm = initialState(data, n, d);
  assert.ok(wasm.engine, 'WebAssembly SIMD is available in Node 20');
  const viaWasm = runSchedule(wasm, schedule);

  const plain = initialState(data, n, d);
  const viaTs = runSchedule({ ...plain, engine: null, x: Float64Array.from(plain.x) }, schedule);

  assert.deepEqual(viaWasm.steps, viaTs.steps);
  assert.deepEqual(new BigInt64Array(viaWasm.x.buffer), new BigInt64Array(viaTs.x.buffer));
});

test('the engine’s SIMD row scan finds scanRows’s first maximum, its column and the runner-up', () => {
  const engine = TomeWasm.forSize(64, 32);
  assert.ok(engine);
  const rand = mulberry32(23);
  for (const n of [1, 2, 7, 30]) {
    const rows = 20;
    const out = engine.buffer(rows * n);
    // Few distinct values, so maxima tie within and across the even and odd columns.
    for (let i = 0; i < rows * n; i++) out[i] = Math.floor(rand() * 4) / 4 - (rand() < 0.05 ? Infinity : 0);
    const post = Float64Array.from({ length: rows + 3 }, () => (rand() < 0.5 ? 1 : 0.5));
    const vp = Float64Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 2));
    const fresh = (): RowScan => ({ best: new Int32Array(rows), top: new Float64Array(rows), second: new Float64Array(rows) });
    const got = fresh();
    const want = fresh();
    engine.scan(out, rows, n, post, 3, vp, got);
    scanRows(out, rows, n, post, 3, vp, want);
    assert.deepEqual(got, want, `n = ${n}`);
  }
});

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { AnalysisCache } from '../../extension/core/analyze/cache.ts';
import { inThreadExecutor, rerunMethod, rerunMethodWith, runAnalysis } from '../../extension/core/analyze/pipeline.ts';
import { PruneWorker } from '../../extension/core/analyze/prune-worker.ts';
import type { AnalysisOutcome, AnalyzeRequest } from '../../extension/core/analyze/types.ts';
import { InputError } from '../../extension/core/errors.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import { configureKernels } from '../../extension/core/numeric/gemm.ts';
import { Session } from '../../extension/host/session.ts';
import { ORACLE_DIR, REPO } from '../helpers/paths.ts';

// The methods worker thread (dist/methods-worker.cjs in the VSIX), built here from source the same way:
// same results as in-thread runs, the caller's event loop stays free, superseded runs are cancelled.

const OUT = join(REPO, 'test-output', 'methods-worker');
const ENTRY = join(OUT, 'methods-worker.cjs');
let worker: PruneWorker;
let big: AnalysisOutcome;

const request = (name: string): AnalyzeRequest => ({ image: null, bundlePath: join(ORACLE_DIR, `${name}.npz`), question: '', model: null, methods: 'all', budget: null, params: {}, provider: 'cpu', threads: 0, codebookPath: null });

before(async () => {
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({
    entryPoints: [join(REPO, 'extension/core/analyze/prune-worker-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: ENTRY,
    external: ['vscode', 'onnxruntime-node', 'sharp', '@huggingface/tokenizers'],
    define: { 'import.meta.url': 'import_meta_url' },
    inject: [join(REPO, 'scripts/import-meta-url.mjs')],
    logLevel: 'warning',
  });
  worker = new PruneWorker(ENTRY);
  big = await runAnalysis({ ...request('oracle_f05_24x24x64'), methods: ['f3a', 'gprune', 'divprune', 'tome'] });
});

after(async () => {
  await worker?.dispose();
});

/** Longest gap between 2 ms ticks of this thread's event loop while `work` runs. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 2);
  try {
    await work();
    // Let the timer see the end of a stall that finished just now.
    await new Promise((r) => setTimeout(r, 10));
  } finally {
    clearInterval(timer);
  }
  return worst;
}

test('a run in the worker gives the same entry as a run in this thread', async () => {
  for (const [method, k] of [
    ['f3a', 100],
    ['divprune', 30],
    ['tome', 200],
    ['gprune', 7],
  ] as const) {
    // Worker threads keep the similarity kernels in TypeScript (numeric/ort-gemm.ts: ortByDefaultHere), so
    // the in-thread reference uses the same kernels; onnxruntime's float32 GEMM would differ in the last digits.
    configureKernels({ backend: 'ts' });
    let a: ReturnType<typeof rerunMethod>;
    try {
      a = rerunMethod(structuredClone({ ...big, results: new Map() }), method, { budget: k });
    } finally {
      configureKernels({ backend: 'auto' });
    }
    const b = await rerunMethodWith(worker.execute, structuredClone({ ...big, results: new Map() }), method, { budget: k });
    assert.equal(b.entry.status, 'ok', method);
    if (a.entry.status !== 'ok' || b.entry.status !== 'ok') continue;
    assert.deepEqual(b.entry.keep, a.entry.keep, method);
    assert.equal(b.entry.keep.length, k, method);
    assert.deepEqual(b.result?.scores, a.result?.scores, method);
    assert.deepEqual(b.entry.display.trace, a.entry.display.trace, method);
  }
});

test("F³A at 576 tokens: the worker leaves this thread's event loop free; in this thread it stalls", async (t) => {
  const spec = getMethod('f3a');
  const params = spec.budgetParams(300, 576, {}) ?? {};
  // Warm both paths (bundle transfer, JIT) so the comparison is of steady runs. The in-thread run uses the
  // worker's (TypeScript) kernels too, so both do the same work.
  await worker.execute(big.bundle, 'f3a', spec.budgetParams(299, 576, {}) ?? {}, {});
  configureKernels({ backend: 'ts' });
  let on = 0;
  let off = 0;
  let timeMs = 0;
  try {
    await inThreadExecutor(big.bundle, 'f3a', spec.budgetParams(299, 576, {}) ?? {}, {});
    off = await longestStall(async () => {
      timeMs = (await worker.execute(big.bundle, 'f3a', params, {})).timeMs;
    });
    on = await longestStall(() => inThreadExecutor(big.bundle, 'f3a', params, {}));
  } finally {
    configureKernels({ backend: 'auto' });
  }
  t.diagnostic(`F³A ${timeMs.toFixed(0)} ms in the worker: longest event-loop stall ${off.toFixed(1)} ms (in-thread: ${on.toFixed(0)} ms)`);
  assert.ok(timeMs > 60, `F³A took ${timeMs.toFixed(0)} ms in the worker`);
  assert.ok(off < Math.max(40, timeMs / 3), `event loop stalled ${off.toFixed(0)} ms during a ${timeMs.toFixed(0)} ms worker run`);
  assert.ok(on > timeMs / 2, `in-thread run should stall the loop (${on.toFixed(0)} ms)`);
});

test('cancellation: a queued job is dropped, the running one stops the worker, the next job restarts it', async () => {
  const spec = getMethod('f3a');
  const starts = worker.starts;
  const ac1 = new AbortController();
  const ac2 = new AbortController();
  const t0 = performance.now();
  const first = worker.execute(big.bundle, 'f3a', spec.budgetParams(250, 576, {}) ?? {}, {}, ac1.signal);
  const second = worker.execute(big.bundle, 'f3a', spec.budgetParams(251, 576, {}) ?? {}, {}, ac2.signal);
  ac2.abort();
  await assert.rejects(second, { name: 'CancelledError' });
  setTimeout(() => ac1.abort(), 20);
  await assert.rejects(first, { name: 'CancelledError' });
  assert.ok(performance.now() - t0 < 300, 'the running job is answered at once, not when the method finishes');
  const next = await worker.execute(big.bundle, 'gprune', getMethod('gprune').budgetParams(10, 576, {}) ?? {}, {});
  assert.equal(next.result.keep.length, 10);
  assert.equal(worker.starts, starts + 1, 'a fresh worker (the bundle is sent to it again)');
  // Already aborted: never queued.
  const ac3 = new AbortController();
  ac3.abort();
  await assert.rejects(worker.execute(big.bundle, 'f3a', {}, {}, ac3.signal), { name: 'CancelledError' });
});

test("a method's input error comes back as an InputError (a 'skipped' entry), other failures as errors", async () => {
  await assert.rejects(worker.execute(big.bundle, 'fastv', {}, { llm_attn: null }), (err: unknown) => err instanceof InputError && /llm_attn/.test(err.message));
  await assert.rejects(worker.execute(big.bundle, 'nope', {}, {}), /Unknown method "nope"/);
});

test('a Session on the worker: budget re-runs, full pick orders and re-run searches go through it', async () => {
  const req = request('oracle_f03_8x8x32');
  const outcome = await runAnalysis(req, {}, { cache: new AnalysisCache() });
  const s = new Session('sess_worker', 'PruneLens: oracle_f03_8x8x32.npz', req, outcome, '2025-01-01T00:00:00.000Z', new AnalysisCache(), worker.execute);
  const ref = new Session('sess_thread', 'PruneLens: oracle_f03_8x8x32.npz', req, outcome, '2025-01-01T00:00:00.000Z');
  const r = await s.runAt('f3a', 20);
  assert.deepEqual(r.entry.status === 'ok' && r.entry.keep, ref.rerun('f3a', 20).entry.status === 'ok' && ref.result('f3a')?.keep);
  assert.equal(s.result('f3a')?.keep.length, 20);
  const dropped = Array.from({ length: s.n }, (_, i) => i).find((i) => !s.result('divprune')?.keep.includes(i));
  assert.ok(dropped !== undefined);
  assert.equal(await s.ensureFullOrder('divprune'), true);
  assert.equal(s.fullOrders.get('divprune')?.length, 64);
  const tomeDropped = Array.from({ length: s.n }, (_, i) => i).find((i) => !s.result('tome')?.keep.includes(i));
  assert.ok(tomeDropped !== undefined);
  const found = await s.search('tome', tomeDropped);
  const again = await ref.search('tome', tomeDropped);
  assert.deepEqual([found.budget, found.exact], [again.budget, again.exact]);
  // A search cancelled mid-way rejects and leaves nothing marked as searching.
  const ac = new AbortController();
  const p = s.search('f3a', tomeDropped, ac.signal);
  assert.ok(s.searching.has('f3a'));
  ac.abort();
  await assert.rejects(p, { name: 'CancelledError' });
  assert.equal(s.searching.size, 0);
});

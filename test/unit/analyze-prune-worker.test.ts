import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { AnalysisCache } from '../../extension/core/analyze/cache.ts';
import { inThreadExecutor, rerunMethod, rerunMethodWith, runAnalysis } from '../../extension/core/analyze/pipeline.ts';
import { PruneWorker, pruneWorkerEnv } from '../../extension/core/analyze/prune-worker.ts';
import type { AnalysisOutcome, AnalyzeRequest } from '../../extension/core/analyze/types.ts';
import { InputError } from '../../extension/core/errors.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import { configureKernels } from '../../extension/core/numeric/gemm.ts';
import { syntheticBundle } from '../../bench/synthetic.ts';
import { kernelThreads } from '../../extension/core/numeric/ort-gemm.ts';
import { Session } from '../../extension/host/session.ts';
import { loadOracleCase } from '../helpers/oracle.ts';
import { ORACLE_DIR, REPO } from '../helpers/paths.ts';
import { until } from '../helpers/wait.ts';

// The methods worker process (dist/methods-worker.cjs in the VSIX, forked), built here from source the same
// way: bit-identical results to in-process runs on the same kernels, the caller's event loop stays free,
// superseded runs are cancelled by killing the process, a crashed process is replaced, an idle one lets
// its parent exit.

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

test('a run in the worker process gives the same entry as a run in this process, bit for bit, on the same kernels', async () => {
  for (const [method, k] of [
    ['f3a', 100],
    ['divprune', 30],
    ['tome', 200],
    ['gprune', 7],
    ['cdpruner', 64],
    ['cdpruner', 576],
  ] as const) {
    // The child may load onnxruntime like this process: both pick kernels by size (auto), so both run the
    // same GEMMs (CDPruner's 576×64 Gram on onnxruntime's float32 GEMM).
    const a = rerunMethod(structuredClone({ ...big, results: new Map() }), method, { budget: k });
    const b = await rerunMethodWith(worker.execute, structuredClone({ ...big, results: new Map() }), method, { budget: k });
    assert.equal(b.entry.status, 'ok', method);
    if (a.entry.status !== 'ok' || b.entry.status !== 'ok') continue;
    assert.deepEqual(b.entry.keep, a.entry.keep, method);
    assert.equal(b.entry.keep.length, k, method);
    assert.deepEqual(b.result?.scores, a.result?.scores, method);
    assert.deepEqual(b.result?.output, a.result?.output, method);
    assert.deepEqual(b.entry.display.trace, a.entry.display.trace, method);
    if (method === 'cdpruner') assert.match(b.result?.notes[0] ?? '', /float32 GEMM/, 'the child ran CDPruner on onnxruntime');
  }
});

test("the child runs on the parent's kernel settings: configureKernels here reaches it, its environment carries them", async () => {
  const params = getMethod('cdpruner').budgetParams(64, 576, {}) ?? {};
  configureKernels({ backend: 'ts' });
  try {
    const env = pruneWorkerEnv({ PATH: '/bin' });
    assert.equal(env.PRUNELENS_KERNELS, 'ts');
    assert.equal(env.PRUNELENS_PRECISION, 'auto');
    assert.equal(env.PRUNELENS_THREADS, String(kernelThreads()));
    assert.equal(env.PATH, '/bin');
    const here = await inThreadExecutor(big.bundle, 'cdpruner', params, {});
    const there = await worker.execute(big.bundle, 'cdpruner', params, {});
    assert.match(there.result.notes[0], /float64/);
    assert.deepEqual(there.result.output, here.result.output);
    assert.deepEqual(there.result.scores, here.result.scores);
  } finally {
    configureKernels({ backend: 'auto' });
  }
  const back = await worker.execute(big.bundle, 'cdpruner', params, {});
  assert.match(back.result.notes[0], /float32 GEMM/);
});

test("F³A at 2880 tokens: the worker leaves this thread's event loop free; in this thread it stalls", async (t) => {
  // Large enough (≈ 0.4 s) that a loaded machine's scheduling hiccups stay far below the thresholds.
  const heavy = syntheticBundle({ label: 'stall', base: { h: 48, w: 60 }, d: 256 });
  const spec = getMethod('f3a');
  const params = spec.budgetParams(320, 2880, {}) ?? {};
  // Warm both paths (bundle transfer, JIT) so the comparison is of steady runs on the same kernels.
  await worker.execute(heavy, 'f3a', spec.budgetParams(319, 2880, {}) ?? {}, {});
  await inThreadExecutor(heavy, 'f3a', spec.budgetParams(319, 2880, {}) ?? {}, {});
  let timeMs = 0;
  const off = await longestStall(async () => {
    timeMs = (await worker.execute(heavy, 'f3a', params, {})).timeMs;
  });
  const on = await longestStall(() => inThreadExecutor(heavy, 'f3a', params, {}));
  t.diagnostic(`F³A ${timeMs.toFixed(0)} ms in the worker: longest event-loop stall ${off.toFixed(1)} ms (in-thread: ${on.toFixed(0)} ms)`);
  assert.ok(timeMs > 100, `F³A took ${timeMs.toFixed(0)} ms in the worker`);
  assert.ok(off < Math.max(50, timeMs / 4), `event loop stalled ${off.toFixed(0)} ms during a ${timeMs.toFixed(0)} ms worker run`);
  assert.ok(on > timeMs / 2, `in-thread run should stall the loop (${on.toFixed(0)} ms)`);
});

/** Whether a process is still there (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('cancellation: a queued job is dropped, the running one kills the process, the next job starts a fresh one', async () => {
  const spec = getMethod('f3a');
  await worker.execute(big.bundle, 'gprune', getMethod('gprune').budgetParams(10, 576, {}) ?? {}, {});
  const starts = worker.starts;
  const pid = worker.pid;
  assert.ok(pid !== undefined && alive(pid));
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
  await until(`process ${pid} gone`, () => !alive(pid));
  const next = await worker.execute(big.bundle, 'gprune', getMethod('gprune').budgetParams(10, 576, {}) ?? {}, {});
  assert.equal(next.result.keep.length, 10);
  assert.equal(worker.starts, starts + 1, 'a fresh process (the bundle is sent to it again)');
  assert.notEqual(worker.pid, pid);
  // Already aborted: never queued.
  const ac3 = new AbortController();
  ac3.abort();
  await assert.rejects(worker.execute(big.bundle, 'f3a', {}, {}, ac3.signal), { name: 'CancelledError' });
});

test('a process that dies mid-run fails that job only; the next job runs in a fresh process', async () => {
  const logs: string[] = [];
  const w = new PruneWorker(ENTRY, (line) => logs.push(line));
  try {
    await w.execute(big.bundle, 'gprune', getMethod('gprune').budgetParams(10, 576, {}) ?? {}, {});
    const pid = w.pid as number;
    const running = w.execute(big.bundle, 'f3a', getMethod('f3a').budgetParams(250, 576, {}) ?? {}, {});
    const queued = w.execute(big.bundle, 'divprune', getMethod('divprune').budgetParams(30, 576, {}) ?? {}, {});
    setTimeout(() => process.kill(pid, 'SIGKILL'), 20);
    await assert.rejects(running, /methods worker process stopped \(signal SIGKILL\)/);
    const after = await queued;
    assert.equal(after.result.keep.length, 30);
    assert.equal(w.starts, 2);
    assert.notEqual(w.pid, pid);
    assert.ok(logs.some((l) => /stopped \(signal SIGKILL\)/.test(l)), 'the crash is logged');
  } finally {
    await w.dispose();
  }
});

test('dispose kills the process and rejects what was pending', async () => {
  const w = new PruneWorker(ENTRY);
  await w.execute(big.bundle, 'gprune', getMethod('gprune').budgetParams(10, 576, {}) ?? {}, {});
  const pid = w.pid as number;
  const pending = assert.rejects(w.execute(big.bundle, 'f3a', getMethod('f3a').budgetParams(250, 576, {}) ?? {}, {}), { name: 'CancelledError' });
  await w.dispose();
  await pending;
  assert.equal(alive(pid), false);
  await assert.rejects(w.execute(big.bundle, 'gprune', {}, {}), /disposed/);
});

test('the TypeScript entry runs through tsx (development); an idle process does not keep its parent alive', () => {
  // A parent that runs one job and never disposes: it must exit by itself, its child with it.
  const script = [
    `import { PruneWorker } from ${JSON.stringify(join(REPO, 'extension/core/analyze/prune-worker.ts'))};`,
    `import { readBundle } from ${JSON.stringify(join(REPO, 'extension/core/bundle/io.ts'))};`,
    `const w = new PruneWorker(${JSON.stringify(join(REPO, 'extension/core/analyze/prune-worker-entry.ts'))});`,
    `const b = await readBundle(${JSON.stringify(join(ORACLE_DIR, 'oracle_f03_8x8x32.npz'))});`,
    `const r = await w.execute(b, 'divprune', { ratio: 0.1 }, {});`,
    `console.log(JSON.stringify({ keep: r.result.keep, pid: w.pid }));`,
  ].join('\n');
  const file = join(OUT, 'idle-parent.mts');
  writeFileSync(file, script);
  const t0 = performance.now();
  const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 30_000 });
  const { keep, pid } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { keep: number[]; pid: number };
  assert.deepEqual(keep, prune(loadOracleCase('oracle_f03_8x8x32').bundle, 'divprune', { ratio: 0.1 }).keep);
  assert.ok(performance.now() - t0 < 30_000);
  // The child noticed its parent leaving (IPC disconnect) and exited too.
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  assert.equal(alive(pid), false, 'the child exits with its parent');
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

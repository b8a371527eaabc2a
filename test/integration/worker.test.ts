import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build } from 'esbuild';
import { GraphBuilder, mulberry32 } from '../../models/onnx/builder.ts';
import { InputError } from '../../extension/core/errors.ts';
import { WorkerClient } from '../../extension/core/runtime/worker/client.ts';
import { CancelledError, WorkerCrashedError, WorkerRemoteError, WorkerTimeoutError } from '../../extension/core/runtime/worker/errors.ts';
import { launchFor } from '../../extension/core/runtime/worker/launch.ts';
import type { RunModelPayload } from '../../extension/core/runtime/worker/kinds.ts';
import { REPO } from '../helpers/paths.ts';
import type { FixtureKinds } from './worker-fixture-entry.ts';

const FIXTURE = launchFor(join(REPO, 'test', 'integration', 'worker-fixture-entry.ts'));

// y = mean(x · W^L): L chained MatMuls over a shared weight. The work grows with x's rows, so one
// session serves a fast call (1 row) and a call lasting many seconds (4096 rows).
const WIDTH = 512;
const LAYERS = 200;
function chainModel(): { bytes: Uint8Array; w: Float32Array } {
  const rnd = mulberry32(11);
  const a = Math.sqrt(3 / WIDTH); // keeps the activations' scale through the chain
  const w = Float32Array.from({ length: WIDTH * WIDTH }, () => (rnd() * 2 - 1) * a);
  const g = new GraphBuilder('slow_chain');
  let x = g.input('x', 'float32', ['rows', WIDTH]);
  const wName = g.constF('w', [WIDTH, WIDTH], w);
  for (let i = 0; i < LAYERS; i++) x = g.op1('MatMul', [x, wName]);
  g.op1('ReduceMean', [x], { axes: [1], keepdims: 0 }, 'y');
  g.output('y', 'float32', ['rows']);
  return { bytes: g.build(), w };
}

function chainReference(x: Float32Array, w: Float32Array): number {
  let v = Float64Array.from(x);
  for (let l = 0; l < LAYERS; l++) {
    const next = new Float64Array(WIDTH);
    for (let i = 0; i < WIDTH; i++) {
      const xi = v[i];
      if (xi === 0) continue;
      const row = i * WIDTH;
      for (let j = 0; j < WIDTH; j++) next[j] += xi * w[row + j];
    }
    v = next;
  }
  return v.reduce((s, t) => s + t, 0) / WIDTH;
}

function runPayload(bytes: Uint8Array, x: Float32Array, rows: number): RunModelPayload {
  return { model: { bytes, key: 'slow-chain' }, provider: 'cpu', threads: 1, feeds: { x: { type: 'float32', dims: [rows, WIDTH], data: x } } };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

test('cancelling a running inference kills the worker quickly; the next request restarts it and is correct', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE });
  try {
    const { bytes, w } = chainModel();
    const rnd = mulberry32(5);
    const x1 = Float32Array.from({ length: WIDTH }, () => rnd() * 2 - 1);
    // Warm: start the worker and cache the session, so the slow call below is inside session.run.
    const warm = await client.request('run-model', runPayload(bytes, x1, 1));
    const expected = chainReference(x1, w);
    assert.ok(Math.abs((warm.outputs.y.data as Float32Array)[0] - expected) <= 1e-4 * Math.max(1, Math.abs(expected)));
    const firstPid = client.pid;
    assert.ok(firstPid);

    const rows = 4096;
    const big = Float32Array.from({ length: rows * WIDTH }, () => rnd() * 2 - 1);
    const controller = new AbortController();
    const slow = client.request('run-model', runPayload(bytes, big, rows), { signal: controller.signal });
    const sentAt = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    const abortedAt = Date.now();
    controller.abort();
    await assert.rejects(slow, (err: unknown) => err instanceof CancelledError && /cancelled/.test(err.message));
    const rejectMs = Date.now() - abortedAt;
    assert.ok(rejectMs < 500, `cancel took ${rejectMs} ms`);
    assert.ok(abortedAt - sentAt < 2000);
    assert.ok(await waitGone(firstPid, 3000), 'the worker running the cancelled inference is gone');
    assert.equal(client.pid, undefined);

    const again = await client.request('run-model', runPayload(bytes, x1, 1));
    assert.ok(Math.abs((again.outputs.y.data as Float32Array)[0] - expected) <= 1e-4 * Math.max(1, Math.abs(expected)));
    assert.equal(client.starts, 2);
    assert.notEqual(client.pid, firstPid);
    assert.ok(again.createMs > 0, 'the restarted worker created its session afresh');
  } finally {
    await client.dispose();
  }
});

test('a worker that exits or is killed mid-request fails that request; the next one succeeds', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE });
  try {
    const pid1 = (await client.request('ping', null)).pid;
    await assert.rejects(client.request('crash', { code: 3 }), (err: unknown) => err instanceof WorkerCrashedError && err.exitCode === 3 && /exit code 3/.test(err.message));
    const pid2 = (await client.request('ping', null)).pid;
    assert.notEqual(pid2, pid1);
    await assert.rejects(client.request('kill', null), (err: unknown) => err instanceof WorkerCrashedError && err.signal === 'SIGKILL' && /signal SIGKILL/.test(err.message));
    const pid3 = (await client.request('ping', null)).pid;
    assert.notEqual(pid3, pid2);
    assert.equal(client.starts, 3);
  } finally {
    await client.dispose();
  }
});

test('a request past its time limit kills the worker; queued requests still run', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE });
  try {
    await client.request('ping', null);
    const t0 = Date.now();
    const hung = client.request('spin', { ms: 60_000 }, { timeoutMs: 300 });
    const queued = client.request('spin', { ms: 10 });
    await assert.rejects(hung, (err: unknown) => err instanceof WorkerTimeoutError && err.timeoutMs === 300 && /timed out after 300 ms/.test(err.message));
    assert.ok(Date.now() - t0 < 5000);
    assert.ok((await queued).spunMs >= 10);
    assert.equal(client.starts, 2);
  } finally {
    await client.dispose();
  }
});

test('cancelling a queued request does not touch the worker; handler errors keep their meaning', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE });
  try {
    const pid = (await client.request('ping', null)).pid;
    const running = client.request('spin', { ms: 300 });
    const controller = new AbortController();
    const queued = client.request('spin', { ms: 1 }, { signal: controller.signal });
    controller.abort();
    await assert.rejects(queued, CancelledError);
    assert.ok((await running).spunMs >= 300);
    // Aborted before it was made: rejected at once, nothing sent.
    await assert.rejects(client.request('ping', null, { signal: AbortSignal.abort() }), CancelledError);

    await assert.rejects(client.request('input-error', null), (err: unknown) => err instanceof InputError && err.message === 'That image is too small.');
    const bad = { model: { bytes: new Uint8Array([1, 2, 3, 4]) }, provider: 'cpu', threads: 1, feeds: {} };
    await assert.rejects(client.request('run-model', bad), WorkerRemoteError);
    assert.equal((await client.request('ping', null)).pid, pid);
    assert.equal(client.starts, 1);
  } finally {
    await client.dispose();
  }
});

test('typed arrays cross the process boundary intact (int64 and float32)', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE });
  try {
    const g = new GraphBuilder('io');
    const ids = g.input('ids', 'int64', [1, 'n']);
    g.op1('Add', [ids, g.constI('one', [1], [1])], {}, 'ids_plus_one');
    g.output('ids_plus_one', 'int64', [1, 'n']);
    const x = g.input('x', 'float32', [2, 2]);
    g.op1('Transpose', [x], { perm: [1, 0] }, 'xt');
    g.output('xt', 'float32', [2, 2]);
    const r = await client.request('run-model', {
      model: { bytes: g.build() },
      provider: 'cpu',
      threads: 1,
      feeds: {
        ids: { type: 'int64', dims: [1, 3], data: BigInt64Array.from([49406n, 768n, 49407n]) },
        x: { type: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      },
    });
    assert.deepEqual([...(r.outputs.ids_plus_one.data as BigInt64Array)], [49407n, 769n, 49408n]);
    assert.deepEqual(r.outputs.ids_plus_one.dims, [1, 3]);
    assert.deepEqual([...(r.outputs.xt.data as Float32Array)], [1, 3, 2, 4]);
    // Second call with the same bytes reuses the worker's cached session.
    const r2 = await client.request('run-model', {
      model: { bytes: g.build() },
      provider: 'cpu',
      threads: 1,
      fetches: ['xt'],
      feeds: { ids: { type: 'int64', dims: [1, 1], data: BigInt64Array.from([0n]) }, x: { type: 'float32', dims: [2, 2], data: Float32Array.from([5, 6, 7, 8]) } },
    });
    assert.equal(r2.createMs, 0);
    assert.deepEqual(Object.keys(r2.outputs), ['xt']);
    assert.deepEqual([...(r2.outputs.xt.data as Float32Array)], [5, 7, 6, 8]);
  } finally {
    await client.dispose();
  }
});

test('the worker also runs as a CommonJS bundle (as dist/worker.cjs does), finding onnxruntime-node beside it', async () => {
  // Same bundling as esbuild.mjs's worker entry, written to test-output/ so dist/ is left alone.
  const outfile = join(REPO, 'test-output', 'worker-bundle', 'worker.cjs');
  await build({
    entryPoints: [join(REPO, 'extension', 'core', 'runtime', 'worker', 'entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'onnxruntime-node', 'sharp', '@huggingface/tokenizers'],
    define: { 'import.meta.url': 'import_meta_url' },
    inject: [join(REPO, 'scripts', 'import-meta-url.mjs')],
    logLevel: 'error',
  });
  const launch = launchFor(outfile);
  assert.deepEqual(launch.execArgv, []); // plain node, no tsx
  const client = new WorkerClient({ launch });
  try {
    const backends = await client.request('backends', null);
    assert.ok(backends.some((b) => b.name === 'cpu' && b.bundled && b.installed));
    const smoke = await client.request('smoke', { provider: 'cpu', threads: 1 });
    assert.ok(smoke.maxAbsDiff <= 1e-6);
  } finally {
    await client.dispose();
  }
});

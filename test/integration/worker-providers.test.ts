import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GraphBuilder } from '../../models/onnx/builder.ts';
import { PROVIDER_SETTINGS, describeChoice, selectProvider } from '../../extension/core/runtime/providers.ts';
import { WorkerClient } from '../../extension/core/runtime/worker/client.ts';
import { defaultWorkerLaunch, launchFor } from '../../extension/core/runtime/worker/launch.ts';
import type { FixtureKinds } from './worker-fixture-entry.ts';
import { REPO } from '../helpers/paths.ts';

const FIXTURE = launchFor(join(REPO, 'test', 'integration', 'worker-fixture-entry.ts'));

function doubler(): Uint8Array {
  const g = new GraphBuilder('double');
  const x = g.input('x', 'float32', [1, 4]);
  g.op1('Mul', [x, g.constF('two', [1], [2])], {}, 'y');
  g.output('y', 'float32', [1, 4]);
  return g.build();
}

async function runsOn(client: Pick<WorkerClient, 'request'>, provider: string): Promise<number[]> {
  const r = await client.request('run-model', {
    model: { bytes: doubler() },
    provider,
    threads: 1,
    feeds: { x: { type: 'float32', dims: [1, 4], data: Float32Array.from([1, -2, 3.5, 0]) } },
  });
  return [...(r.outputs.y.data as Float32Array)];
}

test('auto: every GPU provider this build has is tried in the worker; the fallback is clean and explained', async () => {
  const client = new WorkerClient({ launch: defaultWorkerLaunch() });
  try {
    const t0 = Date.now();
    const choice = await selectProvider(client, 'auto', 1);
    assert.ok(Date.now() - t0 < 60_000);
    assert.equal(choice.requested, 'auto');
    const backends = await client.request('backends', null);
    assert.ok(backends.some((b) => b.name === 'cpu' && b.bundled));
    // Each provider other than the one chosen has a reason.
    for (const p of PROVIDER_SETTINGS) {
      if (p === 'auto' || p === 'cpu' || p === choice.provider) continue;
      const s = choice.skipped.find((x) => x.provider === p);
      assert.ok(s && s.reason.length > 0, `no reason recorded for ${p}`);
    }
    // This build bundles webgpu: it either ran the smoke graph correctly or its failure is quoted.
    if (backends.some((b) => b.name === 'webgpu') && choice.provider !== 'webgpu') {
      const wg = choice.skipped.find((x) => x.provider === 'webgpu');
      assert.match(wg?.reason ?? '', /^smoke run (failed: .+|timed out after \d+ ms)$/);
    }
    if (process.platform === 'linux') {
      assert.match(choice.skipped.find((x) => x.provider === 'dml')?.reason ?? '', /not for this OS/);
      assert.match(choice.skipped.find((x) => x.provider === 'coreml')?.reason ?? '', /not for this OS/);
      const cuda = backends.find((b) => b.name === 'cuda');
      if (cuda && !cuda.installed) assert.match(choice.skipped.find((x) => x.provider === 'cuda')?.reason ?? '', /not installed/);
    }
    assert.match(describeChoice(choice)[0], new RegExp(`^execution provider: ${choice.provider} \\(setting: auto; 1 thread\\)$`));
    // The worker survived the probing and the chosen provider runs a model.
    assert.deepEqual(await runsOn(client, choice.provider), [2, -4, 7, 0]);
  } finally {
    await client.dispose();
  }
});

test('an explicit provider that cannot run falls back to CPU with a notice, never a throw', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE });
  try {
    for (const p of ['dml', 'coreml', 'cuda', 'webgpu'] as const) {
      const choice = await selectProvider(client, p, 2);
      if (choice.provider === p) continue; // a GPU that works here: nothing to fall back from
      assert.equal(choice.provider, 'cpu');
      assert.equal(choice.notices.length, 1);
      assert.match(choice.notices[0], new RegExp(`^Execution provider "${p}" was requested but cannot run here \\(.+\\); running on CPU instead\\.$`));
      assert.deepEqual(choice.skipped.map((s) => s.provider), [p]);
    }
    assert.deepEqual(await runsOn(client, 'cpu'), [2, -4, 7, 0]);
  } finally {
    await client.dispose();
  }
});

test('a smoke run that hangs times out, the worker is replaced, and CPU still runs', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE, env: { ...process.env, PRUNELENS_TEST_SMOKE_HANG: 'webgpu' } });
  try {
    const t0 = Date.now();
    const choice = await selectProvider(client, 'webgpu', 1, { smokeTimeoutMs: 1500, platform: 'linux' });
    assert.ok(Date.now() - t0 < 20_000);
    assert.equal(choice.provider, 'cpu');
    assert.deepEqual(choice.skipped, [{ provider: 'webgpu', reason: 'smoke run timed out after 1500 ms' }]);
    assert.deepEqual(await runsOn(client, 'cpu'), [2, -4, 7, 0]);
    assert.equal(client.starts, 2);
  } finally {
    await client.dispose();
  }
});

test('a smoke run that kills the worker (like a native fault) is recorded, and auto goes on to CPU', async () => {
  const client = new WorkerClient<FixtureKinds>({ launch: FIXTURE, env: { ...process.env, PRUNELENS_TEST_SMOKE_KILL: 'webgpu' } });
  try {
    const choice = await selectProvider(client, 'auto', 1, { platform: 'linux' });
    assert.equal(choice.provider, 'cpu');
    assert.match(choice.skipped.find((s) => s.provider === 'webgpu')?.reason ?? '', /^smoke run failed: runtime worker died \(signal SIGKILL\) during smoke/);
    assert.deepEqual(await runsOn(client, 'cpu'), [2, -4, 7, 0]);
  } finally {
    await client.dispose();
  }
});

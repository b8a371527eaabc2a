import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../extension/core/errors.ts';
import {
  chooseProvider,
  describeChoice,
  oneLine,
  parseProviderSetting,
  parseThreads,
  sessionOptionsFor,
  type ExecutionProvider,
  type ProviderProbe,
} from '../../extension/core/runtime/providers.ts';
import type { BackendInfo } from '../../extension/core/runtime/worker/kinds.ts';
import { providerNotes } from '../../extension/core/analyze/encode.ts';
import { CancelledError, WorkerTimeoutError } from '../../extension/core/runtime/worker/errors.ts';

const LINUX_BUILD: BackendInfo[] = [
  { name: 'cpu', bundled: true, installed: true },
  { name: 'webgpu', bundled: true, installed: true },
  { name: 'cuda', bundled: false, installed: false },
  { name: 'tensorrt', bundled: false, installed: false },
];

/** A probe whose smoke runs succeed only for `working`, recording what was tried. */
function probe(platform: NodeJS.Platform, backends: BackendInfo[], working: ExecutionProvider[], failures: { [p: string]: Error } = {}): ProviderProbe & { tried: string[] } {
  const tried: string[] = [];
  return {
    platform,
    backends,
    tried,
    async smoke(p) {
      tried.push(p);
      if (failures[p]) throw failures[p];
      if (!working.includes(p)) throw new Error(`no ${p} device`);
      return { provider: p };
    },
  };
}

test('settings parse strictly', () => {
  assert.equal(parseProviderSetting('auto'), 'auto');
  assert.equal(parseProviderSetting(' CUDA '), 'cuda');
  assert.throws(() => parseProviderSetting('tensorrt'), InputError);
  assert.throws(() => parseProviderSetting('gpu'), /expected one of: auto, cpu, cuda, webgpu, dml, coreml/);
  assert.equal(parseThreads(undefined), 0);
  assert.equal(parseThreads('4'), 4);
  assert.equal(parseThreads(0), 0);
  for (const bad of ['-1', '1.5', 'two', 2000]) assert.throws(() => parseThreads(bad), InputError);
});

test('auto on a Linux build like this one: cuda not installed, webgpu fails its smoke run, CPU runs', async () => {
  const pr = probe('linux', LINUX_BUILD, [], { webgpu: new Error('/onnxruntime_src/x/webgpu_context.cc:136 fn() cond was false. Failed to get a WebGPU adapter: No supported adapters') });
  const c = await chooseProvider('auto', 2, pr);
  assert.equal(c.provider, 'cpu');
  assert.deepEqual(pr.tried, ['webgpu']); // cuda is never loaded when its libraries are absent
  assert.deepEqual(c.skipped, [
    { provider: 'cuda', reason: 'not bundled with onnxruntime-node and its libraries are not installed (see docs/GPU.md)' },
    { provider: 'webgpu', reason: 'smoke run failed: Failed to get a WebGPU adapter: No supported adapters' },
    { provider: 'dml', reason: 'not for this OS (dml exists for Windows only)' },
    { provider: 'coreml', reason: 'not for this OS (coreml exists for macOS only)' },
  ]);
  assert.deepEqual(c.notices, []);
  assert.deepEqual(describeChoice(c).slice(0, 2), ['execution provider: cpu (setting: auto; 2 threads)', '  cuda: not bundled with onnxruntime-node and its libraries are not installed (see docs/GPU.md)']);
});

test('auto prefers CUDA when installed and working, then the next GPU, then CPU', async () => {
  const withCuda = LINUX_BUILD.map((b) => (b.name === 'cuda' ? { ...b, installed: true } : b));
  let c = await chooseProvider('auto', 0, probe('linux', withCuda, ['cuda', 'webgpu']));
  assert.equal(c.provider, 'cuda');
  assert.ok(!c.skipped.some((s) => s.provider === 'cuda' || s.provider === 'webgpu'));
  c = await chooseProvider('auto', 0, probe('linux', withCuda, ['webgpu'], { cuda: new Error('CUDA driver version is insufficient') }));
  assert.equal(c.provider, 'webgpu');
  assert.deepEqual(c.skipped[0], { provider: 'cuda', reason: 'smoke run failed: CUDA driver version is insufficient' });
  assert.equal(describeChoice(c)[0], 'execution provider: webgpu (setting: auto; default threads)');
});

test('auto follows each OS: DirectML on Windows, CoreML on macOS', async () => {
  const win: BackendInfo[] = [
    { name: 'cpu', bundled: true, installed: true },
    { name: 'dml', bundled: true, installed: true },
    { name: 'webgpu', bundled: true, installed: true },
    { name: 'cuda', bundled: false, installed: false },
  ];
  const w = probe('win32', win, ['dml', 'webgpu']);
  const cw = await chooseProvider('auto', 0, w);
  assert.equal(cw.provider, 'dml');
  assert.deepEqual(w.tried, ['dml']);
  assert.match(cw.skipped.find((s) => s.provider === 'coreml')?.reason ?? '', /not for this OS/);

  const mac: BackendInfo[] = [
    { name: 'cpu', bundled: true, installed: true },
    { name: 'coreml', bundled: true, installed: true },
    { name: 'webgpu', bundled: true, installed: true },
  ];
  const cm = await chooseProvider('auto', 0, probe('darwin', mac, ['coreml']));
  assert.equal(cm.provider, 'coreml');
  assert.match(cm.skipped.find((s) => s.provider === 'cuda')?.reason ?? '', /not for this OS \(cuda exists for Linux and Windows only\)/);
  // A provider the OS supports but this build lacks.
  const cm2 = await chooseProvider('auto', 0, probe('darwin', mac.filter((b) => b.name !== 'coreml'), []));
  assert.equal(cm2.provider, 'cpu');
  assert.equal(cm2.skipped.find((s) => s.provider === 'coreml')?.reason, 'not in this onnxruntime-node build');
});

test('an explicit provider that fails falls back to CPU with one notice; one that works is used', async () => {
  const c = await chooseProvider('cuda', 1, probe('linux', LINUX_BUILD, []));
  assert.equal(c.provider, 'cpu');
  assert.deepEqual(c.skipped.map((s) => s.provider), ['cuda']);
  assert.equal(c.notices.length, 1);
  assert.match(c.notices[0], /^Execution provider "cuda" was requested but cannot run here \(not bundled.*\); running on CPU instead\.$/);

  const t = await chooseProvider('webgpu', 1, probe('linux', LINUX_BUILD, [], { webgpu: new WorkerTimeoutError('smoke', 1500) }));
  assert.equal(t.provider, 'cpu');
  assert.equal(t.skipped[0].reason, 'smoke run timed out after 1500 ms');

  const ok = await chooseProvider('webgpu', 1, probe('linux', LINUX_BUILD, ['webgpu']));
  assert.equal(ok.provider, 'webgpu');
  assert.deepEqual(ok.notices, []);

  const cpu = probe('linux', LINUX_BUILD, []);
  const cc = await chooseProvider('cpu', 3, cpu);
  assert.equal(cc.provider, 'cpu');
  assert.deepEqual(cpu.tried, []);
  assert.deepEqual(cc.skipped, []);
});

test('cancelling during a smoke run propagates instead of being recorded as a failure', async () => {
  await assert.rejects(chooseProvider('auto', 0, probe('linux', LINUX_BUILD, [], { webgpu: new CancelledError('smoke') })), CancelledError);
});

test('onnxruntime messages are trimmed to their readable part', () => {
  assert.equal(oneLine('/onnxruntime_src/a/b.cc:12 void f() x == y was false. Adapter missing\nmore'), 'Adapter missing');
  assert.equal(oneLine('/onnxruntime_src/a/b.cc:12 Something broke'), 'Something broke');
  assert.equal(oneLine('plain message'), 'plain message');
  assert.equal(oneLine('x'.repeat(400)).length, 300);
});

test('session options carry the provider and threads', () => {
  assert.deepEqual(sessionOptionsFor('cpu', 0), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  assert.deepEqual(sessionOptionsFor('webgpu', 4), { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, intraOpNumThreads: 4 });
});

test('provider notes: an explicit request that fell back is told once; auto lists every skipped provider', async () => {
  const explicit = await chooseProvider('cuda', 0, probe('linux', LINUX_BUILD, ['webgpu']));
  const notes = providerNotes(explicit);
  assert.equal(notes.filter((n) => n.includes('not bundled with onnxruntime-node')).length, 1);
  assert.match(notes.at(-1) ?? '', /^Execution provider "cuda" was requested but cannot run here/);
  assert.equal(describeChoice(explicit).filter((l) => l.includes('not bundled with onnxruntime-node')).length, 1);
  const auto = await chooseProvider('auto', 0, probe('linux', LINUX_BUILD, ['webgpu']));
  assert.deepEqual(
    providerNotes(auto).map((n) => n.split(':')[0]),
    ['cuda', 'dml', 'coreml'],
  );
});

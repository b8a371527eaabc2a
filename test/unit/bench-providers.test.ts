import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GemmProviderRow, type ProvidersResult, providersMarkdown } from '../../bench/providers.ts';

function gemm(provider: string, m: number, medianMs: number, extra: Partial<GemmProviderRow> = {}): GemmProviderRow {
  return { provider, m, n: m, k: 1024, medianMs, gflops: (2 * m * m * 1024) / medianMs / 1e6, errorOverBound: 0.001, fullFloat32: true, ...extra };
}

function result(gpuRows: GemmProviderRow[]): ProvidersResult {
  return {
    date: '2026-11-22',
    machine: '16 × CPU',
    gpu: 'GPU X',
    encode: [
      { tower: 'T', provider: 'cpu', openMs: 10, firstRunMs: 12, medianRunMs: 100 },
      { tower: 'T', provider: 'webgpu', openMs: 20, firstRunMs: 300, medianRunMs: 25 },
      { tower: 'T', provider: 'cuda', openMs: NaN, firstRunMs: NaN, medianRunMs: NaN, error: 'Failed to load shared library' },
    ],
    comparisons: [{ tower: 'T', provider: 'webgpu', image: 'a.png', maxRelDiff: 3e-6, same: ['gprune', 'f3a'], differ: ['tome (63 of 64 in common)'] }],
    gemm: [gemm('cpu', 576, 2), gemm('cpu', 2880, 40), ...gpuRows],
  };
}

const cells = (md: string, prefix: string): string[] => {
  const line = md.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line, `row starting ${prefix}`);
  return line.split('|').map((c) => c.trim());
};

test('providers section: speed-ups against the CPU row, failures stated, keep differences listed', () => {
  const md = providersMarkdown(result([gemm('webgpu', 576, 8), gemm('webgpu', 2880, 20)]), 'cmd');
  assert.match(md, /Command: `cmd` — 16 × CPU, GPU: GPU X, 2026-11-22\./);
  assert.equal(cells(md, '| T | webgpu | 20.0')[6], '4.00×');
  assert.match(cells(md, '| T | cuda |')[3], /^could not run: Failed to load shared library$/);
  assert.equal(cells(md, '| T | webgpu | a.png')[6], 'tome (63 of 64 in common)');
  assert.equal(cells(md, '| webgpu | 576×576×1024')[5], '0.25×');
  assert.equal(cells(md, '| webgpu | 2880×2880×1024')[5], '2.00×');
  assert.match(md, /- webgpu: faster than this machine's CPU at 2880×2880×1024; full float32 products/);
});

test('providers section: a provider slower everywhere, or outside the float32 bound, says so', () => {
  const slow = providersMarkdown(result([gemm('webgpu', 576, 8), gemm('webgpu', 2880, 50)]), 'cmd');
  assert.match(slow, /- webgpu: slower than this machine's CPU at every size, transfers included; full float32 products, every sampled error inside/);
  const tf32 = providersMarkdown(result([gemm('cuda', 576, 1, { fullFloat32: false }), gemm('cuda', 2880, 10, { errorOverBound: 40 })]), 'cmd');
  assert.match(tf32, /- cuda: faster than this machine's CPU at 576×576×1024, 2880×2880×1024; products NOT within the float32 bound/);
});

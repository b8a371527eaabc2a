import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ScalingResult, type ScalingRow, fasterFrameworks, intervalText, refSamplesOf, scalingMarkdown, speedTargetLines, targetLines } from '../../bench/scaling.ts';
import { medianInterval, pairedSpeedups } from '../../bench/stats.ts';

test('median interval: order statistics with exact binomial coverage', () => {
  // 9 values in scrambled order: the 2nd and 8th smallest, coverage 1 − 2·(1 + 9)/512.
  const nine = [9, 3, 7, 1, 5, 8, 2, 6, 4];
  assert.deepEqual(medianInterval(nine), { lo: 2, hi: 8, coverage: 1 - 20 / 512 });
  // 6 values: only the extremes reach 95 % (1 − 2/64).
  assert.deepEqual(medianInterval([6, 1, 5, 2, 4, 3]), { lo: 1, hi: 6, coverage: 1 - 2 / 64 });
  // 5 values cannot give 95 % (1 − 2/32 < 0.95).
  assert.equal(medianInterval([1, 2, 3, 4, 5]), null);
  // 20 values: P(Bin(20, ½) ≤ 5) = 21700/2²⁰ keeps 95 %; ≤ 6 would not.
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
  const ci = medianInterval(twenty);
  assert.ok(ci);
  assert.equal(ci.lo, 6);
  assert.equal(ci.hi, 15);
  assert.ok(Math.abs(ci.coverage - (1 - (2 * 21700) / 2 ** 20)) < 1e-12);
});

test('paired speed-ups need one reference sample per PruneLens sample', () => {
  assert.deepEqual(pairedSpeedups([2, 4], [6, 4]), [3, 1]);
  assert.equal(pairedSpeedups([2, 4], [6]), null);
  assert.equal(pairedSpeedups([], []), null);
});

function row(n: number, d: number, method: string, oursMs: number[], refMs: number[]): ScalingRow {
  return { n, d, method, k: Math.round(n / 9), oursMs, refMs, refNote: '', agree: 'same', f64: 'same', batch: 1 };
}

function result(rows: ScalingRow[]): ScalingResult {
  return { rows, kernels: [], big: [], peak: { numpy: '1.24.2', blas_libraries: ['blas'], '1024x1024x1024': 180, '2880x4096x2880': 200 }, loadStart: [1, 1, 1], loadEnd: [1, 1, 1], runs: 9, quick: false, seconds: 60, date: '2026-11-01' };
}

const ones = (v: number): number[] => Array.from({ length: 9 }, () => v);

test('targets: a pass whose paired interval reaches below 1× is flagged as within noise', () => {
  // Medians 2.0 vs 2.1 (1.05×); two pairs ran while the reference was fast, so the interval starts below 1×.
  const codebook = row(576, 1024, 'codebook', ones(2), [1.5, 1.6, 2.1, 2.1, 2.1, 2.1, 2.1, 2.2, 2.3]);
  const gprune = row(576, 1024, 'gprune', ones(4), [8.8, 9.2, 10, 10, 10, 10, 10.4, 11, 14]);
  const lines = targetLines(result([codebook, gprune]));
  const every = lines.find((l) => l.startsWith('576×1024: every method'));
  assert.ok(every);
  assert.match(every, /— \*\*met\*\* \(but within noise of 1×, the paired interval reaching below it: codebook 1\.05×, paired 95 % CI 0\.80–1\.10×\)$/);
  // G-Prune 2.5×, interval 2.30–2.75×: below 3× throughout, so no "cannot tell".
  assert.ok(lines.includes('G-Prune ≥ 3× at 576×1024 — **not met** (2.50×, paired 95 % CI 2.30–2.75×)'));
});

test('targets: a miss whose interval contains the target says the run cannot tell', () => {
  const codebook = row(2880, 4096, 'codebook', [40, 45, 45, 56, 56, 57, 58, 60, 62], ones(49));
  const gprune = row(2880, 4096, 'gprune', ones(400), [800, 900, 950, 990, 1000, 1010, 1050, 1100, 1300]);
  const lines = targetLines(result([codebook, gprune]));
  const every = lines.find((l) => l.startsWith('2880×4096: every method'));
  assert.ok(every);
  // Median 56 → 0.88×; paired speed-ups 49/60 and 49/45, 2nd and 8th in rank order → 0.82–1.09×.
  assert.match(every, /\*\*not met\*\* \(slower: codebook 0\.88×, paired 95 % CI 0\.82–1\.09×: it contains 1×, so this run cannot tell\)/);
  assert.ok(lines.includes('G-Prune ≥ 2.5× at 2880×4096 — **met** (2.50×, paired 95 % CI 2.25–2.75×: it contains 2.5×, so this run cannot tell)'));
});

test('scaling section: the CI column, its explanation, and the date of the measurement on a replot', () => {
  const md = scalingMarkdown(result([row(576, 1024, 'gprune', ones(4), [8.8, 9.2, 10, 10, 10, 10, 10.4, 11, 14])]), 'npm run bench -- --only=scaling --runs=9', 'bench/scaling.svg');
  assert.match(md, /\| 576 \| 1024 \| gprune \| 64 \| 1 \| 4\.00 \| 10\.0 \| 2\.50× \| 2\.30–2\.75× \| same \| same \|/);
  assert.match(md, /pairs 2 and 8 of 9 in rank order, coverage 96\.1 %/);
  assert.match(md, /node v\d+\.\d+\.\d+, 2026-11-01; 60 s\./);
  assert.match(intervalText(5), /no distribution-free 95 % interval of a median exists with 5 pairs/);
});

test('two references: the verdict takes the faster one per method, and each framework is reported alone', () => {
  // G-Prune: NumPy 10 ms, PyTorch 20 ms → against the faster (NumPy) 2.5×, against PyTorch 5×.
  const gprune = { ...row(576, 1024, 'gprune', ones(4), ones(10)), torchMs: ones(20), torchAgree: 'same' };
  // ToMe: NumPy 40 ms, PyTorch 5 ms, PruneLens 10 ms → 0.5× against the faster (PyTorch), 4× against NumPy.
  const tome = { ...row(576, 1024, 'tome', ones(10), ones(40)), torchMs: ones(5), torchAgree: 'differs (1 of 64)' };
  // F³A has no PyTorch code: every basis compares it with NumPy.
  const f3a = row(576, 1024, 'f3a', ones(50), ones(100));
  const res = { ...result([gprune, tome, f3a]), torchPeak: { torch: '1.13.0a0', threads: 2, '1024x1024x1024': 170, '2880x4096x2880': 200 } };
  assert.deepEqual(refSamplesOf(tome, 'faster'), ones(5));
  assert.deepEqual(refSamplesOf(gprune, 'faster'), ones(10));
  assert.deepEqual(refSamplesOf(f3a, 'torch'), ones(100));
  const strict = speedTargetLines(res, 'faster');
  assert.ok(strict.includes('576×1024: every method at least as fast as the reference — **not met** (slower: tome 0.50×, paired 95 % CI 0.50–0.50×)'));
  assert.ok(strict.includes('G-Prune ≥ 3× at 576×1024 — **not met** (2.50×, paired 95 % CI 2.50–2.50×)'));
  const torch = speedTargetLines(res, 'torch');
  assert.ok(torch.includes('576×1024: every method at least as fast as the reference — **not met** (slower: tome 0.50×, paired 95 % CI 0.50–0.50×)'));
  assert.ok(torch.includes('G-Prune ≥ 3× at 576×1024 — **met** (5.00×, paired 95 % CI 5.00–5.00×)'));
  const numpy = speedTargetLines(res, 'numpy');
  assert.ok(numpy.includes('576×1024: every method at least as fast as the reference — **met**'));
  assert.equal(fasterFrameworks(res), 'faster in NumPy at most sizes: gprune; in PyTorch: tome');
  const md = scalingMarkdown(res, 'npm run bench -- --only=scaling --runs=9', 'bench/scaling.svg');
  assert.match(md, /\| 576 \| 1024 \| tome \| 64 \| 1 \| 10\.0 \| 40\.0 \| 4\.00× \| 4\.00–4\.00× \| 5\.00 \| 0\.50× \| 0\.50–0\.50× \| same \/ differs \(1 of 64\) \| same \|/);
  assert.match(md, /\| 576 \| 1024 \| f3a \| 64 \| 1 \| 50\.0 \| 100 \| 2\.00× \| 2\.00–2\.00× \| NumPy only \| — \| — \| same \/ — \| same \|/);
  assert.match(md, /Speed targets against PyTorch alone/);
  assert.match(md, /PyTorch 1\.13\.0a0 \(Debian's python3-torch, CPU, 2 threads/);
});

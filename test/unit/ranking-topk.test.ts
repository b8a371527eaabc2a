// topKSplit (sampled threshold, float32 key path, fallbacks) against the full comparator ranking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankDescending, sortedAscending, topK, topKSplit } from '../../extension/core/numeric/ranking.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

function check(scores: ArrayLike<number>, k: number, where: string): void {
  const want = rankDescending(scores).slice(0, Math.max(0, Math.min(k, scores.length)));
  const got = topKSplit(scores, k);
  assert.deepEqual(got.order, want, `${where}: order`);
  assert.deepEqual(got.ascending, sortedAscending(want), `${where}: ascending`);
  assert.deepEqual(topK(scores, k), want, `${where}: topK`);
}

/** Scores with ties, ±0, ±∞, negatives, tiny values and (when asked) NaN, as number[], Float64Array and Float32Array. */
function variants(values: number[]): [string, ArrayLike<number>][] {
  return [
    ['Array', values],
    ['Float64Array', Float64Array.from(values)],
    ['Float32Array', Float32Array.from(values)],
  ];
}

test('topKSplit equals the (score desc, index asc) ranking prefix on every array type: ties, ±0, ±∞, NaN, subnormals', () => {
  const rand = mulberry32(17);
  for (let trial = 0; trial < 120; trial++) {
    const n = 64 + Math.floor(rand() * (trial % 4 === 0 ? 4000 : 700));
    const levels = 1 + Math.floor(rand() * 40);
    const values = Array.from({ length: n }, () => {
      const u = rand();
      if (u < 0.02) return -Infinity;
      if (u < 0.03) return Infinity;
      if (u < 0.05) return trial % 5 === 0 ? NaN : 0;
      if (u < 0.07) return -0;
      if (u < 0.08) return 1e-40 * (rand() - 0.5); // float32 subnormals
      if (trial % 3 === 0) return rand() - 0.5; // mostly distinct
      return (Math.floor(rand() * levels) - levels / 2) / levels;
    });
    for (const [kind, scores] of variants(values)) {
      for (const k of [1, 2, Math.floor(n / 9), Math.floor(n / 2), n - 1, n, n + 3]) check(scores, k, `trial ${trial} ${kind} n ${n} k ${k}`);
    }
  }
});

test('topKSplit stays exact when the sampled threshold misses: strided peaks, one huge tie, sorted input', () => {
  const n = 3000;
  // Peaks away from every sampled position (stride n/128 = 23): the sample sees only the floor, so the
  // guessed threshold admits far more than 2k candidates.
  const peaks = Array.from({ length: n }, (_, i) => (i % 23 === 11 ? 1 + (i % 7) : 0.001 * (i % 5)));
  // Many more values tied at the threshold than the budget: the candidate set is too large.
  const tied = Array.from({ length: n }, (_, i) => (i % 97 === 0 ? 2 : 1));
  // Only the sampled positions are high: the guessed threshold admits fewer than k candidates.
  const sampledHigh = Array.from({ length: n }, (_, i) => (i % 23 === 0 ? 1 : (i % 13) / 100));
  const rising = Array.from({ length: n }, (_, i) => i / n);
  const falling = rising.slice().reverse();
  for (const [name, values] of [
    ['peaks', peaks],
    ['tied', tied],
    ['sampled high', sampledHigh],
    ['rising', rising],
    ['falling', falling],
  ] as const) {
    for (const [kind, scores] of variants(values)) for (const k of [1, 50, 130, 333, 1500]) check(scores, k, `${name} ${kind} k ${k}`);
  }
});

test('topKSplit on a float32 view at an offset (a row of a larger matrix) and k = 0', () => {
  const rand = mulberry32(3);
  const m = Float32Array.from({ length: 5 * 700 }, () => Math.floor(rand() * 50) / 50);
  const row = m.subarray(3 * 700, 4 * 700);
  check(row, 77, 'row view');
  assert.deepEqual(topKSplit(row, 0), { order: [], ascending: [] });
});

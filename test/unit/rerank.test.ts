import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readBundle } from '../../extension/core/bundle/io.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { rankDescending } from '../../extension/core/numeric/ranking.ts';
import { mulberry32 } from '../../models/onnx/builder.ts';
import { ranksFromOrder } from '../../extension/shared/ranking.ts';
import { pyRound } from '../../extension/shared/rounding.ts';
import { codebookMask, countKept, finiteRange, isTopKOf, jaccard, keepCounts, keepFromMask, maskFromKeep, maskFromOrder, rankOrder } from '../../webview/rerank.ts';
import { ORACLE_DIR } from '../helpers/paths.ts';

function scoresWithTies(n: number, seed: number): number[] {
  const r = mulberry32(seed);
  // Coarse values force many exact ties; a few NaNs exercise the "NaN last" rule.
  return Array.from({ length: n }, () => (r() < 0.03 ? Number.NaN : Math.round(r() * 20) / 4));
}

describe('webview re-ranking', () => {
  test('rankOrder is the project-wide (score desc, index asc, NaN last) order', () => {
    for (const seed of [1, 2, 3]) {
      const s = scoresWithTies(577, seed);
      assert.deepEqual(Array.from(rankOrder(s)), rankDescending(s));
    }
  });

  test('a budget is a prefix of the order: k kept, exactly the top-k, buffer reused', () => {
    const s = scoresWithTies(200, 9);
    const order = rankOrder(s);
    const rank = ranksFromOrder(order);
    const buf = new Uint8Array(200);
    for (const k of [0, 1, 37, 199, 200, 250, -4]) {
      const m = maskFromOrder(order, k, buf);
      assert.equal(m, buf);
      const kk = Math.max(0, Math.min(200, k));
      assert.equal(countKept(m), kk);
      for (let i = 0; i < 200; i++) assert.equal(m[i] === 1, rank[i] < kk);
      assert.deepEqual(keepFromMask(m), rankDescending(s).slice(0, kk).sort((a, b) => a - b));
    }
  });

  test('isTopKOf tells a global top-k from a per-group selection', () => {
    const s = [5, 4, 3, 2, 1, 0, 9, 8];
    assert.equal(isTopKOf(s, [0, 1, 6, 7]), true);
    // Top-2 of each half (a per-group budget) is not the global top-4.
    assert.equal(isTopKOf(s, [0, 1, 6, 7].slice(0, 2).concat([4, 5])), false);
    assert.equal(isTopKOf(s, []), true);
  });

  test('jaccard, keepCounts and finiteRange', () => {
    const a = maskFromKeep([0, 1, 2, 3], 8);
    const b = maskFromKeep([2, 3, 4], 8);
    assert.equal(jaccard(a, b), 2 / 5);
    assert.equal(jaccard(a, a), 1);
    assert.equal(jaccard(new Uint8Array(3), new Uint8Array(3)), 1);
    assert.deepEqual(Array.from(keepCounts([a, b], 8)), [1, 1, 2, 2, 1, 0, 0, 0]);
    assert.deepEqual(finiteRange([Number.NaN, 3, -1, Number.POSITIVE_INFINITY]), { min: -1, max: 3 });
    assert.deepEqual(finiteRange([]), { min: 0, max: 0 });
    assert.deepEqual(Array.from(maskFromKeep([-1, 2, 9, 1.5], 4)), [0, 0, 1, 0]);
  });

  test('pyRound is half-to-even', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 2.4, 2.6, 144.5, 143.5].map(pyRound), [0, 2, 2, 2, 3, 144, 144]);
  });

  test('the live τ rule reproduces the codebook method in every mode (oracle bundle)', () => {
    const bundle = readBundle(join(ORACLE_DIR, 'oracle_f05_24x24x64.npz'));
    const cases: [string, number][] = [
      ['A', 0.62],
      ['A', 0.8],
      ['B', 0.25],
      ['B', 0.5],
      ['C', 0.3],
      ['D', 0.7],
      ['D', 1],
    ];
    for (const [mode, tau] of cases) {
      const r = prune(bundle, 'codebook', { mode, tau });
      const rr = r.output.r as number[];
      const mask = codebookMask(rr, mode, tau);
      assert.deepEqual(keepFromMask(mask), r.keep, `mode ${mode} τ=${tau}`);
    }
  });
});

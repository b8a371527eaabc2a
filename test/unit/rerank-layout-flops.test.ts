import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flopsSaved, layerFlops, LLMS } from '../../webview/flops.ts';
import { isNewline, layoutFor, moveCursor, tokenAt } from '../../webview/layout.ts';

describe('token layout', () => {
  test('a single grid is row-major: index = r·w + c', () => {
    const L = layoutFor([3, 5], 15);
    assert.equal(L.panels.length, 1);
    assert.equal(L.note, null);
    for (let i = 0; i < 15; i++) {
      assert.equal(L.row[i], Math.floor(i / 5));
      assert.equal(L.col[i], i % 5);
      assert.equal(tokenAt(L, 0, L.row[i], L.col[i]), i);
    }
    assert.equal(tokenAt(L, 0, 3, 0), null);
    assert.equal(moveCursor(L, 0, -1, -1), 0, 'clamped at the corner');
    assert.equal(moveCursor(L, 7, 1, 1), 13);
  });

  test('LLaVA-NeXT: base grid + high-res rows with a newline column (given or inferred)', () => {
    const n = 576 + 12 * 19;
    for (const hires of [[12, 18] as [number, number], null]) {
      const L = layoutFor([24, 24], n, hires);
      assert.equal(L.panels.length, 2);
      const p = L.panels[1];
      assert.deepEqual([p.start, p.rows, p.cols, p.newline], [576, 12, 18, true]);
      assert.equal(isNewline(L, 576 + 18), true);
      assert.equal(isNewline(L, 576 + 19), false);
      assert.equal(L.row[576 + 19], 1);
      assert.equal(L.note === null, hires !== null, 'a guessed layout is announced');
    }
    const sq = layoutFor([24, 24], 2880);
    assert.deepEqual([sq.panels[1].rows, sq.panels[1].cols, sq.panels[1].newline], [48, 48, false]);
  });

  test('no grid (or a grid that does not fit) falls back to sequence order with a note', () => {
    for (const g of [null, [30, 30] as [number, number]]) {
      const L = layoutFor(g, 10);
      assert.equal(L.panels.length, 1);
      assert.equal(L.panels[0].cols * L.panels[0].rows >= 10, true);
      assert.ok(L.note);
    }
  });
});

describe('FLOPs estimate (ALGORITHMS.md §7)', () => {
  const llava = LLMS[0];
  test('per-layer count is 4nd² + 2n²d + 3ndm', () => {
    assert.equal(layerFlops(10, { id: 'x', label: 'x', d: 2, m: 3, layers: 1 }), 4 * 10 * 4 + 2 * 100 * 2 + 3 * 10 * 2 * 3);
  });
  test('input-level pruning: saved = 1 − F(t+k)/F(t+N); nothing pruned → 0', () => {
    const f = flopsSaved(576, 144, 40, llava);
    assert.ok(Math.abs(f.saved - (1 - layerFlops(184, llava) / layerFlops(616, llava))) < 1e-12);
    assert.equal(flopsSaved(576, 576, 40, llava).saved, 0);
  });
  test('FastV pruning at layer K keeps the first K layers full', () => {
    const K = 2;
    const f = flopsSaved(576, 288, 40, llava, K);
    const expect = 1 - (K * layerFlops(616, llava) + (32 - K) * layerFlops(328, llava)) / (32 * layerFlops(616, llava));
    assert.ok(Math.abs(f.saved - expect) < 1e-12);
    assert.equal(flopsSaved(576, 10, 40, llava, 32).saved, 0);
    // Llama-3-8B's wider FFN (m = 14336) makes the linear terms weigh more: a different, smaller saving.
    const llama = LLMS[1];
    assert.equal(llama.m, 14336);
    const g = flopsSaved(576, 144, 0, llama).saved;
    assert.ok(Math.abs(g - (1 - layerFlops(144, llama) / layerFlops(576, llama))) < 1e-12);
    assert.ok(g < flopsSaved(576, 144, 0, llava).saved);
  });
});

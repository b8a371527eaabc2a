import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankHeat, renderOverlay, type RgbImage } from '../../extension/core/analyze/overlay.ts';

function solid(width: number, height: number, v: number): RgbImage {
  return { width, height, rgb: new Uint8Array(width * height * 3).fill(v) };
}

const px = (img: RgbImage, x: number, y: number): number[] => Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

test('rankHeat: scores → rank in [0,1], ties share their mean rank, non-finite → 0', () => {
  assert.deepEqual(Array.from(rankHeat([3, 1, 2])), [1, 0, 0.5]);
  assert.deepEqual(Array.from(rankHeat([5, 5, 1])), [0.75, 0.75, 0]);
  // A heavy-tailed score (softmax-like) still spreads over the colormap.
  assert.deepEqual(Array.from(rankHeat([1e-9, 2e-9, 0.999])), [0, 0.5, 1]);
  assert.deepEqual(Array.from(rankHeat([null, 2, Number.NaN, 4])), [0, 0, 0, 1]);
});

test('renderOverlay: kept tokens outlined, dropped ones dimmed, heat in viridis', () => {
  // 2×2 tokens on a 20×20 grey image; keep token 0 (top-left).
  const base = solid(20, 20, 200);
  const plain = renderOverlay(base, { grid: [2, 2], keep: [0], scores: null });
  assert.deepEqual(px(plain, 0, 0), [255, 255, 255], 'outline on the image border of a kept cell');
  assert.deepEqual(px(plain, 9, 5), [255, 255, 255], 'outline where the kept cell meets a dropped one');
  assert.deepEqual(px(plain, 5, 5), [200, 200, 200], 'inside a kept cell: the image itself');
  const dim = px(plain, 15, 15);
  assert.ok(dim[0] < 120 && dim[0] > 40, `dropped cell is dimmed, got ${dim}`);
  assert.equal(base.rgb[0], 200, 'the base image is not modified');

  // Scores: highest on token 3 → yellow end of viridis; lowest on token 0 → purple end.
  const heat = renderOverlay(base, { grid: [2, 2], keep: [0, 1, 2, 3], scores: [0, 1, 2, 3] });
  const hi = px(heat, 15, 15);
  const lo = px(heat, 5, 5);
  assert.ok(hi[0] > lo[0] && hi[1] > lo[1] && lo[2] > lo[1], `viridis: high ${hi} vs low ${lo}`);
});

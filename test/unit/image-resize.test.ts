// Pillow-style resampling: golden values produced by Pillow 9.4 (`Image.resize`, uint8 RGB), plus
// properties that any antialiased, normalised, two-pass uint8 resampler must have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeCoefficients, resizeRgb8, type ResampleCode } from '../../extension/core/runtime/image/resize.ts';

/** A 8×1 RGB row: R = ramp, G = R reversed, B = 77. */
function row8(): Uint8Array {
  const r = [0, 40, 200, 255, 10, 90, 250, 30];
  const out = new Uint8Array(24);
  r.forEach((v, i) => {
    out[i * 3] = v;
    out[i * 3 + 1] = r[7 - i];
    out[i * 3 + 2] = 77;
  });
  return out;
}

test('matches Pillow golden rows for bicubic, bilinear and lanczos, down and up', () => {
  const cases: [number, ResampleCode, number[][]][] = [
    [3, 3, [[82, 123, 77], [144, 144, 77], [123, 82, 77]]],
    [5, 3, [[8, 124, 77], [180, 116, 77], [132, 132, 77], [116, 180, 77], [124, 8, 77]]],
    [13, 3, [[0, 14, 77], [7, 121, 77], [44, 251, 77], [148, 154, 77], [230, 54, 77], [255, 4, 77], [131, 131, 77], [4, 255, 77], [54, 230, 77], [154, 148, 77], [251, 44, 77], [121, 7, 77], [14, 0, 77]]],
    [3, 2, [[83, 129, 77], [137, 137, 77], [129, 83, 77]]],
    [5, 1, [[0, 133, 77], [193, 112, 77], [128, 128, 77], [112, 193, 77], [133, 0, 77]]],
  ];
  for (const [w, code, expected] of cases) {
    const got = resizeRgb8(row8(), 8, 1, w, 1, code);
    assert.deepEqual([...got], expected.flat(), `width ${w}, resample ${code}`);
  }
  // The same row as a column goes through the vertical pass only.
  assert.deepEqual([...resizeRgb8(row8(), 1, 8, 1, 3, 3)], [82, 123, 77, 144, 144, 77, 123, 82, 77]);
});

test('2-D bicubic 7×5 → 3×4 equals Pillow (horizontal pass rounded to uint8, then vertical)', () => {
  const src = Uint8Array.from([248, 194, 190, 207, 147, 26, 237, 21, 245, 211, 239, 45, 5, 157, 159, 60, 54, 236, 109, 46, 199, 82, 32, 205, 36, 7, 134, 222, 57, 146, 8, 149, 14, 15, 22, 10, 144, 208, 24, 24, 7, 41, 11, 85, 59, 104, 225, 110, 226, 201, 8, 159, 26, 27, 163, 122, 33, 41, 201, 67, 70, 166, 228, 40, 50, 179, 0, 177, 137, 63, 13, 188, 255, 64, 94, 8, 8, 156, 25, 29, 157, 146, 190, 115, 219, 135, 39, 100, 237, 127, 72, 227, 168, 21, 73, 132, 16, 153, 140, 107, 80, 163, 61, 110, 47]);
  const expected = [209, 109, 142, 135, 139, 116, 62, 74, 166, 93, 82, 126, 115, 103, 29, 70, 131, 55, 49, 132, 124, 153, 62, 92, 69, 123, 140, 117, 176, 117, 48, 118, 155, 70, 95, 120];
  assert.deepEqual([...resizeRgb8(src, 7, 5, 3, 4, 3)], expected);
});

test('downscaling widens the kernel by the scale factor and weights sum to one (22-bit fixed point)', () => {
  const c = computeCoefficients(1000, 224, 3);
  assert.equal(c.ksize, Math.ceil(2 * (1000 / 224)) * 2 + 1);
  for (let xx = 0; xx < 224; xx++) {
    let sum = 0;
    for (let k = 0; k < c.count[xx]; k++) sum += c.weights[xx * c.ksize + k];
    assert.ok(Math.abs(sum - (1 << 22)) <= c.count[xx], `pixel ${xx}: weight sum ${sum}`);
    assert.ok(c.start[xx] >= 0 && c.start[xx] + c.count[xx] <= 1000);
  }
  // Upscaling keeps the filter's own support (bicubic: 2 → 5 taps).
  assert.equal(computeCoefficients(100, 300, 3).ksize, 5);
});

test('antialiasing: a 1-pixel checkerboard shrunk 4× becomes flat grey, not aliased stripes', () => {
  const w = 64;
  const src = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) src.fill((x + y) % 2 ? 255 : 0, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const out = resizeRgb8(src, w, w, 16, 16, 3);
  // Border pixels see a truncated kernel; the interior must be within a few levels of 127.5.
  for (let y = 2; y < 14; y++) for (let x = 2; x < 14; x++) assert.ok(Math.abs(out[(y * 16 + x) * 3] - 127.5) < 3, `(${x},${y}) = ${out[(y * 16 + x) * 3]}`);
});

test('constant images stay constant under every filter; same size is an untouched copy', () => {
  const src = new Uint8Array(30 * 20 * 3).fill(201);
  for (const code of [1, 2, 3, 4, 5] as ResampleCode[]) {
    for (const [w, h] of [[7, 5], [45, 31], [30, 9]]) assert.ok(resizeRgb8(src, 30, 20, w, h, code).every((v) => v === 201), `filter ${code} ${w}x${h}`);
  }
  const img = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
  const same = resizeRgb8(img, 4, 3, 4, 3, 3);
  assert.deepEqual([...same], [...img]);
  assert.notEqual(same, img);
});

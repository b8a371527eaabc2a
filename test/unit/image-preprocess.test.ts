// preprocessor_config.json parsing and the CLIPImageProcessor steps after decoding: output size rule,
// centre crop (with transformers' zero padding), rescale and normalise in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InputError } from '../../extension/core/errors.ts';
import { centerCropRgb, loadPreprocessorConfig, parsePreprocessorConfig, preprocess, resizeOutputSize } from '../../extension/core/runtime/image/index.ts';
import { SHARED } from '../helpers/paths.ts';

const CLIP_FOLDER = join(SHARED, 'models', 'clip-vit-base-patch32');

test('loads the real CLIP-B/32 preprocessor_config.json', () => {
  const c = loadPreprocessorConfig(CLIP_FOLDER);
  assert.deepEqual(c.size, { kind: 'shortest_edge', shortestEdge: 224 });
  assert.deepEqual(c.cropSize, { height: 224, width: 224 });
  assert.equal(c.resample, 3);
  assert.equal(c.rescaleFactor, 0.00392156862745098);
  assert.deepEqual(c.imageMean, [0.48145466, 0.4578275, 0.40821073]);
  assert.deepEqual(c.imageStd, [0.26862954, 0.26130258, 0.27577711]);
  assert.ok(c.doResize && c.doCenterCrop && c.doRescale && c.doNormalize);
});

test('size/crop_size conventions: int size = shortest edge, int crop = square, dicts and lists as given', () => {
  const a = parsePreprocessorConfig({ size: 336, crop_size: 336 });
  assert.deepEqual(a.size, { kind: 'shortest_edge', shortestEdge: 336 });
  assert.deepEqual(a.cropSize, { height: 336, width: 336 });
  const b = parsePreprocessorConfig({ size: { height: 200, width: 300 }, crop_size: [100, 150], resample: 2 });
  assert.deepEqual(b.size, { kind: 'exact', height: 200, width: 300 });
  assert.deepEqual(b.cropSize, { height: 100, width: 150 });
  assert.equal(b.resample, 2);
  // CLIPImageProcessor defaults when keys are absent.
  const d = parsePreprocessorConfig({});
  assert.deepEqual(d.size, { kind: 'shortest_edge', shortestEdge: 224 });
  assert.equal(d.resample, 3);
  assert.ok(d.doCenterCrop);
  // SigLIP processors resize to a square and never crop.
  const s = parsePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', size: { height: 384, width: 384 } });
  assert.equal(s.doCenterCrop, false);
  assert.deepEqual(s.imageMean, [0.5, 0.5, 0.5]);
  assert.equal(s.resample, 2);
});

test('bad configs give one-sentence InputErrors', () => {
  for (const bad of [{ size: -3 }, { size: { longest_edge: 5 } }, { resample: 0 }, { resample: 9 }, { image_std: [1, 0, 1] }, { do_resize: 'yes' }, { image_mean: [1, 2] }, []]) {
    assert.throws(() => parsePreprocessorConfig(bad, 'cfg.json'), (e: unknown) => e instanceof InputError && e.message.startsWith('cfg.json'), JSON.stringify(bad));
  }
  assert.throws(() => loadPreprocessorConfig(join(SHARED, 'no-such-folder')), /No preprocessor_config\.json/);
});

test('resize output size follows transformers: short side = target, long side truncated', () => {
  const c = parsePreprocessorConfig({});
  assert.deepEqual(resizeOutputSize(451, 300, c), { height: 224, width: 336 }); // 224·451/300 = 336.75
  assert.deepEqual(resizeOutputSize(300, 451, c), { height: 336, width: 224 });
  assert.deepEqual(resizeOutputSize(1000, 667, c), { height: 224, width: 335 }); // 335.83 → 335
  assert.deepEqual(resizeOutputSize(512, 512, c), { height: 224, width: 224 });
  assert.deepEqual(resizeOutputSize(14, 25, c), { height: 400, width: 224 });
  assert.deepEqual(resizeOutputSize(451, 300, parsePreprocessorConfig({ size: { height: 10, width: 20 } })), { height: 10, width: 20 });
});

/** An RGB image whose pixel (x, y) holds (x, y, 7). */
function coords(w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set([x, y, 7], (y * w + x) * 3);
  return out;
}

test('centre crop uses floor((orig − crop) / 2) offsets', () => {
  const out = centerCropRgb(coords(9, 6), 9, 6, 3, 4);
  // top = (6 − 3) // 2 = 1, left = (9 − 4) // 2 = 2
  assert.deepEqual([...out.subarray(0, 3)], [2, 1, 7]);
  assert.deepEqual([...out.subarray(out.length - 3)], [5, 3, 7]);
});

test('centre crop larger than the image zero-pads with the image at ceil(pad / 2)', () => {
  // 3×2 image into a 6×5 crop: left pad ceil(3/2) = 2, top pad ceil(3/2) = 2.
  const out = centerCropRgb(coords(3, 2), 3, 2, 5, 6);
  const at = (x: number, y: number) => [...out.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3)];
  assert.deepEqual(at(2, 2), [0, 0, 7]);
  assert.deepEqual(at(4, 3), [2, 1, 7]);
  for (const [x, y] of [[0, 0], [1, 2], [5, 2], [2, 4], [2, 1]]) assert.deepEqual(at(x, y), [0, 0, 0], `(${x},${y}) is padding`);
  // Mixed: taller than the crop but narrower — crop rows, pad columns.
  const mixed = centerCropRgb(coords(2, 8), 2, 8, 4, 5);
  const m = (x: number, y: number) => [...mixed.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3)];
  assert.deepEqual(m(2, 0), [0, 2, 7]); // top = (8 − 4) // 2 = 2; left pad = ceil(3 / 2) = 2
  assert.deepEqual(m(3, 3), [1, 5, 7]);
  assert.deepEqual(m(4, 0), [0, 0, 0]);
});

test('rescale and normalise in float32, channels first, padding = −mean/std', () => {
  const c = loadPreprocessorConfig(CLIP_FOLDER);
  const rgb = new Uint8Array(300 * 200 * 3);
  for (let i = 0; i < 300 * 200; i++) rgb.set([255, 128, 0], i * 3);
  const px = preprocess({ width: 300, height: 200, rgb, format: 'raw' }, c);
  assert.deepEqual(px.shape, [1, 3, 224, 224]);
  const f = Math.fround;
  const expect = [255, 128, 0].map((v, ch) => f(f(f(v * c.rescaleFactor) - f(c.imageMean[ch])) / f(c.imageStd[ch])));
  for (let ch = 0; ch < 3; ch++) {
    const plane = px.data.subarray(ch * 224 * 224, (ch + 1) * 224 * 224);
    assert.ok(plane.every((v) => v === expect[ch]), `channel ${ch}`);
  }
  assert.ok(Math.abs(expect[0] - (1 - 0.48145466) / 0.26862954) < 1e-6);
  // A crop wider than the resized image (224×224 → crop 224×320) pads with zeros before normalising.
  const wide = preprocess({ width: 300, height: 300, rgb: new Uint8Array(300 * 300 * 3).fill(255), format: 'raw' }, { ...c, cropSize: { height: 224, width: 320 } });
  assert.deepEqual(wide.shape, [1, 3, 224, 320]);
  const pad = f(f(0 - f(c.imageMean[0])) / f(c.imageStd[0]));
  assert.equal(wide.data[0], pad); // column 0 is padding (48 columns each side)
  assert.equal(wide.data[48], f(f(1 - f(c.imageMean[0])) / f(c.imageStd[0])));
  // Everything off: raw 0–255 values come through unchanged.
  const raw = preprocess({ width: 2, height: 1, rgb: Uint8Array.from([1, 2, 3, 4, 5, 6]), format: 'raw' }, { ...c, doResize: false, doCenterCrop: false, doRescale: false, doNormalize: false });
  assert.deepEqual([...raw.data], [1, 4, 2, 5, 3, 6]);
});

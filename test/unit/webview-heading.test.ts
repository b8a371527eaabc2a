import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Analysis } from '../../extension/protocol.ts';
import { panelHeading } from '../../webview/heading.ts';

const analysis = (image: Analysis['image'], provenance?: { [key: string]: string }): Analysis => ({
  version: 1,
  image,
  question: '',
  model: { id: 'm', name: 'm', description: '', weightsKind: 'probe', provider: 'cpu', providerNotes: [], ...(provenance ? { provenance } : {}) },
  grid: [2, 2],
  n: 4,
  budget: 2,
  timings_ms: {},
  results: [],
});

test('an image analysis is headed by the image file', () => {
  assert.deepEqual(panelHeading(analysis({ path: '/photos/cat.png', width: 4, height: 4 }, { source: '/photos/cat.png' })), { name: 'cat.png', note: null });
  assert.deepEqual(panelHeading(analysis({ path: 'C:\\photos\\dog.jpg', width: 4, height: 4 })), { name: 'dog.jpg', note: null });
});

test('a bundle analysis is headed by the bundle file, even when its meta.source names the encoded image', () => {
  assert.deepEqual(panelHeading(analysis(null, { source: '/photos/cat.png', bundle_path: '/dumps/llava_layer23.npz' })), { name: 'llava_layer23.npz', note: 'token bundle, no image' });
});

test('older bundle analyses fall back to a bundle-like meta.source, else say only that there is no image', () => {
  assert.deepEqual(panelHeading(analysis(null, { source: 'oracle_f01_4x4x8.npz' })), { name: 'oracle_f01_4x4x8.npz', note: 'token bundle, no image' });
  assert.deepEqual(panelHeading(analysis(null, { source: '/photos/cat.png' })), { name: 'token bundle', note: 'no image' });
  assert.deepEqual(panelHeading(analysis(null)), { name: 'token bundle', note: 'no image' });
});

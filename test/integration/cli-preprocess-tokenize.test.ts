// `prunelens preprocess` and `prunelens tokenize` through the built CLI (dist/cli.cjs) as a user runs them,
// on model folders that hold only configs and tokenizer files (no weights).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNpy } from '../../extension/core/bundle/npy.ts';
import { decodeImage, loadPreprocessorConfig, preprocess } from '../../extension/core/runtime/image/index.ts';
import { PHOTOS_DIR, REPO, SHARED } from '../helpers/paths.ts';

const CLI = join(REPO, 'dist', 'cli.cjs');
const CLIP = join(SHARED, 'models', 'clip-vit-base-patch32');
const EDGE = join(SHARED, 'images', 'edge');
let work = '';

before(() => {
  execFileSync('node', ['esbuild.mjs'], { cwd: REPO, stdio: 'inherit' });
  work = mkdtempSync(join(tmpdir(), 'prunelens-cli-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
}

test('preprocess writes the exact tensor the in-process pipeline makes', async () => {
  const out = join(work, 'pixels.npy');
  const photo = join(PHOTOS_DIR, 'llava_extreme_ironing.jpg');
  const r = cli('preprocess', photo, '--model', CLIP, '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { decoded: number[]; resized: number[]; shape: number[]; format: string };
  assert.deepEqual(summary.decoded, [380, 570]);
  assert.deepEqual(summary.resized, [224, 336]);
  assert.deepEqual(summary.shape, [1, 3, 224, 224]);
  const written = parseNpy(readFileSync(out), out);
  assert.equal(written.dtype, 'float32');
  assert.deepEqual(written.shape, [1, 3, 224, 224]);
  const expected = preprocess(await decodeImage(photo), loadPreprocessorConfig(CLIP));
  assert.deepEqual(written.data, expected.data);
});

test('preprocess needs only preprocessor_config.json in the folder', () => {
  const folder = mkdtempSync(join(work, 'cfg-only-'));
  copyFileSync(join(CLIP, 'preprocessor_config.json'), join(folder, 'preprocessor_config.json'));
  const out = join(work, 'coins.npy');
  const r = cli('preprocess', join(PHOTOS_DIR, 'coins.png'), '--model', folder, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /coins\.png \(png, 384×303\) → resize 283×224 → float32 \[1, 3, 224, 224\]/);
  assert.deepEqual(parseNpy(readFileSync(out), out).shape, [1, 3, 224, 224]);
});

test('preprocess refuses bad images with exit 2 and one clear line', () => {
  const cases: [string, string[], RegExp][] = [
    [join(EDGE, 'truncated.jpg'), [], /^prunelens: truncated\.jpg is truncated or corrupt/],
    // config.json says patch_size 32: a 14×25 GIF is smaller than one patch.
    [join(EDGE, 'no_time_for_that_tiny.gif'), [], /smaller than one 32-pixel patch/],
    [join(PHOTOS_DIR, 'astronaut.png'), ['--max-megapixels', '0.1'], /above the 0\.1-megapixel limit/],
  ];
  for (const [image, extra, pattern] of cases) {
    const r = cli('preprocess', image, '--model', CLIP, '--out', join(work, 'x.npy'), ...extra);
    assert.equal(r.status, 2, `${image}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(cli('preprocess', join(PHOTOS_DIR, 'astronaut.png'), '--out', join(work, 'x.npy')).status, 2);
});

test('tokenize prints the ids fed to the text tower (tokenizer files only)', () => {
  const folder = mkdtempSync(join(work, 'tok-only-'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(CLIP, f), join(folder, f));
  const r = cli('tokenize', '--model', folder, 'What is the man ironing on the back of the taxi?', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { ids: number[]; truncated: boolean; contextLength: number };
  assert.deepEqual(j.ids, [49406, 768, 533, 518, 786, 46655, 525, 518, 893, 539, 518, 11380, 286, 49407]);
  assert.equal(j.truncated, false);
  assert.equal(j.contextLength, 77);
  const text = cli('tokenize', '--model', CLIP, 'Hello world');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^ids \(4\): \[49406,3306,1002,49407\]/);
});

test('tokenize: truncation notice, empty question, missing --model', () => {
  const long = cli('tokenize', '--model', CLIP, Array.from({ length: 90 }, () => 'dog').join(' '), '--json');
  const j = JSON.parse(long.stdout) as { ids: number[]; truncated: boolean; notice: string };
  assert.equal(j.ids.length, 77);
  assert.equal(j.ids[76], 49407);
  assert.equal(j.truncated, true);
  const text = cli('tokenize', '--model', CLIP, Array.from({ length: 90 }, () => 'dog').join(' '));
  assert.match(text.stdout, /note: Question truncated to the model's 77-token context/);
  const empty = cli('tokenize', '--model', CLIP, '  ');
  assert.equal(empty.status, 0);
  assert.match(empty.stdout, /^note: No question given: question-agnostic analysis/);
  const bad = cli('tokenize', 'hi');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /needs --model/);
});

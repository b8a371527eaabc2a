import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelFolder } from '../../models/testgen/folder.ts';
import { readBundle } from '../../extension/core/bundle/io.ts';
import type { Tensor } from '../../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { PHOTOS_DIR, REPO, SHARED } from '../helpers/paths.ts';

// `prunelens encode` through the built CLI (dist/cli.cjs, made by `npm run build`) on every example
// photo with a generated CLIP test model (224 px, patch 32 → 7×7 grid), then `prunelens prune` on the bundles.

const CLI = join(REPO, 'dist', 'cli.cjs');
const TEMPLATE = join(SHARED, 'models', 'clip-vit-base-patch32');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function shapeOf(b: TokenBundle, name: string): number[] | undefined {
  const t = b.arrays.get(name);
  return t ? [...t.shape] : undefined;
}

function allFinite(t: Tensor): boolean {
  return Array.from(t.data).every((x) => Number.isFinite(x));
}

test('encode works on every example photo with a generated test model, and the bundles feed prune', () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-encode-'));
  try {
    const model = writeTestModelFolder(join(dir, 'clip-test'), { template: TEMPLATE, vision: { imageSize: 224, patchSize: 32 } });
    const v = model.vision;
    const n = (v.imageSize / v.patchSize) ** 2;
    const photos = readdirSync(PHOTOS_DIR).filter((f) => /\.(png|jpe?g|gif|webp|bmp)$/i.test(f)).sort();
    assert.ok(photos.length >= 5, 'expected the example photos');
    const bundles: string[] = [];
    photos.forEach((photo, i) => {
      const out = join(dir, `${i}.npz`);
      // Every other photo with a question, so both paths (with and without text) run.
      const question = i % 2 === 0 ? ['--question', 'What is in the middle of the picture?'] : [];
      const r = cli(['encode', join(PHOTOS_DIR, photo), '--model', model.dir, '--out', out, '--threads', '1', ...question, '--json']);
      assert.equal(r.status, 0, `encode ${photo}: ${r.stderr}`);
      const b = readBundle(out);
      assert.deepEqual(shapeOf(b, 'features'), [n, v.width], photo);
      assert.deepEqual(Array.from(b.arrays.get('grid')?.data ?? []), [7, 7]);
      assert.deepEqual(shapeOf(b, 'cls_attn'), [v.heads, n]);
      assert.deepEqual(shapeOf(b, 'cls_attn_last'), [v.heads, n]);
      assert.deepEqual(shapeOf(b, 'keys'), [n, v.width / v.heads]);
      assert.deepEqual(shapeOf(b, 'image_joint'), [n, v.projection]);
      assert.deepEqual(shapeOf(b, 'pm_cls_attn'), [n]);
      assert.deepEqual(shapeOf(b, 'pm_keys'), [n, v.width]);
      assert.deepEqual(shapeOf(b, 'text'), question.length > 0 ? [1, v.projection] : undefined);
      for (const [name, t] of b.arrays) assert.ok(allFinite(t), `${photo}: ${name} has non-finite values`);
      // Attention rows are probabilities over [CLS] + patches: the patch part is in (0, 1).
      const cls = b.arrays.get('cls_attn')?.data ?? new Float32Array();
      for (let h = 0; h < v.heads; h++) {
        const s = Array.from(cls.subarray(h * n, (h + 1) * n)).reduce((a, x) => a + x, 0);
        assert.ok(s > 0 && s < 1, `head ${h} patch attention sums to ${s}`);
      }
      assert.equal(b.meta.weightsKind, 'random-test');
      assert.equal(b.meta.extra.weights, 'random test weights');
      assert.equal(b.meta.layer, -2);
      assert.match(b.meta.extra.cls_attn_layer, /encoder layer 1 of 0\.\.2/);
      for (const stage of ['decode', 'preprocess', 'session_run', 'surgery_outputs']) {
        assert.ok(Number(b.meta.extra[`time_${stage}_ms`]) >= 0, `time_${stage}_ms`);
      }
      bundles.push(out);
    });

    const prune = (bundle: string, extra: string[]): { keep: number[]; [k: string]: unknown } => {
      const r = cli(['prune', bundle, '--json', ...extra]);
      assert.equal(r.status, 0, `prune ${extra.join(' ')}: ${r.stderr}`);
      const j = JSON.parse(r.stdout) as { keep: number[] };
      assert.ok(j.keep.length > 0 && j.keep.every((k, i) => Number.isInteger(k) && k >= 0 && k < n && (i === 0 || k > j.keep[i - 1])), 'keep sorted, in range');
      return j;
    };
    const g = prune(bundles[0], ['--method', 'gprune']);
    assert.equal(g.keep.length, Math.floor(0.5 * n));
    // Methods that need the surgery outputs: [CLS] attention + keys, PruMerge's own attention, text.
    assert.equal(prune(bundles[1], ['--method', 'visionzip', '--param', 'dominant=9', '--param', 'contextual=4']).keep.length, 8 + 4);
    prune(bundles[2], ['--method', 'prumerge', '--input', 'cls_attn=pm_cls_attn', '--input', 'keys=pm_keys']);
    assert.equal(prune(bundles[0], ['--method', 'cdpruner', '--param', 'visual_token_num=10']).keep.length, 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encode reports bad input as one clear sentence (exit 2)', () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-encode-bad-'));
  try {
    const photo = join(PHOTOS_DIR, readdirSync(PHOTOS_DIR)[0]);
    const noModel = cli(['encode', photo, '--model', join(dir, 'nope'), '--out', join(dir, 'x.npz')]);
    assert.equal(noModel.status, 2);
    assert.match(noModel.stderr, /Model not found/);
    const empty = join(dir, 'empty');
    writeTestModelFolder(empty, { template: TEMPLATE, visionOnly: true });
    rmSync(join(empty, 'onnx'), { recursive: true });
    const noOnnx = cli(['encode', photo, '--model', empty, '--out', join(dir, 'x.npz')]);
    assert.equal(noOnnx.status, 2);
    assert.match(noOnnx.stderr, /No ONNX weights/);
    const badLayer = cli(['encode', photo, '--model', empty, '--out', join(dir, 'x.npz'), '--feature-layer', '0']);
    assert.equal(badLayer.status, 2);
    assert.match(badLayer.stderr, /--feature-layer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../models/onnx/builder.ts';
import { writeTestModelFolder, type TestFolder } from '../../models/testgen/folder.ts';
import { jointEmbeddings, textReference, visionReference } from '../../models/testgen/reference.ts';
import type { Tensor } from '../../extension/core/bundle/tensor.ts';
import { closeEncoder, createSession, encodeImage, fullWidthClsAttention, headMeanKeys, openEncoder, prepareModel } from '../../extension/core/runtime/encoder.ts';
import { decodeImage, loadPreprocessorConfig, preprocess } from '../../extension/core/runtime/image/index.ts';
import { resolveModel } from '../../extension/core/runtime/model-folder.ts';
import { loadTokenizer } from '../../extension/core/runtime/tokenizer.ts';
import { maxAbsDiff } from '../helpers/arrays.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { MissingInputError } from '../../extension/core/errors.ts';
import { PHOTOS_DIR, SHARED } from '../helpers/paths.ts';

// The in-process encoder end to end (real decode, preprocessing and tokenizer), checked value by value
// against the JS reference forward pass of the generated weights.

const TEMPLATE = join(SHARED, 'models', 'clip-vit-base-patch32');
const PHOTO = join(PHOTOS_DIR, 'chelsea.png');
const QUESTION = 'What is the cat looking at?';
const TOL = 2e-4;

function normaliseRows(x: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length / cols; i++) {
    const row = x.subarray(i * cols, (i + 1) * cols);
    const n = Math.hypot(...row);
    for (let j = 0; j < cols; j++) out[i * cols + j] = row[j] / n;
  }
  return out;
}

/** Runs `body` in a fresh temporary folder, removed afterwards whatever happens. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-enc-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arr(arrays: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const t = arrays.get(name);
  assert.ok(t, `bundle has no ${name}`);
  return t;
}

async function encodeFolder(folder: TestFolder, question: string): Promise<Awaited<ReturnType<typeof encodeImage>>> {
  const enc = await openEncoder(prepareModel(resolveModel(folder.dir)), { intraOpNumThreads: 1 });
  try {
    return await encodeImage(enc, { image: PHOTO, question });
  } finally {
    await closeEncoder(enc);
  }
}

/** Check the bundle against the reference computed from the same preprocessed pixels. */
async function checkBundle(folder: TestFolder, arrays: ReadonlyMap<string, Tensor>, combined: boolean): Promise<void> {
  const v = folder.vision;
  const pixels = preprocess(await decodeImage(PHOTO), loadPreprocessorConfig(folder.dir));
  const ref = visionReference(folder.visionWeights, v, pixels.data);
  const t = ref.tokens;
  // Patches follow [CLS] and any register tokens.
  const first = ref.prefix;
  const n = t - first;
  const fl = v.layers - 2;
  assert.equal(arr(arrays, 'features').shape[0], n);
  assert.ok(maxAbsDiff(arr(arrays, 'features').data, ref.hidden[fl + 1].subarray(first * v.width)) < TOL, 'features');
  const cls: number[] = [];
  for (let h = 0; h < v.heads; h++) for (let j = first; j < t; j++) cls.push(ref.layers[fl].attn[h * t * t + j]);
  assert.ok(maxAbsDiff(arr(arrays, 'cls_attn').data, cls) < TOL, 'cls_attn');
  const keys = headMeanKeys(Float32Array.from(ref.layers[fl].k), t, v.width, v.heads, first);
  assert.ok(maxAbsDiff(arr(arrays, 'keys').data, keys) < TOL, 'keys');
  const last = ref.layers[v.layers - 1];
  const pm = fullWidthClsAttention(Float32Array.from(last.q.subarray(0, v.width)), Float32Array.from(last.k), t, v.width, first);
  assert.ok(maxAbsDiff(arr(arrays, 'pm_cls_attn').data, pm) < TOL, 'pm_cls_attn');
  assert.ok(maxAbsDiff(arr(arrays, 'pm_keys').data, last.k.subarray(first * v.width)) < TOL, 'pm_keys');
  let joint = jointEmbeddings(folder.visionWeights, v, ref.hidden[fl + 1].subarray(first * v.width), n);
  if (combined) joint = normaliseRows(joint, v.projection);
  assert.ok(maxAbsDiff(arr(arrays, 'image_joint').data, joint) < TOL, 'image_joint');
  const side = v.imageSize / v.patchSize;
  assert.deepEqual(Array.from(arr(arrays, 'grid').data), [side, side]);
}

test('in-process encode (separate towers) matches the reference forward pass, text included', () =>
  inTempDir(async (dir) => {
    const folder = writeTestModelFolder(join(dir, 'm'), { template: TEMPLATE, vision: { imageSize: 64, patchSize: 16 } });
    const { bundle, notices } = await encodeFolder(folder, QUESTION);
    await checkBundle(folder, bundle.arrays, false);
    const ids = loadTokenizer(folder.dir).encode(QUESTION).ids ?? [];
    assert.equal(ids[0], 49406);
    const text = textReference(folder.textWeights ?? new Map(), folder.text ?? assert.fail('no text spec'), ids);
    assert.deepEqual([...arr(bundle.arrays, 'text').shape], [1, text.length]);
    assert.ok(maxAbsDiff(arr(bundle.arrays, 'text').data, text) < TOL, 'text');
    assert.equal(bundle.meta.weightsKind, 'random-test');
    assert.equal(bundle.meta.extra.token_count, String(ids.length));
    assert.deepEqual(notices, []);
    // Question-agnostic: no text array, the vision arrays are unchanged.
    const plain = await encodeFolder(folder, '   ');
    assert.equal(plain.bundle.arrays.has('text'), false);
    assert.ok(maxAbsDiff(arr(plain.bundle.arrays, 'features').data, arr(bundle.arrays, 'features').data) === 0);
  }));

test('in-process encode with one combined model.onnx (CLIPModel: normalised embeddings, attention_mask input)', () =>
  inTempDir(async (dir) => {
    const folder = writeTestModelFolder(join(dir, 'm'), { template: TEMPLATE, combined: true, text: { layers: 1 } });
    const withQ = await encodeFolder(folder, QUESTION);
    await checkBundle(folder, withQ.bundle.arrays, true);
    const ids = loadTokenizer(folder.dir).encode(QUESTION).ids ?? [];
    const text = normaliseRows(textReference(folder.textWeights ?? new Map(), folder.text ?? assert.fail('no text spec'), ids), folder.vision.projection);
    assert.ok(maxAbsDiff(arr(withQ.bundle.arrays, 'text').data, text) < TOL, 'text');
    assert.equal(withQ.bundle.meta.extra.vision_file, 'model.onnx');
    const without = await encodeFolder(folder, '');
    assert.equal(without.bundle.arrays.has('text'), false);
    await checkBundle(folder, without.bundle.arrays, true);
  }));

test('a question for a model without a text tower is ignored with a notice', () =>
  inTempDir(async (dir) => {
    const folder = writeTestModelFolder(join(dir, 'm'), { template: TEMPLATE, visionOnly: true });
    const { bundle, notices } = await encodeFolder(folder, QUESTION);
    assert.equal(bundle.arrays.has('text'), false);
    assert.ok(notices.some((n) => /no text tower/.test(n)), notices.join(' | '));
    assert.match(bundle.meta.extra.notices, /no text tower/);
  }));

test('a SigLIP-style tower (no [CLS]) encodes every patch; methods that need [CLS] attention say so, the others run', () =>
  inTempDir(async (dir) => {
    const folder = writeTestModelFolder(join(dir, 'm'), { template: TEMPLATE, visionOnly: true, gen: { classToken: false } });
    const { bundle, notices } = await encodeFolder(folder, '');
    const v = folder.vision;
    const n = (v.imageSize / v.patchSize) ** 2;
    assert.deepEqual([...arr(bundle.arrays, 'features').shape], [n, v.width]);
    assert.deepEqual([...arr(bundle.arrays, 'keys').shape], [n, v.width / v.heads]);
    for (const role of ['cls_attn', 'cls_attn_last', 'pm_cls_attn', 'image_joint']) assert.equal(bundle.arrays.has(role), false, role);
    assert.match(bundle.meta.extra.cls_attn, /no \[CLS\] token/);
    assert.ok(notices.some((note) => /No \[CLS\] token/.test(note)) || /No \[CLS\] token/.test(bundle.meta.extra.notices ?? ''), notices.join(' | '));
    assert.equal(prune(bundle, 'gprune', { keep_ratio: 0.5 }).keep.length, n / 2);
    assert.throws(() => prune(bundle, 'visionzip', { dominant: 4, contextual: 2 }), MissingInputError);
  }));

test('a tower with register tokens (DINOv2 layout) encodes the patches only: registers are in no array', () =>
  inTempDir(async (dir) => {
    const folder = writeTestModelFolder(join(dir, 'm'), { template: TEMPLATE, visionOnly: true, gen: { registers: 4 } });
    const { bundle } = await encodeFolder(folder, '');
    await checkBundle(folder, bundle.arrays, false);
    const n = (folder.vision.imageSize / folder.vision.patchSize) ** 2;
    for (const role of ['features', 'keys', 'pm_keys', 'image_joint']) assert.equal(arr(bundle.arrays, role).shape[0], n, role);
    assert.deepEqual([...arr(bundle.arrays, 'cls_attn').shape], [folder.vision.heads, n]);
    assert.match(bundle.meta.extra.registers ?? '', /^4 register tokens .*; token 0 is \[CLS\] \(the graph pools it\)$/);
    // [CLS] attention is there, so the methods that read it run on the patches.
    const vz = prune(bundle, 'visionzip', { dominant: 4, contextual: 2 });
    assert.ok(vz.keep.length > 0 && vz.keep.every((i) => i < n), vz.keep.join(','));
  }));

test('a tower with register tokens and no [CLS] (timm class_token=False) encodes the patches only and offers no [CLS] attention', () =>
  inTempDir(async (dir) => {
    const folder = writeTestModelFolder(join(dir, 'm'), { template: TEMPLATE, visionOnly: true, gen: { classToken: false, registers: 3 } });
    const { bundle } = await encodeFolder(folder, '');
    const v = folder.vision;
    const n = (v.imageSize / v.patchSize) ** 2;
    const pixels = preprocess(await decodeImage(PHOTO), loadPreprocessorConfig(folder.dir));
    const ref = visionReference(folder.visionWeights, v, pixels.data);
    assert.equal(ref.prefix, 3);
    // Features and keys of the feature layer (select_layer −2), registers dropped: no register is read as [CLS].
    const fl = v.layers - 2;
    assert.ok(maxAbsDiff(arr(bundle.arrays, 'features').data, ref.hidden[fl + 1].subarray(3 * v.width)) < TOL, 'features');
    assert.ok(maxAbsDiff(arr(bundle.arrays, 'keys').data, headMeanKeys(Float32Array.from(ref.layers[fl].k), ref.tokens, v.width, v.heads, 3)) < TOL, 'keys');
    assert.equal(arr(bundle.arrays, 'features').shape[0], n);
    for (const role of ['cls_attn', 'cls_attn_last', 'pm_cls_attn', 'pm_keys', 'image_joint']) assert.equal(bundle.arrays.has(role), false, role);
    assert.match(bundle.meta.extra.registers ?? '', /^3 register tokens before the patches \(a tower without \[CLS\]/);
    assert.match(bundle.meta.extra.cls_attn, /no \[CLS\] token \(registers only\)/);
    assert.equal(prune(bundle, 'gprune', { keep_ratio: 0.5 }).keep.length, n / 2);
    assert.throws(() => prune(bundle, 'visionzip', { dominant: 4, contextual: 2 }), MissingInputError);
  }));

test('a manifest that lists outputs skips surgery and passes the graph outputs through', () =>
  inTempDir(async (dir) => {
    // A tiny non-ViT graph: 8×8 patches → 6-d features, and a softmax "attention" over them.
    const b = new GraphBuilder('tiny');
    const px = b.input('pixel_values', 'float32', [1, 3, 32, 32]);
    const w = b.constF('w', [6, 3, 8, 8], Float32Array.from({ length: 6 * 3 * 64 }, (_, i) => Math.sin(i) * 0.05));
    const conv = b.op1('Conv', [px, w], { kernel_shape: [8, 8], strides: [8, 8] });
    const flat = b.op1('Reshape', [conv, b.constI('shape', [3], [1, 6, 16])]);
    b.op1('Transpose', [flat], { perm: [0, 2, 1] }, 'feats');
    const score = b.op1('ReduceMean', ['feats'], { axes: [2], keepdims: 0 });
    b.op1('Softmax', [score], { axis: -1 }, 'attn');
    b.output('feats', 'float32', [1, 16, 6]);
    b.output('attn', 'float32', [1, 16]);
    const bytes = b.build();
    writeFileSync(join(dir, 'tiny.onnx'), bytes);
    writeFileSync(join(dir, 'pp.json'), JSON.stringify({ size: { shortest_edge: 32 }, crop_size: { height: 32, width: 32 }, do_center_crop: true, resample: 3 }));
    const manifest = { id: 'tiny', name: 'Tiny', description: 'A hand-built graph.', weightsKind: 'synthetic', vision: { file: 'tiny.onnx' }, preprocessor: 'pp.json', outputs: { features: 'feats', clsAttn: 'attn' } };
    writeFileSync(join(dir, 'tiny.json'), JSON.stringify(manifest));
    const prepared = prepareModel(resolveModel(join(dir, 'tiny.json')));
    assert.equal(prepared.surgery, null);
    assert.equal(prepared.vision.bytes.length, bytes.length, 'graph used as-is');
    const enc = await openEncoder(prepared);
    const { bundle } = await encodeImage(enc, { image: PHOTO });
    await closeEncoder(enc);
    assert.deepEqual([...arr(bundle.arrays, 'features').shape], [16, 6]);
    assert.deepEqual([...arr(bundle.arrays, 'cls_attn').shape], [16]);
    assert.deepEqual(Array.from(arr(bundle.arrays, 'grid').data), [4, 4]);
    assert.equal(bundle.arrays.has('keys'), false);
    assert.equal(bundle.meta.weightsKind, 'synthetic');
    assert.match(bundle.meta.extra.surgery, /^none/);
    // Same numbers as running the file directly.
    const ort = await import('onnxruntime-node');
    const s = await createSession(bytes);
    const pixels = preprocess(await decodeImage(PHOTO), loadPreprocessorConfig(join(dir, 'pp.json')));
    const direct = await s.run({ pixel_values: new ort.Tensor('float32', pixels.data, [...pixels.shape]) });
    await s.release();
    assert.ok(maxAbsDiff(arr(bundle.arrays, 'features').data, direct.feats.data as Float32Array) === 0);
    copyFileSync(join(dir, 'tiny.json'), join(dir, 'prunelens.json'));
    assert.equal(resolveModel(dir).id, 'tiny', 'a folder with prunelens.json resolves to its manifest');
  }));

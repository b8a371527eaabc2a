import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildVisionModel } from '../../models/testgen/clip.ts';
import { markRandomTest } from '../../models/testgen/folder.ts';
import { InputError } from '../../extension/core/errors.ts';
import { prepareModel } from '../../extension/core/runtime/encoder.ts';
import { resolveModel } from '../../extension/core/runtime/model-folder.ts';
import { SHARED } from '../helpers/paths.ts';

// Model folder / manifest resolution: which files are picked, and one clear sentence for each problem.

const TEMPLATE = join(SHARED, 'models', 'clip-vit-base-patch32');

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-folder-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An HF-layout folder with the real configs and placeholder ONNX files (resolution never parses them). */
function hfFolder(dir: string, onnxFiles: string[]): string {
  const f = join(dir, 'clip');
  mkdirSync(join(f, 'onnx'), { recursive: true });
  for (const n of ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(TEMPLATE, n), join(f, n));
  for (const o of onnxFiles) writeFileSync(join(f, 'onnx', o), 'placeholder');
  return f;
}

const inputError = (pattern: RegExp) => (e: unknown) => e instanceof InputError && pattern.test(e.message);

test('an HF folder prefers full-precision ONNX files and says so', () => {
  withDir((dir) => {
    const f = hfFolder(dir, ['vision_model.onnx', 'vision_model_quantized.onnx', 'text_model_quantized.onnx']);
    const m = resolveModel(f);
    assert.equal(m.source, 'hf-folder');
    assert.equal(m.vision.path, join(f, 'onnx', 'vision_model.onnx'));
    assert.equal(m.text?.path, join(f, 'onnx', 'text_model_quantized.onnx'));
    assert.ok(m.notes.some((n) => /vision_model\.onnx .*full precision.*vision_model_quantized\.onnx/.test(n)), m.notes.join(' | '));
    assert.equal(m.contextLength, 77);
    assert.equal(m.patchSize, 32);
    assert.equal(m.featureLayer, null, 'not stated: surgery uses its default');
    assert.equal(m.tokenizerPath, join(f, 'tokenizer.json'));
  });
  withDir((dir) => {
    const m = resolveModel(hfFolder(dir, ['vision_model_quantized.onnx']));
    assert.match(m.vision.path, /vision_model_quantized\.onnx$/);
    assert.equal(m.text, null);
  });
  withDir((dir) => {
    const m = resolveModel(hfFolder(dir, ['model.onnx', 'model_quantized.onnx']));
    assert.match(m.vision.path, /onnx\/model\.onnx$/);
    assert.equal(m.text?.path, m.vision.path, 'combined: both towers in one file');
  });
});

test('folder problems are one clear InputError each', () => {
  withDir((dir) => {
    assert.throws(() => resolveModel(hfFolder(dir, ['vision_model_fp16.onnx'])), inputError(/float16/));
  });
  withDir((dir) => {
    assert.throws(() => resolveModel(hfFolder(dir, [])), inputError(/No ONNX weights .*vision_model\.onnx/));
  });
  withDir((dir) => {
    mkdirSync(join(dir, 'empty'));
    assert.throws(() => resolveModel(join(dir, 'empty')), inputError(/no preprocessor_config\.json/));
    assert.throws(() => resolveModel(join(dir, 'missing')), inputError(/Model not found/));
    writeFileSync(join(dir, 'a.onnx'), 'x');
    assert.throws(() => resolveModel(join(dir, 'a.onnx')), inputError(/bare ONNX file/));
  });
});

test('manifests: fields are checked and listed files must exist', () => {
  withDir((dir) => {
    copyFileSync(join(TEMPLATE, 'preprocessor_config.json'), join(dir, 'preprocessor_config.json'));
    writeFileSync(join(dir, 'v.onnx'), 'x');
    const good = { id: 'm', name: 'M', description: 'd', weightsKind: 'probe', vision: { file: 'v.onnx' }, featureLayer: -1, methodDefaults: { cdpruner: { relevance_sign: 1 } } };
    const write = (o: object): string => {
      writeFileSync(join(dir, 'prunelens.json'), JSON.stringify(o));
      return join(dir, 'prunelens.json');
    };
    const m = resolveModel(write(good));
    assert.equal(m.source, 'manifest');
    assert.equal(m.weightsKind, 'probe');
    assert.equal(m.featureLayer, -1);
    assert.equal(m.text, null);
    assert.deepEqual(m.methodDefaults, { cdpruner: { relevance_sign: 1 } });
    assert.throws(() => resolveModel(write({ ...good, vision: { file: 'gone.onnx' } })), inputError(/gone\.onnx .*does not exist/));
    assert.throws(() => resolveModel(write({ ...good, text: { file: 'text.onnx' } })), inputError(/text\.onnx .*does not exist/));
    assert.throws(() => resolveModel(write({ ...good, weightsKind: 'great' })), inputError(/weightsKind/));
    assert.throws(() => resolveModel(write({ ...good, featureLayer: 0 })), inputError(/featureLayer/));
    assert.throws(() => resolveModel(write({ ...good, outputs: { features: 3 } })), inputError(/outputs\.features/));
    assert.throws(() => resolveModel(write({ ...good, id: '' })), inputError(/"id"/));
    writeFileSync(join(dir, 'prunelens.json'), '{ not json');
    assert.throws(() => resolveModel(dir), inputError(/not valid JSON/));
  });
});

test('weights kind: generated graphs carry "random-test" in their ONNX metadata; unmarked HF exports count as real', () => {
  withDir((dir) => {
    const f = hfFolder(dir, []);
    const bytes = buildVisionModel().bytes;
    writeFileSync(join(f, 'onnx', 'vision_model.onnx'), bytes);
    assert.equal(prepareModel(resolveModel(f)).weightsKind, 'real');
    writeFileSync(join(f, 'onnx', 'vision_model.onnx'), markRandomTest(bytes));
    assert.equal(prepareModel(resolveModel(f)).weightsKind, 'random-test');
    writeFileSync(join(f, 'onnx', 'vision_model.onnx'), 'not a model');
    assert.throws(() => prepareModel(resolveModel(f)), inputError(/not a valid ONNX model/));
  });
});

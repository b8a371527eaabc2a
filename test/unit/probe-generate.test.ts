import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { PROBE_FILES, ensureProbe, generateProbe, probeFiles } from '../../models/probe/generate.ts';
import { REPO } from '../helpers/paths.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'prunelens-probe-gen-'));

test('generation is deterministic: two runs write identical bytes, well under 10 s', () => {
  const a = tmp();
  const b = tmp();
  const t0 = performance.now();
  const written = generateProbe(a);
  const ms = performance.now() - t0;
  generateProbe(b);
  assert.deepEqual(written, [...PROBE_FILES]);
  for (const f of PROBE_FILES) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs between runs`);
  assert.ok(ms < 10_000, `generation took ${ms} ms`);
});

test('the committed JSON/README files in models/probe are what the generator writes now', () => {
  const files = probeFiles();
  for (const f of PROBE_FILES.filter((p) => !p.endsWith('.onnx'))) {
    assert.equal(readFileSync(join(REPO, 'models', 'probe', f), 'utf8'), files.get(f), `models/probe/${f} is stale: run npm run models`);
  }
});

test('ensureProbe skips when the stamp matches and regenerates when it does not', () => {
  const dir = tmp();
  assert.equal(ensureProbe(dir).skipped, false);
  assert.equal(ensureProbe(dir).skipped, true);
  writeFileSync(join(dir, 'onnx', 'stamp.json'), JSON.stringify({ inputsHash: 'old' }));
  assert.equal(ensureProbe(dir).skipped, false);
  assert.equal(ensureProbe(dir, true).skipped, false);
});

test('the graphs use standard ONNX operators only', () => {
  const files = probeFiles();
  for (const f of PROBE_FILES.filter((p) => p.endsWith('.onnx'))) {
    const model = onnxProto.onnx.ModelProto.decode(files.get(f) as Uint8Array);
    assert.deepEqual(model.opsetImport?.map((o) => o.domain ?? ''), ['']);
    for (const n of model.graph?.node ?? []) assert.ok(!n.domain, `${f}: node ${n.name} uses domain ${n.domain}`);
    assert.ok((model.graph?.node ?? []).length > 3, `${f} has nodes`);
  }
});

test('prunelens.json describes the folder: files, outputs present in the graphs, probe settings', async () => {
  const dir = tmp();
  generateProbe(dir);
  const m = JSON.parse(readFileSync(join(dir, 'prunelens.json'), 'utf8'));
  assert.equal(m.id, 'probe');
  assert.equal(m.name, 'PruneLens Probe');
  assert.equal(m.description, 'PruneLens Probe — understands colours, brightness, texture and position; not a vision-language model');
  assert.equal(m.weightsKind, 'probe');
  assert.deepEqual(m.methodDefaults, { cdpruner: { relevance_sign: 1 } });
  assert.match(m.notes['methodDefaults.cdpruner.relevance_sign'], /inverted/);
  const vision = await ort.InferenceSession.create(join(dir, m.vision.file));
  const text = await ort.InferenceSession.create(join(dir, m.text.file));
  assert.deepEqual(vision.inputNames, [m.vision.input]);
  assert.deepEqual(text.inputNames, [m.text.input]);
  for (const k of ['features', 'clsAttn', 'keys', 'imageJoint']) assert.ok(vision.outputNames.includes(m.outputs[k]), `vision lacks ${m.outputs[k]}`);
  for (const k of ['textEmbeds', 'cue']) assert.ok(text.outputNames.includes(m.outputs[k]), `text lacks ${m.outputs[k]}`);
  const pre = JSON.parse(readFileSync(join(dir, m.preprocessor), 'utf8'));
  assert.deepEqual(pre.size, { shortest_edge: 336 });
  assert.deepEqual(pre.crop_size, { height: 336, width: 336 });
  assert.equal(pre.resample, 3);
  assert.deepEqual(pre.image_mean, [0.48145466, 0.4578275, 0.40821073]);
  assert.deepEqual(pre.image_std, [0.26862954, 0.26130258, 0.27577711]);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.vision_config.image_size / cfg.vision_config.patch_size, 24);
  assert.equal(cfg.text_config.max_position_embeddings, m.contextLength);
});

test('.gitignore keeps the generated ONNX files out of git', () => {
  const ignore = readFileSync(join(REPO, '.gitignore'), 'utf8').split('\n');
  assert.ok(ignore.includes('models/probe/onnx/'), 'models/probe/onnx/ is ignored');
});

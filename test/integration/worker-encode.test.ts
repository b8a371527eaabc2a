import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModelFolder } from '../../models/testgen/folder.ts';
import { closeEncoder, encodeImage, openEncoder, prepareModel } from '../../extension/core/runtime/encoder.ts';
import { resolveModel } from '../../extension/core/runtime/model-folder.ts';
import { sessionOptionsFor } from '../../extension/core/runtime/providers.ts';
import { WorkerClient } from '../../extension/core/runtime/worker/client.ts';
import { CancelledError } from '../../extension/core/runtime/worker/errors.ts';
import { defaultWorkerLaunch } from '../../extension/core/runtime/worker/launch.ts';
import { InputError } from '../../extension/core/errors.ts';
import { PHOTOS_DIR, SHARED } from '../helpers/paths.ts';

const TEMPLATE = join(SHARED, 'models', 'clip-vit-base-patch32');
const PHOTO = join(PHOTOS_DIR, 'chelsea.png');

test('encode in the worker gives the in-process TokenBundle; encoders are reused until the model file changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-wenc-'));
  const client = new WorkerClient({ launch: defaultWorkerLaunch() });
  try {
    const folder = writeTestModelFolder(join(dir, 'clip-test'), { template: TEMPLATE });
    const question = 'What is the cat looking at?';

    const enc = await openEncoder(prepareModel(resolveModel(folder.dir)), sessionOptionsFor('cpu', 1));
    const local = await encodeImage(enc, { image: PHOTO, question }).finally(() => closeEncoder(enc));

    const first = await client.request('encode', { model: folder.dir, image: PHOTO, question, provider: 'cpu', threads: 1 });
    assert.equal(first.cached, false);
    assert.deepEqual([...first.bundle.arrays.keys()].sort(), [...local.bundle.arrays.keys()].sort());
    for (const [name, t] of local.bundle.arrays) {
      const w = first.bundle.arrays.get(name);
      assert.ok(w, name);
      assert.deepEqual(w.shape, t.shape, name);
      assert.equal(w.dtype, t.dtype, name);
      let m = 0;
      for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs(Number(w.data[i]) - Number(t.data[i])));
      assert.ok(m <= 1e-6, `${name}: max abs difference ${m}`);
    }
    assert.equal(first.bundle.meta.weightsKind, 'random-test');
    assert.equal(first.bundle.meta.extra.weights, 'random test weights');

    const second = await client.request('encode', { model: folder.dir, image: PHOTO, question: '', provider: 'cpu', threads: 1 });
    assert.equal(second.cached, true);
    assert.ok(first.bundle.arrays.has('text'));
    assert.equal(second.bundle.arrays.has('text'), false); // empty question: question-agnostic
    // A touched vision file is a different model: a fresh encoder.
    const later = new Date(Date.now() + 5000);
    utimesSync(join(folder.dir, 'onnx', 'vision_model.onnx'), later, later);
    const third = await client.request('encode', { model: folder.dir, image: PHOTO, provider: 'cpu', threads: 1 });
    assert.equal(third.cached, false);

    await assert.rejects(client.request('encode', { model: join(dir, 'nowhere'), image: PHOTO, provider: 'cpu', threads: 1 }), InputError);
    await assert.rejects(client.request('encode', { model: folder.dir, image: PHOTO, provider: 'cpu', threads: 1 }, { signal: AbortSignal.abort() }), CancelledError);
    assert.equal(client.starts, 1);
  } finally {
    await client.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

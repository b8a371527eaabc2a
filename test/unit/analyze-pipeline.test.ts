import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../../extension/core/bundle/tensor.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { AnalysisCache } from '../../extension/core/analyze/cache.ts';
import type { EncodeWorker } from '../../extension/core/analyze/encode.ts';
import { rerunMethod, runAnalysis } from '../../extension/core/analyze/pipeline.ts';
import type { AnalyzeRequest } from '../../extension/core/analyze/types.ts';
import type { AnalysisEntry } from '../../extension/core/analysis.ts';
import { METHODS } from '../../extension/core/methods/registry.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';
import type { RequestOptions } from '../../extension/core/runtime/worker/client.ts';
import { CancelledError } from '../../extension/core/runtime/worker/errors.ts';
import type { RuntimeKinds } from '../../extension/core/runtime/worker/kinds.ts';

// The pipeline with a stand-in worker: provider choice, caching, skip reasons, budgets, model method
// defaults, re-runs and cancellation, without onnxruntime. A 12×12 grid keeps every method fast.

const GH = 12;
const N = GH * GH;

function randomTensor(shape: number[], seed: number): Tensor {
  const rnd = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', shape, data: Float32Array.from({ length: size }, () => rnd() * 2 - 1) };
}

function softmaxRows(t: Tensor): Tensor {
  const [h, n] = t.shape;
  const d = new Float32Array(t.data.length);
  for (let r = 0; r < h; r++) {
    let z = 0;
    for (let i = 0; i < n; i++) z += (d[r * n + i] = Math.exp(3 * Number(t.data[r * n + i])));
    for (let i = 0; i < n; i++) d[r * n + i] /= z;
  }
  return { dtype: 'float32', shape: t.shape, data: d };
}

class FakeWorker implements EncodeWorker {
  readonly calls: string[] = [];
  readonly encodes: RuntimeKinds['encode']['payload'][] = [];
  /** Encode waits for this before answering (lets a test abort mid-encode). */
  hold: Promise<void> | null = null;

  async request<K extends 'backends' | 'smoke' | 'encode'>(kind: K, payload: RuntimeKinds[K]['payload'], opts: RequestOptions = {}): Promise<RuntimeKinds[K]['result']> {
    this.calls.push(kind);
    if (opts.signal?.aborted) throw new CancelledError(kind);
    if (kind === 'backends') {
      const r: RuntimeKinds['backends']['result'] = [
        { name: 'cpu', bundled: true, installed: true },
        { name: 'webgpu', bundled: true, installed: true },
      ];
      return r as RuntimeKinds[K]['result'];
    }
    if (kind === 'smoke') throw new Error('Failed to get a WebGPU adapter');
    const p = payload as RuntimeKinds['encode']['payload'];
    this.encodes.push(p);
    if (this.hold) {
      const signal = opts.signal;
      await Promise.race([
        this.hold,
        new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new CancelledError(kind)), { once: true })),
      ]);
    }
    const arrays = new Map<string, Tensor>([
      ['features', randomTensor([N, 8], 1)],
      ['cls_attn', softmaxRows(randomTensor([2, N], 2))],
      ['keys', randomTensor([N, 4], 3)],
      ['image_joint', randomTensor([N, 6], 4)],
      ['grid', { dtype: 'int32', shape: [2], data: Int32Array.from([GH, GH]) }],
    ]);
    const question = p.question ?? '';
    if (question.trim() !== '') {
      arrays.set('text', randomTensor([1, 6], 5 + question.length));
      arrays.set('cue', randomTensor([1, 8], 6 + question.length));
    }
    const bundle = makeBundle(arrays, {
      source: p.image,
      model: 'fake',
      weightsKind: 'synthetic',
      layer: null,
      extra: { image_size: '40x30 png', provider: p.provider, question, time_session_run_ms: '1.50' },
    });
    const r: RuntimeKinds['encode']['result'] = { bundle, notices: [], cached: false };
    return r as RuntimeKinds[K]['result'];
  }
}

/** A manifest folder with placeholder files: enough for model resolution (the fake worker never opens them). */
function fakeModel(dir: string): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'vision.onnx'), 'x');
  writeFileSync(join(dir, 'onnx', 'text.onnx'), 'x');
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ size: { shortest_edge: 168 }, crop_size: { height: 168, width: 168 } }));
  writeFileSync(
    join(dir, 'prunelens.json'),
    JSON.stringify({
      id: 'fake',
      name: 'Fake model',
      description: 'Placeholder files for pipeline tests.',
      weightsKind: 'synthetic',
      vision: { file: 'onnx/vision.onnx' },
      text: { file: 'onnx/text.onnx' },
      outputs: { features: 'f', textEmbeds: 't' },
      methodDefaults: { cdpruner: { relevance_sign: 1 } },
    }),
  );
  return dir;
}

function setup(): { dir: string; image: string; model: string; req: (over?: Partial<AnalyzeRequest>) => AnalyzeRequest } {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-pipe-'));
  const image = join(dir, 'img.png');
  writeFileSync(image, 'not decoded by the fake worker');
  const model = fakeModel(join(dir, 'model'));
  const req = (over: Partial<AnalyzeRequest> = {}): AnalyzeRequest => ({
    image,
    bundlePath: null,
    question: 'where is the red square?',
    model,
    methods: 'all',
    budget: null,
    params: {},
    provider: 'auto',
    threads: 1,
    codebookPath: null,
    ...over,
  });
  return { dir, image, model, req };
}

const ok = (e: AnalysisEntry | undefined): Extract<AnalysisEntry, { status: 'ok' }> => {
  assert.ok(e && e.status === 'ok', `expected an ok entry, got ${JSON.stringify(e && e.status !== 'ok' ? e : e?.method)}`);
  return e as Extract<AnalysisEntry, { status: 'ok' }>;
};

test('every method gets an entry: runnable ones at k = round(N/9), the rest skipped with a "needs X" reason', async () => {
  const { dir, req } = setup();
  try {
    const worker = new FakeWorker();
    const { analysis, results } = await runAnalysis(req(), {}, { worker });
    assert.deepEqual(
      analysis.results.map((e) => e.method),
      METHODS.map((m) => m.id),
    );
    assert.equal(analysis.n, N);
    assert.equal(analysis.budget, 16); // round(144 / 9)
    assert.deepEqual(analysis.grid, [GH, GH]);
    assert.equal(analysis.model.id, 'fake');
    assert.equal(analysis.model.provider, 'cpu');
    assert.ok(analysis.model.providerNotes.some((s) => /^webgpu: smoke run failed: Failed to get a WebGPU adapter/.test(s)), analysis.model.providerNotes.join('\n'));
    assert.deepEqual(analysis.image, { path: req().image, width: 40, height: 30 });
    const byId = new Map(analysis.results.map((e) => [e.method, e]));
    for (const id of ['f3a', 'gprune', 'divprune', 'cdpruner', 'visionzip', 'tome', 'random', 'uniform']) {
      const e = ok(byId.get(id));
      assert.equal(e.keep.length, 16, `${id} keeps the budget`);
      assert.ok(e.time_ms >= 0);
      assert.equal(results.get(id)?.keep.length, 16);
    }
    // PruMerge keeps its own adaptive count; with two-head cls_attn it averages the heads (noted).
    assert.equal(ok(byId.get('prumerge')).params.heads, 'mean');
    assert.ok(ok(byId.get('prumerge')).display.notes.some((s) => /does not take a token budget/.test(s)));
    const fastv = byId.get('fastv');
    assert.equal(fastv?.status, 'skipped');
    assert.match(fastv?.status === 'skipped' ? fastv.reason : '', /^needs llm_attn — /);
    const codebook = byId.get('codebook');
    assert.match(codebook?.status === 'skipped' ? codebook.reason : '', /^needs codebook — .*--codebook/);
    // The manifest's model-specific setting reaches CDPruner.
    assert.equal(ok(byId.get('cdpruner')).params.relevance_sign, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty question skips the text methods with "needs text — ask a question"; F³A runs without cues', async () => {
  const { dir, req } = setup();
  try {
    const { analysis } = await runAnalysis(req({ question: '   ', methods: ['cdpruner', 'f3a'] }), {}, { worker: new FakeWorker() });
    assert.equal(analysis.question, '');
    const [cd, f3a] = analysis.results;
    assert.equal(cd.status, 'skipped');
    assert.match(cd.status === 'skipped' ? cd.reason : '', /^needs text — ask a question/);
    assert.ok(ok(f3a).display.notes.some((s) => /No cue vectors/.test(s)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('budget k or ratio goes through each method\'s budgetParams; user params win; bad ones are errors, not crashes', async () => {
  const { dir, req } = setup();
  try {
    const worker = new FakeWorker();
    const r = await runAnalysis(req({ budget: { ratio: 0.25 }, methods: ['gprune', 'divprune', 'cdpruner'], params: { cdpruner: { visual_token_num: 7 } } }), {}, { worker });
    assert.equal(r.analysis.budget, 36);
    const [g, d, c] = r.analysis.results.map(ok);
    assert.equal(g.keep.length, 36);
    assert.equal(d.keep.length, 36);
    assert.equal(c.keep.length, 7);
    const k = await runAnalysis(req({ budget: { k: 20 }, methods: ['visionzip'] }), {}, { worker });
    assert.equal(ok(k.analysis.results[0]).keep.length, 20);
    await assert.rejects(runAnalysis(req({ budget: { k: N + 1 } }), {}, { worker }), /--budget must be a whole number of tokens from 1 to 144/);
    await assert.rejects(runAnalysis(req({ methods: ['nope'] }), {}, { worker }), /Unknown method "nope"/);
    const bad = await runAnalysis(req({ methods: ['gprune'], params: { gprune: { theta: 'x' } } }), {}, { worker });
    assert.equal(bad.analysis.results[0].status, 'error');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('provider choice runs once per worker; the cache keys on image bytes, question, model and params', async () => {
  const { dir, image, req } = setup();
  try {
    const worker = new FakeWorker();
    const cache = new AnalysisCache();
    const a = await runAnalysis(req(), {}, { worker, cache });
    const count = (k: string): number => worker.calls.filter((c) => c === k).length;
    assert.equal(count('backends'), 1);
    assert.equal(count('encode'), 1);
    // Same bytes under another name, same question: no encode, identical results from the cache.
    const copy = join(dir, 'copy.png');
    copyFileSync(image, copy);
    const b = await runAnalysis(req({ image: copy }), {}, { worker, cache });
    assert.equal(count('encode'), 1);
    assert.deepEqual(
      b.analysis.results.map((e) => (e.status === 'ok' ? e.keep : e.status)),
      a.analysis.results.map((e) => (e.status === 'ok' ? e.keep : e.status)),
    );
    const f3aTime = ok(a.analysis.results.find((e) => e.method === 'f3a')).time_ms;
    assert.equal(ok(b.analysis.results.find((e) => e.method === 'f3a')).time_ms, f3aTime, 'cached result keeps its original time');
    // Another question is another encoding; the provider is not chosen again.
    await runAnalysis(req({ question: 'where is the blue disc?' }), {}, { worker, cache });
    assert.equal(count('encode'), 2);
    assert.equal(count('backends'), 1);
    // Without a cache every analysis encodes.
    await runAnalysis(req(), {}, { worker });
    assert.equal(count('encode'), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the megapixel limit travels with the encode request; a cached encoding is checked against it too', async () => {
  const { dir, req } = setup();
  try {
    const worker = new FakeWorker();
    const cache = new AnalysisCache();
    await runAnalysis(req({ methods: ['gprune'] }), {}, { worker, cache });
    assert.equal(worker.encodes[0].limits, undefined, 'no setting: the decoder default');
    await runAnalysis(req({ methods: ['gprune'], question: 'another', maxMegapixels: 2 }), {}, { worker, cache });
    assert.deepEqual(worker.encodes[1].limits, { maxMegapixels: 2 });
    // The fake image is 40×30 = 0.0012 MP: over a 0.001 MP limit even when its encoding is cached.
    await assert.rejects(runAnalysis(req({ methods: ['gprune'], maxMegapixels: 0.001 }), {}, { worker, cache }), /img\.png is 40×30 \(0\.0 megapixels\), above the 0\.001-megapixel limit/);
    assert.equal(worker.encodes.length, 2);
    await assert.rejects(runAnalysis(req({ maxMegapixels: 0 }), {}, { worker }), /megapixel limit must be a positive number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rerunMethod re-runs one method at a new budget without encoding and updates the outcome', async () => {
  const { dir, req } = setup();
  try {
    const worker = new FakeWorker();
    const outcome = await runAnalysis(req({ methods: ['cdpruner', 'gprune'] }), {}, { worker });
    const encodes = worker.calls.length;
    const { entry } = rerunMethod(outcome, 'cdpruner', { budget: 40 });
    assert.equal(ok(entry).keep.length, 40);
    assert.equal(ok(entry).params.relevance_sign, 1, 'model defaults still apply');
    assert.equal(ok(outcome.analysis.results[0]).keep.length, 40);
    assert.equal(outcome.results.get('cdpruner')?.keep.length, 40);
    assert.equal(ok(outcome.analysis.results[1]).keep.length, 16, 'other methods untouched');
    assert.equal(worker.calls.length, encodes);
    assert.throws(() => rerunMethod(outcome, 'cdpruner', { budget: 0 }), /from 1 to 144/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an analysis is cancellable before, during the encode, and between methods', async () => {
  const { dir, req } = setup();
  try {
    const worker = new FakeWorker();
    await assert.rejects(runAnalysis(req(), { signal: AbortSignal.abort() }, { worker }), CancelledError);
    assert.equal(worker.calls.length, 0);

    let release = (): void => undefined;
    worker.hold = new Promise<void>((res) => (release = res));
    const ac = new AbortController();
    const pending = runAnalysis(req(), { signal: ac.signal, onProgress: (p) => p.stage === 'encode' && setTimeout(() => ac.abort(), 5) }, { worker });
    await assert.rejects(pending, CancelledError);
    release();
    worker.hold = null;

    const ac2 = new AbortController();
    const seen: string[] = [];
    const p2 = runAnalysis(
      req(),
      {
        signal: ac2.signal,
        onProgress: (p) => {
          if (p.stage !== 'method') return;
          seen.push(p.message);
          if (seen.length === 2) ac2.abort();
        },
      },
      { worker },
    );
    await assert.rejects(p2, CancelledError);
    assert.equal(seen.length, 2, 'no method starts after the abort');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, mulberry32 } from '../../models/onnx/builder.ts';
import { buildCombinedModel, buildVisionModel, type GenOptions, type VisionSpec, type Weights } from '../../models/testgen/clip.ts';
import { jointEmbeddings, visionReference, type VisionReference } from '../../models/testgen/reference.ts';
import { InputError } from '../../extension/core/errors.ts';
import { createSession, fullWidthClsAttention, headMeanKeys } from '../../extension/core/runtime/encoder.ts';
import { appendToModel, decodeModel, readModelFile } from '../../extension/core/runtime/onnx-graph.ts';
import { featureIndexFor, patchCount, planVisionSurgery, surgeryFetches, type VisionSurgery } from '../../extension/core/runtime/surgery.ts';
import { maxAbsDiff } from '../helpers/arrays.ts';

// Surgery is checked against a plain-JS forward pass of the same weights (models/testgen/reference.ts),
// which knows by construction which tensor is which layer's residual / attention / keys.

const TOL = 2e-4;

function pixelsFor(v: VisionSpec, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: 3 * v.imageSize * v.imageSize }, () => r() * 4 - 2);
}

interface Run {
  surgery: VisionSurgery;
  out: Record<string, { dims: readonly number[]; data: Float32Array }>;
  original: Float32Array;
  ref: VisionReference;
}

async function runSurgery(bytes: Uint8Array, v: VisionSpec, weights: Weights, featureLayer: number, combined: boolean, level: 'all' | 'disabled' = 'all'): Promise<Run> {
  const ort = await import('onnxruntime-node');
  const surgery = planVisionSurgery(decodeModel(bytes, 'test graph'), { featureLayer });
  const session = await createSession(appendToModel(bytes, surgery.additions), { graphOptimizationLevel: level });
  const px = pixelsFor(v, 7);
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { pixel_values: new ort.Tensor('float32', px, [1, 3, v.imageSize, v.imageSize]) };
  if (combined) {
    feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from([49406n, 320n, 49407n]), [1, 3]);
    feeds.attention_mask = new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n]), [1, 3]);
  }
  const res = await session.run(feeds, [...surgeryFetches(surgery), 'image_embeds']);
  await session.release();
  const out: Run['out'] = {};
  for (const [k, t] of Object.entries(res)) out[k] = { dims: t.dims, data: t.data as Float32Array };
  return { surgery, out, original: out.image_embeds.data, ref: visionReference(weights, v, px) };
}

/** Compare every surgery output with the reference for the expected encoder layer. */
function checkAgainstReference(r: Run, v: VisionSpec, weights: Weights, expectedIndex: number, normalisedJoint: boolean, tol = TOL): void {
  const { ref, surgery, out } = r;
  const t = ref.tokens;
  const n = t - 1;
  const w = v.width;
  const o = surgery.outputs;
  assert.equal(surgery.layers, v.layers);
  assert.equal(surgery.featureIndex, expectedIndex);
  // Features = hidden_states[index + 1] without [CLS].
  const feats = out[o.features];
  assert.deepEqual([...feats.dims], [1, n, w]);
  assert.ok(maxAbsDiff(feats.data, ref.hidden[expectedIndex + 1].subarray(w)) < tol, 'features');
  // [CLS] attention rows of the feature layer and of the last layer, all heads.
  for (const [name, layer] of [[o.clsAttn, expectedIndex], [o.clsAttnLast, v.layers - 1]] as const) {
    const got = out[name];
    assert.deepEqual([...got.dims], [1, v.heads, 1, t]);
    const want: number[] = [];
    for (let h = 0; h < v.heads; h++) for (let j = 0; j < t; j++) want.push(ref.layers[layer].attn[h * t * t + j]);
    assert.ok(maxAbsDiff(got.data, want) < tol, `cls attention of layer ${layer}`);
  }
  // Keys of the feature layer; head-mean per Errata 1 ([N, head_dim]).
  assert.ok(maxAbsDiff(out[o.keys].data, ref.layers[expectedIndex].k) < tol, 'k_proj');
  const hm = headMeanKeys(out[o.keys].data, t, w, v.heads);
  const hd = w / v.heads;
  assert.equal(hm.length, n * hd);
  const refK = ref.layers[expectedIndex].k;
  for (const [i, j] of [[0, 0], [n - 1, hd - 1], [3, 1]]) {
    let s = 0;
    for (let h = 0; h < v.heads; h++) s += refK[(i + 1) * w + h * hd + j];
    assert.ok(Math.abs(hm[i * hd + j] - s / v.heads) < tol, `head-mean key ${i},${j}`);
  }
  // Last layer q/k (PruMerge), unscaled q_proj output.
  const last = ref.layers[v.layers - 1];
  assert.ok(maxAbsDiff(out[o.lastQuery].data, last.q) < tol, 'last q_proj');
  assert.ok(maxAbsDiff(out[o.lastKeys].data, last.k) < tol, 'last k_proj');
  // Joint embeddings: post_layernorm → visual_projection on the feature-layer patches.
  assert.ok(o.imageJoint);
  const joint = jointEmbeddings(weights, v, ref.hidden[expectedIndex + 1].subarray(w), n);
  if (normalisedJoint) {
    for (let i = 0; i < n; i++) {
      const row = joint.subarray(i * v.projection, (i + 1) * v.projection);
      const norm = Math.hypot(...row);
      for (let j = 0; j < row.length; j++) row[j] /= norm;
    }
  }
  assert.deepEqual([...out[o.imageJoint].dims], [1, n, v.projection]);
  assert.ok(maxAbsDiff(out[o.imageJoint].data, joint) < tol, 'image_joint');
}

test('surgery finds the right tensors in a CLIP vision export (fused LayerNorm, q scaled after q_proj)', async () => {
  const m = buildVisionModel();
  const r = await runSurgery(m.bytes, m.spec, m.weights, -2, false);
  checkAgainstReference(r, m.spec, m.weights, m.spec.layers - 2, false);
  // Found by structure, and they are the tensors a torch export names this way.
  assert.equal(r.surgery.outputs.keys, '/vision_model/encoder/layers.1/self_attn/k_proj/Add_output_0');
  assert.deepEqual(
    r.surgery.sites.map((s) => s.probs),
    [0, 1, 2].map((i) => `/vision_model/encoder/layers.${i}/self_attn/Softmax_output_0`),
  );
  // The original output is untouched by the appended nodes.
  assert.ok(maxAbsDiff(r.original, r.ref.imageEmbeds) < TOL);
});

test('surgery works on opset-14 style exports (decomposed LayerNorm, SDPA scaling from shapes, no last_hidden_state)', async () => {
  const opts: Partial<GenOptions> = { layerNorm: 'decomposed', attnScale: 'sdpa', lastHiddenState: false, seed: 99 };
  const spec: Partial<VisionSpec> = { imageSize: 48, patchSize: 16, width: 24, heads: 3, layers: 4 };
  const m = buildVisionModel(spec, opts);
  const r = await runSurgery(m.bytes, m.spec, m.weights, -2, false);
  checkAgainstReference(r, m.spec, m.weights, 2, false);
});

test('surgery on a combined CLIPModel ignores the text tower and keeps the normalised image path', async () => {
  const m = buildCombinedModel({}, { layers: 2 });
  const r = await runSurgery(m.bytes, m.vision, m.weights, -2, true);
  // Only the vision tower's attention counts (the text tower has its own Softmax nodes).
  assert.ok(r.surgery.sites.every((s) => s.probs.startsWith('/vision_model/')));
  checkAgainstReference(r, m.vision, m.weights, m.vision.layers - 2, true);
});

test('featureLayer follows LLaVA select_layer over hidden_states', async () => {
  const m = buildVisionModel({ layers: 4 }, { seed: 5 });
  for (const [layer, index] of [[-1, 3], [-2, 2], [-4, 0], [1, 0], [3, 2], [4, 3]] as const) {
    assert.equal(featureIndexFor(layer, 4), index);
  }
  for (const layer of [-1, -3, 2]) {
    const r = await runSurgery(m.bytes, m.spec, m.weights, layer, false);
    checkAgainstReference(r, m.spec, m.weights, featureIndexFor(layer, 4), false);
  }
  for (const bad of [0, -5, 5, 1.5]) {
    assert.throws(() => planVisionSurgery(decodeModel(m.bytes, 'g'), { featureLayer: bad }), (e: unknown) => e instanceof InputError && /featureLayer/.test(e.message));
  }
});

test('surgery outputs survive full graph optimisation (same values as with optimisation disabled)', async () => {
  const m = buildVisionModel({}, { seed: 11 });
  const a = await runSurgery(m.bytes, m.spec, m.weights, -2, false, 'all');
  const b = await runSurgery(m.bytes, m.spec, m.weights, -2, false, 'disabled');
  for (const name of surgeryFetches(a.surgery)) assert.ok(maxAbsDiff(a.out[name].data, b.out[name].data) < 1e-5, name);
});

test('a graph without attention gives a clear error', () => {
  const b = new GraphBuilder('no_attention');
  const px = b.input('pixel_values', 'float32', [1, 3, 16, 16]);
  const w = b.constF('w', [8, 3, 8, 8], new Float32Array(8 * 3 * 64).fill(0.01));
  b.op1('Conv', [px, w], { kernel_shape: [8, 8], strides: [8, 8] }, 'y');
  b.output('y', 'float32', [1, 8, 2, 2]);
  const model = decodeModel(b.build(), 'tiny');
  assert.throws(() => planVisionSurgery(model), (e: unknown) => e instanceof InputError && /no self-attention Softmax/.test(e.message));
  assert.throws(() => planVisionSurgery(model, { pixelInput: 'images' }), (e: unknown) => e instanceof InputError && /no input "images"/.test(e.message));
});

test('PruMerge attention helper: softmax over all tokens of q_cls·k/√W, patches only', () => {
  const width = 4;
  const q = Float32Array.from([1, 0, 2, 0]);
  const k = Float32Array.from([1, 1, 1, 1, 0, 0, 1, 0, 2, 0, 0, 0]);
  const got = fullWidthClsAttention(q, k, 3, width);
  const logits = [3 / 2, 2 / 2, 2 / 2];
  const z = logits.reduce((s, x) => s + Math.exp(x), 0);
  assert.ok(maxAbsDiff(got, [Math.exp(1) / z, Math.exp(1) / z]) < 1e-6);
});

test('surgery tail is appended in the spare room of a model file without copying the weights', async () => {
  const m = buildVisionModel({}, { seed: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-surgery-'));
  try {
    writeFileSync(join(dir, 'v.onnx'), m.bytes);
    const bytes = readModelFile(join(dir, 'v.onnx'));
    assert.deepEqual(bytes, Uint8Array.from(m.bytes));
    const s = planVisionSurgery(decodeModel(bytes, 'v'));
    const inPlace = appendToModel(bytes, s.additions, true);
    const copied = appendToModel(m.bytes, s.additions);
    assert.equal(inPlace.buffer, bytes.buffer, 'same buffer: no copy');
    assert.notEqual(copied.buffer, m.bytes.buffer);
    assert.deepEqual(inPlace, copied);
    const session = await createSession(inPlace);
    assert.ok(session.outputNames.includes(s.outputs.features));
    await session.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a SigLIP-style tower (patch tokens only, mean-pooled) keeps every token and offers no [CLS] attention', async () => {
  const ort = await import('onnxruntime-node');
  const m = buildVisionModel({ layers: 3 }, { classToken: false, seed: 17 });
  const clip = planVisionSurgery(decodeModel(buildVisionModel().bytes, 'clip'));
  assert.equal(clip.classToken, true);
  const surgery = planVisionSurgery(decodeModel(m.bytes, 'siglip-like'), { featureLayer: -1 });
  assert.equal(surgery.classToken, false);
  assert.equal(surgery.layers, 3);
  assert.equal(surgery.outputs.imageJoint, null);
  assert.ok(surgery.notes.some((note) => /No \[CLS\] token/.test(note)));
  const session = await createSession(appendToModel(m.bytes, surgery.additions));
  const v = m.spec;
  const px = pixelsFor(v, 3);
  const res = await session.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, v.imageSize, v.imageSize]) }, [...surgeryFetches(surgery), 'last_hidden_state']);
  await session.release();
  const tokens = (v.imageSize / v.patchSize) ** 2;
  // select_layer −1 is the last layer's output: every one of its tokens, none dropped as [CLS].
  const feats = res[surgery.outputs.features];
  assert.deepEqual([...feats.dims], [1, tokens, v.width]);
  assert.deepEqual([...(feats.data as Float32Array)], [...(res.last_hidden_state.data as Float32Array)]);
  // The attention row fetched for the head count spans all tokens (no [CLS] column to skip).
  assert.equal(res[surgery.outputs.clsAttn].dims.at(-1), tokens);
  // Head-mean keys keep every token when nothing precedes the patches.
  const k = res[surgery.outputs.keys].data as Float32Array;
  const hd = v.width / v.heads;
  const keys = headMeanKeys(k, tokens, v.width, v.heads, 0);
  assert.equal(keys.length, tokens * hd);
  let first = 0;
  for (let h = 0; h < v.heads; h++) first += k[h * hd];
  assert.ok(Math.abs(keys[0] - first / v.heads) < 1e-6);
});

test('a dynamically quantized export (DynamicQuantizeLinear + MatMulInteger projections) gets the same surgery', async () => {
  const float = buildVisionModel({}, { seed: 21 });
  const quant = buildVisionModel({}, { seed: 21, quantize: 'dynamic' });
  const rf = planVisionSurgery(decodeModel(float.bytes, 'float'));
  const r = await runSurgery(quant.bytes, quant.spec, quant.weights, -2, false);
  assert.deepEqual(r.surgery.sites.map((s) => s.probs), rf.sites.map((s) => s.probs));
  assert.equal(r.surgery.outputs.keys, rf.outputs.keys);
  // The reference runs the dequantized weights in float: what is left is the activations' uint8 rounding.
  checkAgainstReference(r, quant.spec, quant.weights, quant.spec.layers - 2, false, 0.08);
});

test('surgery records the patch embedding Conv; its grid leaves register tokens as the only extra rows', async () => {
  const plain = planVisionSurgery(decodeModel(buildVisionModel().bytes, 'clip'));
  assert.deepEqual(plain.patchConv, { kernel: [8, 8], strides: [8, 8], pads: [0, 0, 0, 0] });
  const m = buildVisionModel({ layers: 3 }, { registers: 3, seed: 5 });
  const r = await runSurgery(m.bytes, m.spec, m.weights, -1, false);
  assert.equal(r.surgery.classToken, true);
  assert.deepEqual(r.surgery.patchConv, plain.patchConv);
  // The graph's feature rows are [registers, patches] (after [CLS]), as in the reference forward pass.
  const v = m.spec;
  const rows = r.out[r.surgery.outputs.features].dims[1];
  assert.equal(r.ref.registers, 3);
  assert.equal(rows - patchCount(r.surgery.patchConv ?? assert.fail('no Conv geometry'), v.imageSize, v.imageSize), 3);
  assert.ok(maxAbsDiff(r.out[r.surgery.outputs.features].data, r.ref.hidden[v.layers].subarray(v.width)) < TOL);
  // Padding and stride count as onnx Conv does: floor((size + pads − kernel) / stride) + 1 per axis.
  assert.equal(patchCount({ kernel: [14, 14], strides: [14, 14], pads: [0, 0, 0, 0] }, 336, 336), 576);
  assert.equal(patchCount({ kernel: [16, 16], strides: [8, 8], pads: [1, 0, 1, 0] }, 64, 48), 7 * 5);
});

test('a learned block of several tokens is registers, not [CLS]: a timm tower with class_token=False has no [CLS]', async () => {
  const ort = await import('onnxruntime-node');
  const m = buildVisionModel({ layers: 3 }, { classToken: false, registers: 2, seed: 9 });
  const surgery = planVisionSurgery(decodeModel(m.bytes, 'timm-like'), { featureLayer: -1 });
  assert.equal(surgery.classToken, false);
  assert.ok(surgery.notes.some((note) => /No \[CLS\] token .*register tokens only/.test(note)));
  const session = await createSession(appendToModel(m.bytes, surgery.additions));
  const v = m.spec;
  const res = await session.run({ pixel_values: new ort.Tensor('float32', pixelsFor(v, 4), [1, 3, v.imageSize, v.imageSize]) }, [...surgeryFetches(surgery), 'last_hidden_state']);
  await session.release();
  // Nothing is cut as [CLS]: the rows are [registers, patches], and the Conv grid says how many are registers.
  const feats = res[surgery.outputs.features];
  assert.deepEqual([...(feats.data as Float32Array)], [...(res.last_hidden_state.data as Float32Array)]);
  assert.equal(feats.dims[1] - patchCount(surgery.patchConv ?? assert.fail('no Conv geometry'), v.imageSize, v.imageSize), 2);
  // One learned token cannot be told from a class token by its shape: a single register counts as [CLS].
  assert.equal(planVisionSurgery(decodeModel(buildVisionModel({}, { classToken: false, registers: 1 }).bytes, 'one register')).classToken, true);
});

test('a QDQ export (quantize_static: int8 weights, QuantizeLinear/DequantizeLinear on every MatMul input) gets the same surgery', async () => {
  const float = buildVisionModel({}, { seed: 21 });
  const qdq = buildVisionModel({}, { seed: 21, quantize: 'qdq' });
  const rf = planVisionSurgery(decodeModel(float.bytes, 'float'));
  const r = await runSurgery(qdq.bytes, qdq.spec, qdq.weights, -2, false);
  // Keys and queries are the projections' outputs, not the rounded head-split copies the attention reads.
  assert.deepEqual(r.surgery.outputs, rf.outputs);
  assert.deepEqual(r.surgery.sites.map((s) => s.probs), rf.sites.map((s) => s.probs));
  // Static int8 activations (±8 in 255 steps) round more than dynamic ones: 0.22 here, against ≥ 2.3 for
  // the features of any other layer.
  checkAgainstReference(r, qdq.spec, qdq.weights, qdq.spec.layers - 2, false, 0.3);
});

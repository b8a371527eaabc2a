// In-process encoder: model files → (surgery) → onnxruntime sessions → TokenBundle arrays.
// onnxruntime-node is imported lazily so resolving and preparing a model never loads the native library.
import { basename, dirname } from 'node:path';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Tensor } from '../bundle/tensor.ts';
import type { BundleMeta, TokenBundle, WeightsKind } from '../bundle/types.ts';
import { makeBundle } from '../bundle/validate.ts';
import { InputError } from '../errors.ts';
import { decodeImage, loadPreprocessorConfig, preprocess, type DecodeLimits } from './image/index.ts';
import type { ResolvedModel } from './model-folder.ts';
import { WEIGHTS_KIND_KEY, appendToModel, decodeModel, metadataValue, readModelFile, usesExternalData } from './onnx-graph.ts';
import { patchCount, planVisionSurgery, surgeryFetches, type VisionSurgery } from './surgery.ts';
import { loadTokenizer } from './tokenizer.ts';

export type SessionOptions = InferenceSession.SessionOptions;

/** LLaVA's select_layer: the penultimate layer's patch tokens. */
export const DEFAULT_FEATURE_LAYER = -2;

export const WEIGHTS_LABELS: Record<WeightsKind, string> = {
  real: 'real weights',
  probe: 'PruneLens probe (meaningful by construction)',
  'random-test': 'random test weights',
  synthetic: 'synthetic',
  unknown: 'unknown weights',
};

/** A graph ready for a session: its (possibly edited) bytes, input name and the outputs to fetch. */
export interface PreparedGraph {
  bytes: Uint8Array;
  path: string;
  input: string;
  fetches: string[];
}

export interface PreparedModel {
  model: ResolvedModel;
  weightsKind: WeightsKind;
  vision: PreparedGraph;
  /** Null when surgery was skipped (the manifest lists outputs). */
  surgery: VisionSurgery | null;
  /** A separate text tower; null when there is none or it lives in the vision graph (combined model). */
  text: PreparedGraph | null;
  combined: boolean;
  /** Output name of the pooled text embedding, when the model has a text tower. */
  textOutput: string | null;
  /** select_layer the arrays come from; null when the manifest's outputs have no layer stack. */
  featureLayer: number | null;
  /** Choices worth showing: file variants picked, surgery limits, options that did not apply. */
  notes: string[];
  timings: { readMs: number; surgeryMs: number };
}

/** Read the model's ONNX file(s) and, unless the manifest lists outputs, plan and apply the graph surgery. */
export function prepareModel(model: ResolvedModel, options: { featureLayer?: number } = {}): PreparedModel {
  const t0 = performance.now();
  const visionBytes = readModelFile(model.vision.path);
  const combined = model.text !== null && model.text.path === model.vision.path;
  const textBytes = model.text && !combined ? readModelFile(model.text.path) : null;
  const t1 = performance.now();
  const proto = decodeModel(visionBytes, model.vision.path);
  if (usesExternalData(proto)) {
    throw new InputError(`${model.vision.path} keeps its weights in a separate external-data file, which PruneLens cannot load yet; use a single-file export.`);
  }
  const marked = metadataValue(proto, WEIGHTS_KIND_KEY);
  const weightsKind = marked && marked in WEIGHTS_LABELS ? (marked as WeightsKind) : model.weightsKind;
  const featureLayer = options.featureLayer ?? model.featureLayer ?? DEFAULT_FEATURE_LAYER;
  // A manifest names its text outputs; an HF export's pooled text output is `text_embeds`.
  const textOutput = !model.text ? null : model.outputs ? (model.outputs.textEmbeds ?? null) : 'text_embeds';

  let surgery: VisionSurgery | null = null;
  let vision: PreparedGraph;
  if (model.outputs) {
    const o = model.outputs;
    const fetches = [o.features, o.clsAttn, o.keys, o.imageJoint].filter((x): x is string => typeof x === 'string');
    if (!o.features) throw new InputError(`The manifest of ${model.id} lists outputs but no "features" output.`);
    vision = { bytes: visionBytes, path: model.vision.path, input: model.vision.input, fetches };
  } else {
    surgery = planVisionSurgery(proto, { pixelInput: model.vision.input, featureLayer });
    vision = { bytes: appendToModel(visionBytes, surgery.additions, true), path: model.vision.path, input: model.vision.input, fetches: surgeryFetches(surgery) };
  }
  const t2 = performance.now();
  let text: PreparedGraph | null = null;
  const textFetches = [textOutput, model.outputs?.cue].filter((x): x is string => typeof x === 'string');
  if (model.text && textBytes && textFetches.length > 0) {
    text = { bytes: textBytes, path: model.text.path, input: model.text.input, fetches: textFetches };
  }
  const layer = surgery ? featureLayer : model.featureLayer;
  const notes = [...model.notes, ...(surgery?.notes ?? [])];
  if (!surgery && options.featureLayer !== undefined && options.featureLayer !== model.featureLayer) {
    notes.push(`Feature layer ${options.featureLayer} was not applied: the manifest of ${model.id} fixes its outputs.`);
  }
  return { model, weightsKind, vision, surgery, text, combined, textOutput, featureLayer: layer, notes, timings: { readMs: t1 - t0, surgeryMs: t2 - t1 } };
}

/** One onnxruntime session from bytes; options carry executionProviders / intraOpNumThreads. */
export async function createSession(modelBytes: Uint8Array, options: SessionOptions = {}): Promise<InferenceSession> {
  const ort = await import('onnxruntime-node');
  return ort.InferenceSession.create(modelBytes, { graphOptimizationLevel: 'all', ...options });
}

export interface Encoder {
  prepared: PreparedModel;
  vision: InferenceSession;
  /** Created on the first question (question-agnostic runs never pay for the text tower). */
  text: InferenceSession | null;
  options: SessionOptions;
  /** Provider names as requested in the session options (the caller knows which one actually ran). */
  provider: string;
  threads: number;
  createMs: number;
}

function providerName(options: SessionOptions): string {
  const ep = options.executionProviders?.[0];
  if (!ep) return 'cpu';
  return typeof ep === 'string' ? ep : ep.name;
}

export async function openEncoder(prepared: PreparedModel, options: SessionOptions = {}): Promise<Encoder> {
  const t0 = performance.now();
  const vision = await createSession(prepared.vision.bytes, options);
  return { prepared, vision, text: null, options, provider: providerName(options), threads: options.intraOpNumThreads ?? 0, createMs: performance.now() - t0 };
}

export async function closeEncoder(enc: Encoder): Promise<void> {
  await enc.vision.release();
  if (enc.text) await enc.text.release();
}

/** A plain output tensor (what ORT returns, or what a worker sends back). */
export interface RawOutput {
  dims: readonly number[];
  data: Float32Array;
}

function f32(name: string, t: OrtTensor | undefined): RawOutput {
  if (!t) throw new InputError(`The model produced no output "${name}".`);
  if (t.type !== 'float32') throw new InputError(`Model output "${name}" is ${t.type}; PruneLens expects float32.`);
  return { dims: t.dims, data: t.data as Float32Array };
}

function requireOutputs(session: InferenceSession, names: readonly string[], path: string): void {
  const missing = names.filter((n) => !session.outputNames.includes(n));
  if (missing.length > 0) throw new InputError(`${path} has no output "${missing[0]}" (its outputs: ${session.outputNames.join(', ')}).`);
}

const int64 = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values.map((v) => BigInt(v)));

export interface EncodedTensors {
  arrays: Map<string, Tensor>;
  /** Provenance facts for BundleMeta.extra. */
  info: Record<string, string>;
  runMs: number;
  postMs: number;
}

/**
 * Run the prepared sessions on a pixel tensor [1,3,H,W] and optional token ids; returns the bundle
 * arrays. A combined model needs ids even for a question-agnostic run: a one-token placeholder is fed
 * and its text output ignored.
 */
export async function encodeTensors(enc: Encoder, pixels: { data: Float32Array; shape: readonly number[] }, ids: readonly number[] | null): Promise<EncodedTensors> {
  const ort = await import('onnxruntime-node');
  const p = enc.prepared;
  const outputs = new Map<string, RawOutput>();
  const feeds: Record<string, OrtTensor> = { [p.vision.input]: new ort.Tensor('float32', pixels.data, [...pixels.shape]) };
  const textInputs: Record<string, OrtTensor> = {};
  const fetches = [...p.vision.fetches];
  // Token ids [1,M] int64, plus an all-ones attention_mask where the graph takes one.
  const addIds = (target: Record<string, OrtTensor>, session: InferenceSession, input: string, tokens: readonly number[]): void => {
    target[input] = new ort.Tensor('int64', int64(tokens), [1, tokens.length]);
    if (session.inputNames.includes('attention_mask')) target.attention_mask = new ort.Tensor('int64', int64(tokens.map(() => 1)), [1, tokens.length]);
  };
  const model = p.model;
  if (p.combined && model.text) {
    addIds(feeds, enc.vision, model.text.input, ids ?? [0]);
    if (ids && p.textOutput) fetches.push(p.textOutput);
    if (ids && model.outputs?.cue) fetches.push(model.outputs.cue);
  }
  let runMs = 0;
  requireOutputs(enc.vision, fetches, p.vision.path);
  const t0 = performance.now();
  const out = await enc.vision.run(feeds, [...new Set(fetches)]);
  runMs += performance.now() - t0;
  for (const name of new Set(fetches)) outputs.set(name, f32(name, out[name]));
  if (p.text && model.text && ids) {
    if (!enc.text) {
      const c0 = performance.now();
      enc.text = await createSession(p.text.bytes, enc.options);
      enc.createMs += performance.now() - c0;
    }
    addIds(textInputs, enc.text, model.text.input, ids);
    requireOutputs(enc.text, p.text.fetches, p.text.path);
    const r0 = performance.now();
    const tout = await enc.text.run(textInputs, p.text.fetches);
    runMs += performance.now() - r0;
    for (const name of p.text.fetches) outputs.set(name, f32(name, tout[name]));
  }
  const t1 = performance.now();
  const result = assembleArrays(p, outputs, pixels.shape, ids !== null);
  return { ...result, runMs, postMs: performance.now() - t1 };
}

// ---- post-processing (pure) ----

function dropBatch(name: string, t: RawOutput, rank: number): RawOutput {
  if (t.dims.length === rank + 1) {
    if (t.dims[0] !== 1) throw new InputError(`Model output "${name}" has batch size ${t.dims[0]}; expected 1.`);
    return { dims: t.dims.slice(1), data: t.data };
  }
  if (t.dims.length !== rank) throw new InputError(`Model output "${name}" has shape [${t.dims.join(',')}]; expected rank ${rank} (+ batch).`);
  return t;
}

const tensor = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });

/** Row 0 of an attention output ([b,H,1,T] or [b·H,1,T], batch 1) → per head its weights on the tokens after the first `prefix`. */
function clsRow(t: RawOutput, prefix: number): { heads: number; data: Float32Array; tokens: number } {
  const total = t.dims[t.dims.length - 1];
  const heads = t.data.length / total;
  const n = total - prefix;
  const data = new Float32Array(heads * n);
  for (let h = 0; h < heads; h++) data.set(t.data.subarray(h * total + prefix, (h + 1) * total), h * n);
  return { heads, data, tokens: n };
}

/** k_proj output [T,W] → head-mean keys of the patches [N, W/H] (VisionZip's metric, Errata 1), after `prefix` tokens. */
export function headMeanKeys(k: Float32Array, tokens: number, width: number, heads: number, prefix = 1): Float32Array {
  if (width % heads !== 0) throw new InputError(`Key width ${width} is not divisible by ${heads} heads.`);
  const hd = width / heads;
  const n = tokens - prefix;
  const out = new Float32Array(n * hd);
  for (let i = 0; i < n; i++) {
    const row = (i + prefix) * width;
    for (let j = 0; j < hd; j++) {
      let s = 0;
      for (let h = 0; h < heads; h++) s += k[row + h * hd + j];
      out[i * hd + j] = s / heads;
    }
  }
  return out;
}

/**
 * PruMerge's attention: one head over the full width, softmax(q_cls · kᵀ / √W) over all T keys,
 * restricted to the patches. (LLaVA-PruMerge recomputes it from the last layer's q/k projections.)
 */
export function fullWidthClsAttention(q: Float32Array, k: Float32Array, tokens: number, width: number, prefix = 1): Float32Array {
  const logits = new Float64Array(tokens);
  const scale = 1 / Math.sqrt(width);
  let max = -Infinity;
  for (let j = 0; j < tokens; j++) {
    let s = 0;
    for (let c = 0; c < width; c++) s += q[c] * k[j * width + c];
    logits[j] = s * scale;
    if (logits[j] > max) max = logits[j];
  }
  let z = 0;
  for (let j = 0; j < tokens; j++) {
    logits[j] = Math.exp(logits[j] - max);
    z += logits[j];
  }
  const out = new Float32Array(tokens - prefix);
  for (let j = prefix; j < tokens; j++) out[j - prefix] = logits[j] / z;
  return out;
}

/**
 * Tokens besides [CLS] that are not patches (register tokens, after [CLS] in DINOv2, first in a timm tower
 * without [CLS]): the surgery's feature rows minus the patch grid the embedding's Conv cuts from this image.
 * 0 without a known Conv geometry.
 */
function registerTokens(s: VisionSurgery, rows: number, pixelShape: readonly number[]): number {
  if (!s.patchConv) return 0;
  const [height, width] = pixelShape.slice(-2);
  // Fewer rows than the Conv's grid means the graph merges tokens itself: nothing to drop then (the grid
  // check downstream reports a token count that does not fit the image).
  return Math.max(0, rows - patchCount(s.patchConv, height, width));
}

function nonZeroRows(data: Float32Array, cols: number): { rows: number; data: Float32Array } {
  const keep: number[] = [];
  for (let i = 0; i < data.length / cols; i++) if (data.subarray(i * cols, (i + 1) * cols).some((x) => x !== 0)) keep.push(i);
  const out = new Float32Array(keep.length * cols);
  keep.forEach((r, i) => out.set(data.subarray(r * cols, (r + 1) * cols), i * cols));
  return { rows: keep.length, data: out };
}

/** (h, w) of the patch grid from the pixel tensor's size and the token count; null when it is not a grid. */
export function patchGrid(pixelShape: readonly number[], n: number): [number, number] | null {
  const [height, width] = pixelShape.slice(-2);
  const patch = Math.sqrt((height * width) / n);
  const h = height / patch;
  const w = width / patch;
  const hi = Math.round(h);
  const wi = Math.round(w);
  if (Math.abs(h - hi) > 1e-6 || Math.abs(w - wi) > 1e-6 || hi * wi !== n) {
    const side = Math.round(Math.sqrt(n));
    return side * side === n ? [side, side] : null;
  }
  return [hi, wi];
}

function layerLabel(index: number, layers: number, featureLayer: number): string {
  return `encoder layer ${index} of 0..${layers - 1} (select_layer ${featureLayer})`;
}

/** Fetched outputs → bundle arrays + provenance facts. */
export function assembleArrays(p: PreparedModel, out: ReadonlyMap<string, RawOutput>, pixelShape: readonly number[], withText: boolean): Omit<EncodedTensors, 'runMs' | 'postMs'> {
  const arrays = new Map<string, Tensor>();
  const info: Record<string, string> = {};
  const get = (name: string): RawOutput => {
    const t = out.get(name);
    if (!t) throw new InputError(`The model produced no output "${name}".`);
    return t;
  };
  let n: number;
  if (p.surgery) {
    const s = p.surgery;
    const o = s.outputs;
    const feats = dropBatch(o.features, get(o.features), 2);
    const [tokens, width] = feats.dims;
    const registers = registerTokens(s, tokens, pixelShape);
    n = tokens - registers;
    arrays.set('features', tensor([n, width], registers > 0 ? feats.data.slice(registers * width) : feats.data));
    if (registers > 0 && s.classToken) {
      // A one-token learned input counts as [CLS]; a tower with a single register and no [CLS] would look the same.
      const cls = o.imageJoint ? 'token 0 is [CLS] (the graph pools it)' : 'token 0 is a one-token learned input, taken as [CLS]; the graph does not pool it, so if the tower has a single register and no class token, the [CLS] attention is that register\'s';
      info.registers = `${registers} register tokens after token 0 (DINOv2-style) are not patches: left out of every array; ${cls}`;
    } else if (registers > 0) info.registers = `${registers} register tokens before the patches (a tower without [CLS], timm class_token=False): left out of every array`;
    // Tokens before the first patch in the attention and key rows: [CLS], then any registers.
    const prefix = (s.classToken ? 1 : 0) + registers;
    const cls = clsRow(get(o.clsAttn), prefix);
    const clsLast = clsRow(get(o.clsAttnLast), prefix);
    if (cls.tokens !== n || clsLast.tokens !== n) throw new InputError(`Attention covers ${cls.tokens} patches but the features have ${n}.`);
    const k = dropBatch(o.keys, get(o.keys), 2);
    const [kt, kw] = k.dims;
    arrays.set('keys', tensor([n, kw / cls.heads], headMeanKeys(k.data, kt, kw, cls.heads, prefix)));
    const featureLabel = layerLabel(s.featureIndex, s.layers, s.featureLayer);
    info.keys = `head-mean of k_proj, ${featureLabel}`;
    if (s.classToken) {
      info.cls_attn_layer = featureLabel;
      arrays.set('cls_attn', tensor([cls.heads, n], cls.data));
      arrays.set('cls_attn_last', tensor([clsLast.heads, n], clsLast.data));
      const q = dropBatch(o.lastQuery, get(o.lastQuery), 2);
      const kl = dropBatch(o.lastKeys, get(o.lastKeys), 2);
      const [lt, lw] = kl.dims;
      arrays.set('pm_cls_attn', tensor([n], fullWidthClsAttention(q.data, kl.data, lt, lw, prefix)));
      arrays.set('pm_keys', tensor([n, lw], kl.data.slice(prefix * lw)));
      info.cls_attn_last_layer = layerLabel(s.layers - 1, s.layers, -1);
      info.pm_cls_attn = `single-head full-width [CLS] attention recomputed from q_proj/k_proj of ${info.cls_attn_last_layer} (PruMerge); pm_keys = that layer's k_proj`;
    } else {
      info.keys = `${info.keys} (every patch token: the tower has no [CLS])`;
      info.cls_attn = `not available: the tower has no [CLS] token (${registers > 0 ? 'registers only' : 'SigLIP-style'})`;
    }
    if (o.imageJoint) {
      const j = dropBatch(o.imageJoint, get(o.imageJoint), 2);
      arrays.set('image_joint', tensor([j.dims[0] - registers, j.dims[1]], j.data.slice(registers * j.dims[1])));
    }
    info.image_joint = o.imageJoint ? 'feature-layer patches through the graph\'s own post_layernorm → projection path' : 'not available';
    info.encoder_layers = String(s.layers);
    info.surgery = 'graph surgery (tensors found by walking the graph)';
  } else {
    const o = p.model.outputs ?? {};
    const feats = dropBatch(o.features ?? '', get(o.features ?? ''), 2);
    n = feats.dims[0];
    arrays.set('features', tensor([n, feats.dims[1]], feats.data));
    if (o.clsAttn) {
      const c = get(o.clsAttn);
      const rank = c.dims.length === 3 || (c.dims.length === 2 && c.dims[0] !== 1) ? 2 : 1;
      const t = dropBatch(o.clsAttn, c, rank);
      arrays.set('cls_attn', tensor([...t.dims], t.data));
    }
    for (const [role, name] of [['keys', o.keys], ['image_joint', o.imageJoint]] as const) {
      if (!name) continue;
      const t = dropBatch(name, get(name), 2);
      arrays.set(role, tensor([...t.dims], t.data));
    }
    if (withText && o.cue) {
      const t = dropBatch(o.cue, get(o.cue), 2);
      const kept = nonZeroRows(t.data, t.dims[1]);
      // An all-zero cue row (special tokens, words without meaning) has no direction to match.
      if (kept.rows > 0) arrays.set('cue', tensor([kept.rows, t.dims[1]], kept.data));
      if (kept.rows < t.dims[0]) info.cue = `${t.dims[0] - kept.rows} of ${t.dims[0]} cue rows were all zero and dropped`;
    }
    info.surgery = 'none (outputs listed in the manifest)';
  }
  if (withText && p.textOutput) {
    const t = get(p.textOutput);
    if (t.data.length === 0 || t.dims[t.dims.length - 1] === 0) throw new InputError(`Text output "${p.textOutput}" is empty.`);
    const dt = t.dims[t.dims.length - 1];
    arrays.set('text', tensor([t.data.length / dt, dt], t.data));
  }
  const grid = patchGrid(pixelShape, n);
  if (grid) arrays.set('grid', { dtype: 'int32', shape: [2], data: Int32Array.from(grid) });
  else info.grid = `${n} tokens do not form a grid for a ${pixelShape.slice(-2).join('×')} image`;
  return { arrays, info };
}

// ---- image + question → TokenBundle ----

export interface EncodeRequest {
  image: string;
  /** Empty or whitespace-only = question-agnostic analysis. */
  question?: string;
  limits?: DecodeLimits;
}

export interface EncodeResult {
  bundle: TokenBundle;
  /** Sentences to show the user (truncation, question ignored, model notes). */
  notices: string[];
}

const ms = (x: number): string => x.toFixed(2);

/** Decode, preprocess and tokenize, run the encoder, and wrap everything as a TokenBundle with provenance. */
export async function encodeImage(enc: Encoder, req: EncodeRequest): Promise<EncodeResult> {
  const p = enc.prepared;
  const model = p.model;
  const notices = [...p.notes];
  const t0 = performance.now();
  const decoded = await decodeImage(req.image, { ...(model.patchSize ? { minSide: model.patchSize } : {}), ...req.limits });
  const t1 = performance.now();
  const pixels = preprocess(decoded, loadPreprocessorConfig(model.preprocessorPath));
  const t2 = performance.now();
  let ids: number[] | null = null;
  const question = req.question ?? '';
  if (question.trim() !== '') {
    if (!model.text) {
      notices.push(`The model ${model.id} has no text tower: the question is ignored (question-agnostic analysis).`);
    } else {
      if (!model.tokenizerPath) throw new InputError(`The model ${model.id} has no tokenizer.json; it is needed to encode the question.`);
      const tok = loadTokenizer(dirname(model.tokenizerPath), model.contextLength).encode(question);
      ids = tok.ids;
      if (tok.notice) notices.push(tok.notice);
    }
  }
  const t3 = performance.now();
  const enc2 = await encodeTensors(enc, pixels, ids);
  const extra: Record<string, string> = {
    ...enc2.info,
    weights: WEIGHTS_LABELS[p.weightsKind],
    model_name: model.name,
    model_path: model.root,
    vision_file: basename(p.vision.path),
    ...(p.text ? { text_file: basename(p.text.path) } : {}),
    provider: enc.provider,
    threads: enc.threads > 0 ? String(enc.threads) : 'default',
    image_size: `${decoded.width}x${decoded.height} ${decoded.format}`,
    pixel_shape: `[${pixels.shape.join(',')}]`,
    question,
    ...(ids ? { token_count: String(ids.length) } : {}),
    time_decode_ms: ms(t1 - t0),
    time_preprocess_ms: ms(t2 - t1),
    time_tokenize_ms: ms(t3 - t2),
    time_session_run_ms: ms(enc2.runMs),
    time_surgery_outputs_ms: ms(enc2.postMs),
    time_graph_surgery_ms: ms(p.timings.surgeryMs),
    time_session_create_ms: ms(enc.createMs),
  };
  if (notices.length > 0) extra.notices = notices.join(' ');
  const meta: BundleMeta = { source: req.image, model: model.id, weightsKind: p.weightsKind, layer: p.featureLayer, extra };
  return { bundle: makeBundle(enc2.arrays, meta), notices };
}

// Graph surgery on a ViT/CLIP vision tower, in memory, before the session is created: find the tensors
// PruneLens needs by walking the graph (never by tensor names) and expose them as graph outputs.
import { InputError } from '../errors.ts';
import { GraphIndex, attrInt, attrInts, attrString, floatOutput, int64Initializer, toInt, type GraphAdditions, type ModelProto, type NodeProto, type TensorProto } from './onnx-graph.ts';

/** One self-attention block of the encoder, as found in the graph. */
export interface AttentionSite {
  /** Softmax node name and its output (attention probabilities [b,H,T,T] or [b·H,T,T]). */
  softmaxNode: string;
  probs: string;
  /** q_proj / k_proj outputs [b,T,W] (after the bias, before any scaling or head split). */
  query: string;
  key: string;
}

/** Output names the encoder fetches after surgery. */
export interface SurgeryOutputs {
  /** Feature-layer residual stream without [CLS]: [b,N,W]. */
  features: string;
  /**
   * Feature-layer attention, [CLS] query row: [b,H,1,T] (or [b·H,1,T]). Without a class token it is the
   * first patch's row, fetched only for the head count.
   */
  clsAttn: string;
  /** Same for the last encoder layer. */
  clsAttnLast: string;
  /** Feature-layer k_proj output [b,T,W] (head-mean taken by the encoder). */
  keys: string;
  /** Last layer q_proj / k_proj outputs [b,T,W] (PruMerge recomputes its attention from these). */
  lastQuery: string;
  lastKeys: string;
  /** post_layernorm → projection applied to the feature-layer patch tokens [b,N,P]; null when no projection path exists. */
  imageJoint: string | null;
}

export interface VisionSurgery {
  /** Whether token 0 is a learned [CLS] token (CLIP); false for patch-only (SigLIP) and registers-only (timm) towers. */
  classToken: boolean;
  /**
   * The patch embedding's Conv geometry, when it is a plain 2-D one: the patch grid of an image, and so how
   * many tokens besides [CLS] are not patches (register tokens), follows from it at run time.
   */
  patchConv: PatchConv | null;
  /** Encoder layers (self-attention blocks) found. */
  layers: number;
  /** The feature layer as LLaVA's select_layer (-2 = penultimate). */
  featureLayer: number;
  /** 0-based encoder layer whose output, attention and keys are used. */
  featureIndex: number;
  sites: AttentionSite[];
  outputs: SurgeryOutputs;
  additions: GraphAdditions;
  notes: string[];
}

export interface PatchConv {
  kernel: [number, number];
  strides: [number, number];
  /** top, left, bottom, right */
  pads: [number, number, number, number];
}

/** Tokens of the patch grid a Conv cuts from an H×W image. */
export function patchCount(c: PatchConv, height: number, width: number): number {
  const along = (size: number, k: number, s: number, before: number, after: number): number => Math.floor((size + before + after - k) / s) + 1;
  return along(height, c.kernel[0], c.strides[0], c.pads[0], c.pads[2]) * along(width, c.kernel[1], c.strides[1], c.pads[1], c.pads[3]);
}

export interface SurgeryOptions {
  /** Name of the pixel input (default "pixel_values"). */
  pixelInput?: string;
  /** LLaVA-style select_layer: negative counts from the end (-1 = last layer), positive = hidden_states index. */
  featureLayer?: number;
}

const PREFIX = 'prunelens::';

/**
 * Ops that move or relabel data without computing with it (head split, transposes, casts), and the
 * QuantizeLinear → DequantizeLinear pairs of QDQ exports, which only round it.
 */
const PASS_THROUGH = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity', 'Cast', 'Flatten', 'QuantizeLinear', 'DequantizeLinear']);

/**
 * Follow a tensor backwards through layout ops and multiplications by constants (the attention scale,
 * however it is exported) to the tensor that computed it.
 */
function walkBack(idx: GraphIndex, tensor: string, alsoAddStatic: boolean): { tensor: string; node: NodeProto | null } {
  let t = tensor;
  for (let guard = 0; guard < 64; guard++) {
    const n = idx.nodeOf(t);
    if (!n) return { tensor: t, node: null };
    const op = n.opType ?? '';
    const [a, b] = n.input ?? [];
    if (PASS_THROUGH.has(op)) {
      t = a;
      continue;
    }
    const scaleLike = op === 'Mul' || op === 'Div' || (alsoAddStatic && (op === 'Add' || op === 'Sub'));
    if (scaleLike && a && b) {
      if (idx.isStatic(b) && !idx.isStatic(a)) {
        t = a;
        continue;
      }
      if (op !== 'Div' && op !== 'Sub' && idx.isStatic(a) && !idx.isStatic(b)) {
        t = b;
        continue;
      }
    }
    return { tensor: t, node: n };
  }
  return { tensor: t, node: idx.nodeOf(t) };
}

/** A Softmax is a self-attention site when its logits are q·kᵀ with q computed from the data (not a learned probe). */
function attentionSite(idx: GraphIndex, softmax: NodeProto): AttentionSite | null {
  const input = softmax.input?.[0];
  const probs = softmax.output?.[0];
  if (!input || !probs) return null;
  const score = walkBack(idx, input, true).node;
  if (!score || score.opType !== 'MatMul') return null;
  const [qIn, kIn] = score.input ?? [];
  if (!qIn || !kIn) return null;
  const query = walkBack(idx, qIn, false).tensor;
  const key = walkBack(idx, kIn, false).tensor;
  if (idx.isStatic(query) || idx.isStatic(key)) return null;
  return { softmaxNode: softmax.name ?? '', probs, query, key };
}

/**
 * The residual stream after one pre-LN encoder layer: the Add that joins the attention branch to the
 * stream it came from, then the Add that joins the MLP branch to that sum.
 */
function residualAround(idx: GraphIndex, site: AttentionSite, layer: number): { input: string; output: string } {
  const fail = (what: string): never => {
    throw new InputError(`Graph surgery: could not find the ${what} of encoder layer ${layer} (attention ${site.softmaxNode}); this graph does not look like a pre-LN ViT/CLIP encoder.`);
  };
  const below = idx.descendants([site.probs]);
  let attnAdd: NodeProto | null = null;
  let input = '';
  for (const i of [...below].sort((a, b) => a - b)) {
    const n = idx.nodes[i];
    if (n.opType !== 'Add') continue;
    const ins = n.input ?? [];
    // One side comes from the attention branch, the other is the stream from before it.
    const fromBranch = ins.filter((x) => idx.producedIn(x, below));
    const other = ins.filter((x) => x && !idx.producedIn(x, below) && !idx.isStatic(x));
    if (fromBranch.length === 1 && other.length === 1) {
      attnAdd = n;
      input = other[0];
      break;
    }
  }
  if (!attnAdd) return fail('attention residual Add');
  const mid = (attnAdd.output ?? [])[0];
  const afterMid = idx.descendants([mid]);
  for (const i of idx.consumers.get(mid) ?? []) {
    const n = idx.nodes[i];
    if (n.opType !== 'Add') continue;
    const other = (n.input ?? []).find((x) => x !== mid);
    if (other && idx.producedIn(other, afterMid)) return { input, output: (n.output ?? [])[0] };
  }
  return fail('MLP residual Add');
}

/** Ops that hand a learned token parameter on with its token count unchanged (batch broadcast, casts, dequantisation). */
const TOKEN_PASS_OPS = new Set(['Expand', 'Tile', 'Unsqueeze', 'Cast', 'Identity', 'DequantizeLinear']);

/** Second-to-last dim of a parameter's shape: its token count ([1,R,W] → R; a [W] vector is one token). */
function tokenDim(dims: TensorProto['dims']): number {
  const d = (dims ?? []).map(toInt);
  return d.length >= 2 ? d[d.length - 2] : 1;
}

/**
 * How many tokens a learned input of a token-axis Concat adds, from the parameter it broadcasts: 1 for a
 * class token (CLIP's [W] class_embedding, a [1,1,W] cls_token), R for [1,R,W] register tokens. 1 when the
 * parameter cannot be traced, so an unknown learned token still counts as [CLS].
 */
function learnedTokens(idx: GraphIndex, tensor: string): number {
  let t = tensor;
  for (let hop = 0; hop < 16 && t; hop++) {
    const init = idx.initializer(t);
    if (init) return tokenDim(init.dims);
    const n = idx.nodeOf(t);
    if (!n) return 1;
    if (n.opType === 'Constant') {
      const value = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
      return value ? tokenDim(value.dims) : 1;
    }
    if (!TOKEN_PASS_OPS.has(n.opType ?? '')) return 1;
    t = n.input?.[0] ?? '';
  }
  return 1;
}

/**
 * Walks from the stream entering the first encoder layer back to the patch embedding. A class token is a
 * token-axis Concat with a learned one-token parameter (CLIP's class_embedding; broadcast over the batch
 * with image-derived shapes, which isStatic counts as static). A learned input of several tokens is a block
 * of register tokens, not a class token: timm towers with `class_token=False` have registers only.
 * SigLIP-style towers feed patch tokens only.
 */
function embedding(idx: GraphIndex, firstInput: string): { classToken: boolean; conv: NodeProto[] } {
  const seen = new Set<string>();
  const stack = [firstInput];
  let classToken = false;
  const conv: NodeProto[] = [];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = idx.producer.get(t);
    if (p === undefined) continue;
    const n = idx.nodes[p];
    const axis = n.opType === 'Concat' ? attrInt(n, 'axis') : null;
    if ((axis === 1 || axis === -2) && (n.input ?? []).some((x) => x && idx.isStatic(x) && learnedTokens(idx, x) === 1)) classToken = true;
    if (n.opType === 'Conv') {
      conv.push(n); // the patch embedding: nothing before it can add a token
      continue;
    }
    for (const x of n.input ?? []) if (x && !idx.isStatic(x)) stack.push(x);
  }
  return { classToken, conv };
}

/** A single plain 2-D Conv (no auto_pad, dilation 1, one group) as patch geometry; null otherwise. */
function patchGeometry(conv: NodeProto[]): PatchConv | null {
  if (conv.length !== 1) return null;
  const c = conv[0];
  const kernel = attrInts(c, 'kernel_shape');
  const strides = attrInts(c, 'strides') ?? [1, 1];
  const pads = attrInts(c, 'pads') ?? [0, 0, 0, 0];
  const plain = (attrString(c, 'auto_pad') ?? 'NOTSET') === 'NOTSET' && (attrInts(c, 'dilations') ?? [1, 1]).every((x) => x === 1) && (attrInt(c, 'group') ?? 1) === 1;
  if (!plain || kernel?.length !== 2 || strides.length !== 2 || pads.length !== 4) return null;
  return { kernel: [kernel[0], kernel[1]], strides: [strides[0], strides[1]], pads: [pads[0], pads[1], pads[2], pads[3]] };
}

/** select_layer (LLaVA's convention over hidden_states[0..L]) → 0-based encoder layer index. */
export function featureIndexFor(featureLayer: number, layers: number): number {
  if (!Number.isInteger(featureLayer) || featureLayer === 0) {
    throw new InputError(`featureLayer must be a non-zero integer like LLaVA's select_layer (-2 = penultimate), got ${featureLayer}.`);
  }
  const index = featureLayer < 0 ? layers + featureLayer : featureLayer - 1;
  if (index < 0 || index >= layers) {
    throw new InputError(`featureLayer ${featureLayer} is out of range for a vision encoder with ${layers} layers (use -${layers}…-1 or 1…${layers}).`);
  }
  return index;
}

/**
 * The [CLS] pooling path: the Gather/Slice on the final residual stream, and the vision-only graph output
 * it leads to (image_embeds). Returns the nodes to replay on patch tokens, in graph order.
 */
function projectionPath(idx: GraphIndex, finalStream: string, pixelInput: string): { pooled: string; target: string; nodes: NodeProto[] } | null {
  const pools = (idx.consumers.get(finalStream) ?? []).map((i) => idx.nodes[i]).filter((n) => (n.opType === 'Gather' || n.opType === 'Slice') && (n.input ?? []).slice(1).every((x) => !x || idx.isStatic(x)));
  if (pools.length !== 1) return null;
  const pooled = (pools[0].output ?? [])[0];
  const below = idx.descendants([pooled]);
  const textSide = idx.descendants(idx.dataInputs.filter((x) => x !== pixelInput));
  const targets = idx.outputs.filter((o) => {
    const p = idx.producer.get(o);
    return p !== undefined && below.has(p) && !textSide.has(p);
  });
  if (targets.length !== 1) return null;
  // Nodes on a path pooled → target: ancestors of the target inside the pooled subgraph.
  const onPath = new Set<number>();
  const stack = [targets[0]];
  while (stack.length > 0) {
    const p = idx.producer.get(stack.pop() as string);
    if (p === undefined || !below.has(p) || onPath.has(p)) continue;
    onPath.add(p);
    for (const x of idx.nodes[p].input ?? []) if (x) stack.push(x);
  }
  const nodes = [...onPath].sort((a, b) => a - b).map((i) => idx.nodes[i]);
  return { pooled, target: targets[0], nodes };
}

/** Copy the projection nodes onto a new input; tensors computed inside the path get fresh names. */
function replayPath(path: { pooled: string; nodes: NodeProto[] }, input: string): { nodes: NodeProto[]; output: (t: string) => string } {
  const renamed = new Map<string, string>([[path.pooled, input]]);
  const nodes: NodeProto[] = [];
  for (const n of path.nodes) {
    const outs = (n.output ?? []).map((o) => {
      const r = o ? `${PREFIX}joint/${o}` : o;
      renamed.set(o, r);
      return r;
    });
    nodes.push({
      opType: n.opType,
      domain: n.domain,
      name: `${PREFIX}joint/${n.name ?? outs[0]}`,
      input: (n.input ?? []).map((x) => renamed.get(x) ?? x),
      output: outs,
      attribute: n.attribute,
    });
  }
  return { nodes, output: (t) => renamed.get(t) ?? t };
}

function sliceNode(name: string, input: string, starts: string, ends: string, axes: string): NodeProto {
  return { opType: 'Slice', name, input: [input, starts, ends, axes], output: [name] };
}

/** Plan the surgery for a vision tower (or a combined CLIP model); throws InputError when the graph does not fit. */
export function planVisionSurgery(model: ModelProto, options: SurgeryOptions = {}): VisionSurgery {
  const graph = model.graph;
  if (!graph) throw new InputError('Graph surgery: the model has no graph.');
  const idx = new GraphIndex(graph);
  const pixelInput = options.pixelInput ?? 'pixel_values';
  if (!idx.dataInputs.includes(pixelInput)) {
    throw new InputError(`Graph surgery: the model has no input "${pixelInput}" (inputs: ${idx.dataInputs.join(', ') || 'none'}).`);
  }
  const vision = idx.descendants([pixelInput]);
  const sites: AttentionSite[] = [];
  for (const i of [...vision].sort((a, b) => a - b)) {
    const n = idx.nodes[i];
    if (n.opType !== 'Softmax') continue;
    const site = attentionSite(idx, n);
    if (site) sites.push(site);
  }
  if (sites.length === 0) {
    throw new InputError('Graph surgery: no self-attention Softmax found in the vision graph. PruneLens needs a ViT/CLIP-style encoder, or a manifest that lists its outputs.');
  }
  const layers = sites.length;
  const featureLayer = options.featureLayer ?? -2;
  const featureIndex = featureIndexFor(featureLayer, layers);
  const site = sites[featureIndex];
  const last = sites[layers - 1];
  const stream = residualAround(idx, site, featureIndex).output;
  const embed = embedding(idx, residualAround(idx, sites[0], 0).input);
  const classToken = embed.classToken;
  const finalStream = residualAround(idx, last, layers - 1).output;
  // The stream after layer i must be the stream layer i+1 adds its attention to: a structural cross-check.
  if (featureIndex < layers - 1 && residualAround(idx, sites[featureIndex + 1], featureIndex + 1).input !== stream) {
    throw new InputError(`Graph surgery: the residual stream found after layer ${featureIndex} does not feed layer ${featureIndex + 1}.`);
  }

  for (const n of [`${PREFIX}features`, `${PREFIX}cls_attn`]) if (idx.has(n)) throw new InputError(`Graph surgery: the model already has a tensor named ${n}.`);
  const init = [
    int64Initializer(`${PREFIX}one`, [1]),
    int64Initializer(`${PREFIX}zero`, [0]),
    int64Initializer(`${PREFIX}end`, [Number.MAX_SAFE_INTEGER]),
    int64Initializer(`${PREFIX}axis_tokens`, [1]),
    int64Initializer(`${PREFIX}axis_query`, [-2]),
  ];
  const nodes: NodeProto[] = [
    sliceNode(`${PREFIX}features`, stream, classToken ? `${PREFIX}one` : `${PREFIX}zero`, `${PREFIX}end`, `${PREFIX}axis_tokens`),
    sliceNode(`${PREFIX}cls_attn`, site.probs, `${PREFIX}zero`, `${PREFIX}one`, `${PREFIX}axis_query`),
    sliceNode(`${PREFIX}cls_attn_last`, last.probs, `${PREFIX}zero`, `${PREFIX}one`, `${PREFIX}axis_query`),
  ];
  const notes: string[] = [];
  if (!classToken) notes.push('No [CLS] token (a SigLIP-style tower, or one with register tokens only): features are the patch tokens; [CLS] attention, and the methods that read it, are not available.');
  let imageJoint: string | null = null;
  const path = classToken ? projectionPath(idx, finalStream, pixelInput) : null;
  if (path) {
    const replay = replayPath(path, `${PREFIX}features`);
    nodes.push(...replay.nodes);
    imageJoint = replay.output(path.target);
  } else {
    notes.push(classToken ? 'No [CLS] → projection path found after the encoder; image_joint is not available.' : 'image_joint is not available: the tower pools without a [CLS] token.');
  }

  // Fetched tensors plus the Softmax outputs themselves: a graph output is never fused away.
  const fetched = [`${PREFIX}features`, `${PREFIX}cls_attn`, `${PREFIX}cls_attn_last`, site.key, last.query, last.key, ...(imageJoint ? [imageJoint] : [])];
  const already = new Set(idx.outputs);
  const outputs = [...new Set([...fetched, site.probs, last.probs])].filter((n) => !already.has(n)).map(floatOutput);
  return {
    classToken,
    patchConv: patchGeometry(embed.conv),
    layers,
    featureLayer,
    featureIndex,
    sites,
    outputs: {
      features: `${PREFIX}features`,
      clsAttn: `${PREFIX}cls_attn`,
      clsAttnLast: `${PREFIX}cls_attn_last`,
      keys: site.key,
      lastQuery: last.query,
      lastKeys: last.key,
      imageJoint,
    },
    additions: { nodes, initializers: init, outputs },
    notes,
  };
}

/** Output names to fetch from a surgically edited session (deduplicated). */
export function surgeryFetches(s: VisionSurgery): string[] {
  const o = s.outputs;
  return [...new Set([o.features, o.clsAttn, o.clsAttnLast, o.keys, o.lastQuery, o.lastKeys, ...(o.imageJoint ? [o.imageJoint] : [])])];
}

import { GraphBuilder, mulberry32 } from '../onnx/builder.ts';

/**
 * Test graphs with CLIP's real architecture and torch-export tensor names, small sizes and seeded random
 * weights. They exist so the runtime (graph surgery, shapes, I/O) is exercised exactly as on a real
 * export; their outputs mean nothing ("random test weights"). Never committed: generated at test time.
 */

export interface VisionSpec {
  imageSize: number;
  patchSize: number;
  width: number;
  heads: number;
  layers: number;
  mlp: number;
  projection: number;
}

export interface TextSpec {
  vocab: number;
  context: number;
  width: number;
  heads: number;
  layers: number;
  mlp: number;
  projection: number;
}

export interface GenOptions {
  seed: number;
  /** 'fused' = LayerNormalization op (opset ≥ 17 exports); 'decomposed' = ReduceMean/Sub/Pow/… (opset 14 exports). */
  layerNorm: 'fused' | 'decomposed';
  /** 'query' = q·scale after q_proj (older transformers); 'sdpa' = √scale on q and kᵀ computed from shapes (SDPA export). */
  attnScale: 'query' | 'sdpa';
  /** Also output the encoder's last hidden state (newer exports), named `last_hidden_state`. */
  lastHiddenState: boolean;
  /** false: a SigLIP-style tower, patch tokens only (no [CLS]), pooled by the mean over tokens. */
  classToken: boolean;
  /**
   * 'dynamic': Linear layers as onnxruntime's quantize_dynamic writes them (DynamicQuantizeLinear on the
   * input, MatMulInteger with int8 weights, Cast, Mul by the two scales); the recorded weights are the
   * dequantized ones, so the JS reference differs only by the activations' uint8 rounding.
   * 'qdq': the QDQ format of quantize_static: int8 weights through DequantizeLinear, and a
   * QuantizeLinear → DequantizeLinear pair (static scale) on every activation a MatMul reads, the
   * attention's q·kᵀ and probs·v included; the MatMuls themselves stay float.
   */
  quantize: 'none' | 'dynamic' | 'qdq';
  /**
   * Register tokens: learned tokens without position embeddings, inserted after the position embeddings are
   * added: between [CLS] and the patches (DINOv2 with registers), or before the patches when classToken is
   * false (timm class_token=False, reg_tokens > 0).
   */
  registers: number;
}

export const DEFAULT_VISION: VisionSpec = { imageSize: 32, patchSize: 8, width: 32, heads: 4, layers: 3, mlp: 64, projection: 24 };
export const DEFAULT_TEXT: TextSpec = { vocab: 49408, context: 77, width: 32, heads: 4, layers: 2, mlp: 64, projection: 24 };
export const DEFAULT_OPTIONS: GenOptions = { seed: 1234, layerNorm: 'fused', attnScale: 'query', lastHiddenState: true, classToken: true, quantize: 'none', registers: 0 };

/** Parameters by torch name; Linear weights stored as [in, out] (the MatMul layout of an export). */
export type Weights = Map<string, Float32Array>;

export const FLOAT_MIN = -3.4028234663852886e38;
export const LN_EPS = 1e-5;

/** Adds one tower's nodes to a shared builder, recording every parameter for the JS reference. */
class Tower {
  constructor(
    readonly b: GraphBuilder,
    readonly weights: Weights,
    readonly rand: () => number,
    readonly opts: GenOptions,
    /** Shared by the towers of one graph so initializer names stay unique. */
    readonly counter = { matmul: 3000 },
  ) {}

  private readonly quantizedInputs = new Map<string, string[]>();
  private readonly qdqInputs = new Map<string, string>();

  /** Uniform noise with the given mean and standard deviation. */
  private values(n: number, std: number, mean: number): Float32Array {
    const out = new Float32Array(n);
    const half = std * Math.sqrt(3);
    for (let i = 0; i < n; i++) out[i] = mean + (2 * this.rand() - 1) * half;
    return out;
  }

  param(name: string, dims: number[], std: number, mean = 0): string {
    const data = this.values(dims.reduce((a, c) => a * c, 1), std, mean);
    this.weights.set(name, data);
    return this.b.constF(name, dims, data);
  }

  /** Torch exports store transposed Linear weights as anonymous `onnx::MatMul_N` initializers. */
  private matmulWeight(paramName: string, inDim: number, outDim: number): string {
    const data = this.values(inDim * outDim, 1 / Math.sqrt(inDim), 0);
    this.weights.set(paramName, data);
    return this.b.constF(`onnx::MatMul_${this.counter.matmul++}`, [inDim, outDim], data);
  }

  linear(x: string, node: string, param: string, inDim: number, outDim: number, bias = true, output?: string): string {
    const mmName = bias ? `${node}/MatMul_output_0` : (output ?? `${node}/MatMul_output_0`);
    const mm =
      this.opts.quantize === 'dynamic'
        ? this.quantizedMatMul(x, node, `${param}.weight`, inDim, outDim, mmName)
        : this.opts.quantize === 'qdq'
          ? this.b.op1('MatMul', [this.qdq(x), this.qdqWeight(`${param}.weight`, inDim, outDim)], {}, mmName, `${node}/MatMul`)
          : this.b.op1('MatMul', [x, this.matmulWeight(`${param}.weight`, inDim, outDim)], {}, mmName, `${node}/MatMul`);
    if (!bias) return mm;
    const bName = this.param(`${param}.bias`, [outDim], 0.02);
    return this.b.op1('Add', [bName, mm], {}, output ?? `${node}/Add_output_0`, `${node}/Add`);
  }

  /**
   * Symmetric per-tensor int8 weights as three initializers (values, scale, zero point); the recorded
   * weights are the dequantized ones.
   */
  private int8Weight(paramName: string, inDim: number, outDim: number): { id: number; wq: string; wScale: string; wZero: string } {
    const b = this.b;
    const w = this.values(inDim * outDim, 1 / Math.sqrt(inDim), 0);
    let max = 0;
    for (const v of w) max = Math.max(max, Math.abs(v));
    const scale = Math.fround(max / 127);
    const q = Int8Array.from(w, (v) => Math.round(v / scale));
    this.weights.set(paramName, Float32Array.from(q, (v) => v * scale));
    const id = this.counter.matmul++;
    return {
      id,
      wq: b.constI8(`onnx::MatMul_${id}_quantized`, [inDim, outDim], q),
      wScale: b.constF(`onnx::MatMul_${id}_scale`, [], [scale]),
      wZero: b.constI8(`onnx::MatMul_${id}_zero_point`, [], new Int8Array(1)),
    };
  }

  /** A QDQ weight: DequantizeLinear of an int8 initializer. */
  private qdqWeight(paramName: string, inDim: number, outDim: number): string {
    const { id, wq, wScale, wZero } = this.int8Weight(paramName, inDim, outDim);
    return this.b.op1('DequantizeLinear', [wq, wScale, wZero], {}, `onnx::MatMul_${id}_DequantizeLinear_Output`, `onnx::MatMul_${id}_DequantizeLinear`);
  }

  /**
   * x through QuantizeLinear → DequantizeLinear with a static int8 scale (one pair per tensor, shared by
   * its readers). ±8 covers these towers' activations; probabilities get 1/127.
   */
  qdq(x: string, range = 8): string {
    const cached = this.qdqInputs.get(x);
    if (cached) return cached;
    const b = this.b;
    const scale = b.constF(`${x}_scale`, [], [range / 127]);
    const zero = b.constI8(`${x}_zero_point`, [], new Int8Array(1));
    const q = b.op1('QuantizeLinear', [x, scale, zero], {}, `${x}_QuantizeLinear_Output`, `${x}_QuantizeLinear`);
    const dq = b.op1('DequantizeLinear', [q, scale, zero], {}, `${x}_DequantizeLinear_Output`, `${x}_DequantizeLinear`);
    this.qdqInputs.set(x, dq);
    return dq;
  }

  /** x·W as quantize_dynamic exports it: symmetric per-tensor int8 weights, uint8 activations quantized at run time. */
  private quantizedMatMul(x: string, node: string, paramName: string, inDim: number, outDim: number, output: string): string {
    const b = this.b;
    const { wq, wScale, wZero } = this.int8Weight(paramName, inDim, outDim);
    // One DynamicQuantizeLinear per input tensor, shared by the projections reading it (q, k, v).
    let dq = this.quantizedInputs.get(x);
    if (!dq) this.quantizedInputs.set(x, (dq = b.op('DynamicQuantizeLinear', [x], {}, [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`], `${x}_QuantizeLinear`)));
    const [xq, xScale, xZero] = dq;
    const acc = b.op1('MatMulInteger', [xq, wq, xZero, wZero], {}, `${output}_output_quantized`, `${node}/MatMul_quant`);
    const accF = b.op1('Cast', [acc], { to: 1 }, `${output}_output_quantized_cast_output`, `${node}/MatMul_quant_output_quantized_cast`);
    const scales = b.op1('Mul', [xScale, wScale], {}, `${output}_scales_mul_output`, `${node}/MatMul_quant_scales_mul`);
    return b.op1('Mul', [accF, scales], {}, output, `${node}/MatMul_quant_output_scale_mul`);
  }

  layerNorm(x: string, node: string, param: string, dim: number, output?: string): string {
    const gamma = this.param(`${param}.weight`, [dim], 0.1, 1);
    const beta = this.param(`${param}.bias`, [dim], 0.05);
    const b = this.b;
    if (this.opts.layerNorm === 'fused') {
      return b.op1('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { float: LN_EPS } }, output ?? `${node}/LayerNormalization_output_0`, `${node}/LayerNormalization`);
    }
    const o = (op: string): string => `${node}/${op}_output_0`;
    const n = (op: string): string => `${node}/${op}`;
    const mean = b.op1('ReduceMean', [x], { axes: [-1], keepdims: 1 }, o('ReduceMean'), n('ReduceMean'));
    const centred = b.op1('Sub', [x, mean], {}, o('Sub'), n('Sub'));
    const two = b.constF(`${node}/Constant_output_0`, [], [2]);
    const sq = b.op1('Pow', [centred, two], {}, o('Pow'), n('Pow'));
    const variance = b.op1('ReduceMean', [sq], { axes: [-1], keepdims: 1 }, o('ReduceMean_1'), n('ReduceMean_1'));
    const eps = b.constF(`${node}/Constant_1_output_0`, [], [LN_EPS]);
    const ve = b.op1('Add', [variance, eps], {}, o('Add'), n('Add'));
    const sd = b.op1('Sqrt', [ve], {}, o('Sqrt'), n('Sqrt'));
    const normed = b.op1('Div', [centred, sd], {}, o('Div'), n('Div'));
    const scaled = b.op1('Mul', [normed, gamma], {}, o('Mul'), n('Mul'));
    return b.op1('Add', [scaled, beta], {}, output ?? o('Add_1'), n('Add_1'));
  }

  /** Scalar int64 from a Shape: Shape(x)[index] as a 1-element tensor (for dynamic Concat shapes). */
  private dim(x: string, index: number, node: string): string {
    const b = this.b;
    const shape = b.op1('Shape', [x], {}, `${node}/Shape_output_0`, `${node}/Shape`);
    const idx = b.constI(`${node}/Constant_output_0`, [], [index]);
    const g = b.op1('Gather', [shape, idx], { axis: 0 }, `${node}/Gather_output_0`, `${node}/Gather`);
    const axes = b.constI(`${node}/Constant_1_output_0`, [1], [0]);
    return b.op1('Unsqueeze', [g, axes], {}, `${node}/Unsqueeze_output_0`, `${node}/Unsqueeze`);
  }

  attention(x: string, node: string, param: string, width: number, heads: number, mask: string | null): string {
    const b = this.b;
    const hd = width / heads;
    let q = this.linear(x, `${node}/q_proj`, `${param}.q_proj`, width, width);
    const k = this.linear(x, `${node}/k_proj`, `${param}.k_proj`, width, width);
    const v = this.linear(x, `${node}/v_proj`, `${param}.v_proj`, width, width);
    if (this.opts.attnScale === 'query') {
      const scale = b.constF(`${node}/Constant_output_0`, [], [hd ** -0.5]);
      q = b.op1('Mul', [q, scale], {}, `${node}/Mul_output_0`, `${node}/Mul`);
    }
    const headShape = b.constI(`${node}/Constant_1_output_0`, [4], [0, -1, heads, hd]);
    const toHeads = (t: string, s: string): string => {
      const r = b.op1('Reshape', [t, headShape], {}, `${node}/Reshape${s}_output_0`, `${node}/Reshape${s}`);
      return b.op1('Transpose', [r], { perm: [0, 2, 1, 3] }, `${node}/Transpose${s}_output_0`, `${node}/Transpose${s}`);
    };
    let qh = toHeads(q, '');
    const kh = toHeads(k, '_1');
    const vh = toHeads(v, '_2');
    let kt = b.op1('Transpose', [kh], { perm: [0, 1, 3, 2] }, `${node}/Transpose_3_output_0`, `${node}/Transpose_3`);
    if (this.opts.attnScale === 'sdpa') {
      // √(1/√hd) from the query's shape, applied to q and kᵀ, as torch's SDPA decomposition exports it.
      const shape = b.op1('Shape', [qh], {}, `${node}/Shape_2_output_0`, `${node}/Shape_2`);
      const last = b.op1('Slice', [shape, b.constI(`${node}/Constant_2_output_0`, [1], [-1]), b.constI(`${node}/Constant_3_output_0`, [1], [2 ** 62])], {}, `${node}/Slice_output_0`, `${node}/Slice`);
      const f = b.op1('Cast', [last], { to: 1 }, `${node}/Cast_output_0`, `${node}/Cast`);
      const sq = b.op1('Sqrt', [f], {}, `${node}/Sqrt_output_0`, `${node}/Sqrt`);
      const inv = b.op1('Div', [b.constF(`${node}/Constant_4_output_0`, [], [1]), sq], {}, `${node}/Div_output_0`, `${node}/Div`);
      const s = b.op1('Sqrt', [inv], {}, `${node}/Sqrt_1_output_0`, `${node}/Sqrt_1`);
      qh = b.op1('Mul', [qh, s], {}, `${node}/Mul_1_output_0`, `${node}/Mul_1`);
      kt = b.op1('Mul', [kt, s], {}, `${node}/Mul_2_output_0`, `${node}/Mul_2`);
    }
    const qdq = this.opts.quantize === 'qdq';
    let scores = b.op1('MatMul', qdq ? [this.qdq(qh), this.qdq(kt)] : [qh, kt], {}, `${node}/MatMul_output_0`, `${node}/MatMul`);
    if (mask) scores = b.op1('Add', [scores, mask], {}, `${node}/Add_output_0`, `${node}/Add`);
    const probs = b.op1('Softmax', [scores], { axis: -1 }, `${node}/Softmax_output_0`, `${node}/Softmax`);
    const ctx = b.op1('MatMul', qdq ? [this.qdq(probs, 1), this.qdq(vh)] : [probs, vh], {}, `${node}/MatMul_1_output_0`, `${node}/MatMul_1`);
    const ctxT = b.op1('Transpose', [ctx], { perm: [0, 2, 1, 3] }, `${node}/Transpose_4_output_0`, `${node}/Transpose_4`);
    const shape = b.op1('Concat', [this.dim(x, 0, `${node}/batch`), this.dim(x, 1, `${node}/seq`), b.constI(`${node}/Constant_5_output_0`, [1], [width])], { axis: 0 }, `${node}/Concat_output_0`, `${node}/Concat`);
    const merged = b.op1('Reshape', [ctxT, shape], {}, `${node}/Reshape_3_output_0`, `${node}/Reshape_3`);
    return this.linear(merged, `${node}/out_proj`, `${param}.out_proj`, width, width);
  }

  /** Pre-LN CLIP encoder layer with quick_gelu MLP; returns the residual stream after the layer. */
  encoderLayer(x: string, scope: string, i: number, s: { width: number; heads: number; mlp: number }, mask: string | null, output?: string): string {
    const b = this.b;
    const node = `/${scope}/encoder/layers.${i}`;
    const param = `${scope}.encoder.layers.${i}`;
    const ln1 = this.layerNorm(x, `${node}/layer_norm1`, `${param}.layer_norm1`, s.width);
    const attn = this.attention(ln1, `${node}/self_attn`, `${param}.self_attn`, s.width, s.heads, mask);
    const mid = b.op1('Add', [x, attn], {}, `${node}/Add_output_0`, `${node}/Add`);
    const ln2 = this.layerNorm(mid, `${node}/layer_norm2`, `${param}.layer_norm2`, s.width);
    const fc1 = this.linear(ln2, `${node}/mlp/fc1`, `${param}.mlp.fc1`, s.width, s.mlp);
    const act = `${node}/mlp/activation_fn`;
    const scaled = b.op1('Mul', [fc1, b.constF(`${act}/Constant_output_0`, [], [1.702])], {}, `${act}/Mul_output_0`, `${act}/Mul`);
    const sig = b.op1('Sigmoid', [scaled], {}, `${act}/Sigmoid_output_0`, `${act}/Sigmoid`);
    const gelu = b.op1('Mul', [fc1, sig], {}, `${act}/Mul_1_output_0`, `${act}/Mul_1`);
    const fc2 = this.linear(gelu, `${node}/mlp/fc2`, `${param}.mlp.fc2`, s.mlp, s.width);
    return b.op1('Add', [mid, fc2], {}, output ?? `${node}/Add_1_output_0`, `${node}/Add_1`);
  }
}

/** CLIPVisionModelWithProjection: pixel_values → image_embeds (unnormalised); returns the pooled projection. */
function visionTower(t: Tower, v: VisionSpec, pixel: string, embedsName?: string): { imageEmbeds: string; lastHidden: string } {
  const b = t.b;
  const g = v.imageSize / v.patchSize;
  if (!Number.isInteger(g)) throw new Error(`image size ${v.imageSize} is not a multiple of patch size ${v.patchSize}`);
  const tokens = g * g + (t.opts.classToken ? 1 : 0);
  const e = '/vision_model/embeddings';
  const convW = t.param('vision_model.embeddings.patch_embedding.weight', [v.width, 3, v.patchSize, v.patchSize], 1 / Math.sqrt(3 * v.patchSize * v.patchSize));
  const conv = b.op1('Conv', [pixel, convW], { kernel_shape: [v.patchSize, v.patchSize], strides: [v.patchSize, v.patchSize] }, `${e}/patch_embedding/Conv_output_0`, `${e}/patch_embedding/Conv`);
  const flat = b.op1('Reshape', [conv, b.constI(`${e}/Constant_output_0`, [3], [0, v.width, -1])], {}, `${e}/Reshape_output_0`, `${e}/Reshape`);
  const patches = b.op1('Transpose', [flat], { perm: [0, 2, 1] }, `${e}/Transpose_output_0`, `${e}/Transpose`);
  let emb = patches;
  let batch1 = '';
  if (t.opts.classToken || t.opts.registers > 0) {
    const shape = b.op1('Shape', [pixel], {}, `${e}/Shape_output_0`, `${e}/Shape`);
    const batch = b.op1('Gather', [shape, b.constI(`${e}/Constant_1_output_0`, [], [0])], { axis: 0 }, `${e}/Gather_output_0`, `${e}/Gather`);
    batch1 = b.op1('Unsqueeze', [batch, b.constI(`${e}/Constant_2_output_0`, [1], [0])], {}, `${e}/Unsqueeze_output_0`, `${e}/Unsqueeze`);
  }
  if (t.opts.classToken) {
    const cls = t.param('vision_model.embeddings.class_embedding', [v.width], 0.5);
    const clsShape = b.op1('Concat', [batch1, b.constI(`${e}/Constant_3_output_0`, [2], [1, v.width])], { axis: 0 }, `${e}/Concat_output_0`, `${e}/Concat`);
    const clsB = b.op1('Expand', [cls, clsShape], {}, `${e}/Expand_output_0`, `${e}/Expand`);
    emb = b.op1('Concat', [clsB, patches], { axis: 1 }, `${e}/Concat_1_output_0`, `${e}/Concat_1`);
  }
  const posW = t.param('vision_model.embeddings.position_embedding.weight', [tokens, v.width], 0.5);
  const posIds = b.constI('vision_model.embeddings.position_ids', [1, tokens], Array.from({ length: tokens }, (_, i) => i));
  const pos = b.op1('Gather', [posW, posIds], { axis: 0 }, `${e}/position_embedding/Gather_output_0`, `${e}/position_embedding/Gather`);
  let sum = b.op1('Add', [emb, pos], {}, `${e}/Add_output_0`, `${e}/Add`);
  if (t.opts.registers > 0) sum = withRegisters(t, sum, batch1, v.width);
  let h = t.layerNorm(sum, '/vision_model/pre_layrnorm', 'vision_model.pre_layrnorm', v.width);
  for (let i = 0; i < v.layers; i++) {
    const last = i === v.layers - 1 && t.opts.lastHiddenState;
    h = t.encoderLayer(h, 'vision_model', i, v, null, last ? 'last_hidden_state' : undefined);
  }
  const pooled = t.opts.classToken
    ? b.op1('Gather', [h, b.constI('/vision_model/Constant_output_0', [], [0])], { axis: 1 }, '/vision_model/Gather_output_0', '/vision_model/Gather')
    : b.op1('ReduceMean', [h], { axes: [1], keepdims: 0 }, '/vision_model/ReduceMean_output_0', '/vision_model/ReduceMean');
  const pn = t.layerNorm(pooled, '/vision_model/post_layernorm', 'vision_model.post_layernorm', v.width);
  const proj = t.linear(pn, '/visual_projection', 'visual_projection', v.width, v.projection, false, embedsName);
  return { imageEmbeds: proj, lastHidden: h };
}

/**
 * cat(x[:, :1], registers.expand(batch), x[:, 1:]) on the token axis, as Dinov2WithRegisters exports it; without
 * [CLS], cat(registers.expand(batch), x), as a timm ViT with class_token=False and reg_tokens exports it.
 */
function withRegisters(t: Tower, x: string, batch1: string, width: number): string {
  const b = t.b;
  const e = '/vision_model/embeddings';
  const r = t.opts.registers;
  const reg = t.param('vision_model.embeddings.register_tokens', [1, r, width], 0.5);
  const regShape = b.op1('Concat', [batch1, b.constI(`${e}/Constant_4_output_0`, [2], [r, width])], { axis: 0 }, `${e}/Concat_2_output_0`, `${e}/Concat_2`);
  const regB = b.op1('Expand', [reg, regShape], {}, `${e}/Expand_1_output_0`, `${e}/Expand_1`);
  if (!t.opts.classToken) return b.op1('Concat', [regB, x], { axis: 1 }, `${e}/Concat_3_output_0`, `${e}/Concat_3`);
  const axis = b.constI(`${e}/Constant_5_output_0`, [1], [1]);
  const zero = b.constI(`${e}/Constant_6_output_0`, [1], [0]);
  const one = b.constI(`${e}/Constant_7_output_0`, [1], [1]);
  const end = b.constI(`${e}/Constant_8_output_0`, [1], [2 ** 62]);
  const cls = b.op1('Slice', [x, zero, one, axis], {}, `${e}/Slice_output_0`, `${e}/Slice`);
  const rest = b.op1('Slice', [x, one, end, axis], {}, `${e}/Slice_1_output_0`, `${e}/Slice_1`);
  return b.op1('Concat', [cls, regB, rest], { axis: 1 }, `${e}/Concat_3_output_0`, `${e}/Concat_3`);
}

/** CLIPTextModelWithProjection: input_ids → text_embeds, pooled at the argmax id (end-of-text). */
function textTower(t: Tower, s: TextSpec, ids: string, attentionMask: string | null, names: { embeds?: string; hidden?: string } = {}): { textEmbeds: string; lastHidden: string } {
  const b = t.b;
  const e = '/text_model/embeddings';
  const tokW = t.param('text_model.embeddings.token_embedding.weight', [s.vocab, s.width], 0.5);
  const tok = b.op1('Gather', [tokW, ids], { axis: 0 }, `${e}/token_embedding/Gather_output_0`, `${e}/token_embedding/Gather`);
  const shape = b.op1('Shape', [ids], {}, `${e}/Shape_output_0`, `${e}/Shape`);
  const seq = b.op1('Gather', [shape, b.constI(`${e}/Constant_output_0`, [], [1])], { axis: 0 }, `${e}/Gather_output_0`, `${e}/Gather`);
  const seq1 = b.op1('Unsqueeze', [seq, b.constI(`${e}/Constant_1_output_0`, [1], [0])], {}, `${e}/Unsqueeze_output_0`, `${e}/Unsqueeze`);
  const allPos = b.constI('text_model.embeddings.position_ids', [1, s.context], Array.from({ length: s.context }, (_, i) => i));
  const posIds = b.op1('Slice', [allPos, b.constI(`${e}/Constant_2_output_0`, [1], [0]), seq1, b.constI(`${e}/Constant_3_output_0`, [1], [1])], {}, `${e}/Slice_output_0`, `${e}/Slice`);
  const posW = t.param('text_model.embeddings.position_embedding.weight', [s.context, s.width], 0.5);
  const pos = b.op1('Gather', [posW, posIds], { axis: 0 }, `${e}/position_embedding/Gather_output_0`, `${e}/position_embedding/Gather`);
  const emb = b.op1('Add', [tok, pos], {}, `${e}/Add_output_0`, `${e}/Add`);

  // Causal mask [s,s]: float-min above the diagonal, sliced from a [context,context] constant.
  const full = new Float32Array(s.context * s.context);
  for (let r = 0; r < s.context; r++) for (let c = r + 1; c < s.context; c++) full[r * s.context + c] = FLOAT_MIN;
  const m = '/text_model';
  const maskConst = b.constF(`${m}/Constant_output_0`, [s.context, s.context], full);
  const ends = b.op1('Concat', [seq1, seq1], { axis: 0 }, `${m}/Concat_output_0`, `${m}/Concat`);
  let mask = b.op1('Slice', [maskConst, b.constI(`${m}/Constant_1_output_0`, [2], [0, 0]), ends, b.constI(`${m}/Constant_2_output_0`, [2], [0, 1])], {}, `${m}/Slice_output_0`, `${m}/Slice`);
  if (attentionMask) {
    const f = b.op1('Cast', [attentionMask], { to: 1 }, `${m}/Cast_output_0`, `${m}/Cast`);
    const inv = b.op1('Sub', [b.constF(`${m}/Constant_3_output_0`, [], [1]), f], {}, `${m}/Sub_output_0`, `${m}/Sub`);
    const big = b.op1('Mul', [inv, b.constF(`${m}/Constant_4_output_0`, [], [FLOAT_MIN])], {}, `${m}/Mul_output_0`, `${m}/Mul`);
    const ext = b.op1('Unsqueeze', [big, b.constI(`${m}/Constant_5_output_0`, [2], [1, 2])], {}, `${m}/Unsqueeze_output_0`, `${m}/Unsqueeze`);
    mask = b.op1('Add', [mask, ext], {}, `${m}/Add_output_0`, `${m}/Add`);
  }
  let h = emb;
  for (let i = 0; i < s.layers; i++) h = t.encoderLayer(h, 'text_model', i, s, mask);
  const fin = t.layerNorm(h, '/text_model/final_layer_norm', 'text_model.final_layer_norm', s.width, names.hidden);
  const ids32 = b.op1('Cast', [ids], { to: 6 }, `${m}/Cast_1_output_0`, `${m}/Cast_1`);
  const eot = b.op1('ArgMax', [ids32], { axis: -1, keepdims: 1 }, `${m}/ArgMax_output_0`, `${m}/ArgMax`);
  const pooled = b.op1('GatherND', [fin, eot], { batch_dims: 1 }, `${m}/GatherND_output_0`, `${m}/GatherND`);
  const proj = t.linear(pooled, '/text_projection', 'text_projection', s.width, s.projection, false, names.embeds);
  return { textEmbeds: proj, lastHidden: fin };
}

export interface GeneratedModel {
  bytes: Uint8Array;
  weights: Weights;
}

/** onnx/vision_model.onnx: pixel_values → image_embeds (+ last_hidden_state). */
export function buildVisionModel(spec: Partial<VisionSpec> = {}, options: Partial<GenOptions> = {}): GeneratedModel & { spec: VisionSpec } {
  const v = { ...DEFAULT_VISION, ...spec };
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const b = new GraphBuilder('main_graph');
  const weights: Weights = new Map();
  const t = new Tower(b, weights, mulberry32(opts.seed), opts);
  const pixel = b.input('pixel_values', 'float32', ['batch_size', 3, v.imageSize, v.imageSize]);
  visionTower(t, v, pixel, 'image_embeds');
  const tokens = (v.imageSize / v.patchSize) ** 2 + (opts.classToken ? 1 : 0) + opts.registers;
  b.output('image_embeds', 'float32', ['batch_size', v.projection]);
  if (opts.lastHiddenState) b.output('last_hidden_state', 'float32', ['batch_size', tokens, v.width]);
  return { bytes: b.build(), weights, spec: v };
}

/** onnx/text_model.onnx: input_ids → text_embeds (+ last_hidden_state). */
export function buildTextModel(spec: Partial<TextSpec> = {}, options: Partial<GenOptions> = {}): GeneratedModel & { spec: TextSpec } {
  const s = { ...DEFAULT_TEXT, ...spec };
  const opts = { ...DEFAULT_OPTIONS, ...options };
  const b = new GraphBuilder('main_graph');
  const weights: Weights = new Map();
  const t = new Tower(b, weights, mulberry32(opts.seed + 1), opts);
  const ids = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  textTower(t, s, ids, null, { embeds: 'text_embeds', hidden: opts.lastHiddenState ? 'last_hidden_state' : undefined });
  b.output('text_embeds', 'float32', ['batch_size', s.projection]);
  if (opts.lastHiddenState) b.output('last_hidden_state', 'float32', ['batch_size', 'sequence_length', s.width]);
  return { bytes: b.build(), weights, spec: s };
}

/** Combined CLIPModel (`model.onnx`): both towers, normalised embeddings and logits. */
export function buildCombinedModel(vision: Partial<VisionSpec> = {}, text: Partial<TextSpec> = {}, options: Partial<GenOptions> = {}): GeneratedModel & { vision: VisionSpec; text: TextSpec } {
  const v = { ...DEFAULT_VISION, ...vision };
  const s = { ...DEFAULT_TEXT, ...text };
  if (v.projection !== s.projection) throw new Error('vision and text projection widths differ');
  const opts = { ...DEFAULT_OPTIONS, ...options, lastHiddenState: false };
  const b = new GraphBuilder('main_graph');
  const weights: Weights = new Map();
  const ids = b.input('input_ids', 'int64', ['text_batch_size', 'sequence_length']);
  const pixel = b.input('pixel_values', 'float32', ['image_batch_size', 3, v.imageSize, v.imageSize]);
  const mask = b.input('attention_mask', 'int64', ['text_batch_size', 'sequence_length']);
  const counter = { matmul: 3000 };
  const tt = textTower(new Tower(b, weights, mulberry32(opts.seed + 1), opts, counter), s, ids, mask).textEmbeds;
  const vt = new Tower(b, weights, mulberry32(opts.seed), opts, counter);
  const vi = visionTower(vt, v, pixel).imageEmbeds;
  const normalise = (x: string, name: string): string => {
    const n = b.op1('ReduceL2', [x], { axes: [-1], keepdims: 1 }, `/${name}/ReduceL2_output_0`, `/${name}/ReduceL2`);
    return b.op1('Div', [x, n], {}, name, `/${name}/Div`);
  };
  const img = normalise(vi, 'image_embeds');
  const txt = normalise(tt, 'text_embeds');
  const scaleP = vt.param('logit_scale', [], 0, 2.6592);
  const scale = b.op1('Exp', [scaleP], {}, '/Exp_output_0', '/Exp');
  const imgT = b.op1('Transpose', [img], { perm: [1, 0] }, '/Transpose_output_0', '/Transpose');
  const sim = b.op1('MatMul', [txt, imgT], {}, '/MatMul_output_0', '/MatMul');
  b.op1('Mul', [sim, scale], {}, 'logits_per_text', '/Mul');
  b.op1('Transpose', ['logits_per_text'], { perm: [1, 0] }, 'logits_per_image', '/Transpose_1');
  b.output('logits_per_image', 'float32', ['image_batch_size', 'text_batch_size']);
  b.output('logits_per_text', 'float32', ['text_batch_size', 'image_batch_size']);
  b.output('text_embeds', 'float32', ['text_batch_size', s.projection]);
  b.output('image_embeds', 'float32', ['image_batch_size', v.projection]);
  return { bytes: b.build(), weights, vision: v, text: s };
}

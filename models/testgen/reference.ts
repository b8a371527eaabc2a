import { LN_EPS, type TextSpec, type VisionSpec, type Weights } from './clip.ts';

/**
 * A plain-JS forward pass of the generated CLIP towers (batch 1, float64 accumulation). Tests use it as
 * an independent reference: it knows by construction which tensor is which, so graph surgery and the
 * generated graphs are both checked against it.
 */

function get(w: Weights, name: string): Float32Array {
  const v = w.get(name);
  if (!v) throw new Error(`reference: missing weight ${name}`);
  return v;
}

/** x [n,k] · w [k,m] (+ bias [m]). */
function linear(x: Float64Array, n: number, k: number, w: Float32Array, m: number, bias?: Float32Array): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = bias ? bias[j] : 0;
      for (let t = 0; t < k; t++) s += x[i * k + t] * w[t * m + j];
      out[i * m + j] = s;
    }
  }
  return out;
}

export function layerNormRows(x: Float64Array, n: number, d: number, gamma: Float32Array, beta: Float32Array): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x[i * d + j];
    mean /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[i * d + j] - mean) ** 2;
    const sd = Math.sqrt(v / d + LN_EPS);
    for (let j = 0; j < d; j++) out[i * d + j] = ((x[i * d + j] - mean) / sd) * gamma[j] + beta[j];
  }
  return out;
}

interface LayerTrace {
  /** q_proj output (before the attention scale) [T,W]. */
  q: Float64Array;
  /** k_proj output [T,W]. */
  k: Float64Array;
  /** attention probabilities [H,T,T]. */
  attn: Float64Array;
}

function encoderLayer(w: Weights, p: string, x: Float64Array, t: number, s: { width: number; heads: number; mlp: number }, causal: boolean): { out: Float64Array; trace: LayerTrace } {
  const d = s.width;
  const hd = d / s.heads;
  const ln1 = layerNormRows(x, t, d, get(w, `${p}.layer_norm1.weight`), get(w, `${p}.layer_norm1.bias`));
  const proj = (name: string): Float64Array => linear(ln1, t, d, get(w, `${p}.self_attn.${name}.weight`), d, get(w, `${p}.self_attn.${name}.bias`));
  const q = proj('q_proj');
  const k = proj('k_proj');
  const v = proj('v_proj');
  const attn = new Float64Array(s.heads * t * t);
  const ctx = new Float64Array(t * d);
  for (let h = 0; h < s.heads; h++) {
    for (let i = 0; i < t; i++) {
      const row = h * t * t + i * t;
      let max = -Infinity;
      for (let j = 0; j < t; j++) {
        let dot = 0;
        for (let c = 0; c < hd; c++) dot += q[i * d + h * hd + c] * k[j * d + h * hd + c];
        const sc = causal && j > i ? -Infinity : dot / Math.sqrt(hd);
        attn[row + j] = sc;
        if (sc > max) max = sc;
      }
      let z = 0;
      for (let j = 0; j < t; j++) {
        attn[row + j] = Math.exp(attn[row + j] - max);
        z += attn[row + j];
      }
      for (let j = 0; j < t; j++) attn[row + j] /= z;
      for (let c = 0; c < hd; c++) {
        let acc = 0;
        for (let j = 0; j < t; j++) acc += attn[row + j] * v[j * d + h * hd + c];
        ctx[i * d + h * hd + c] = acc;
      }
    }
  }
  const o = linear(ctx, t, d, get(w, `${p}.self_attn.out_proj.weight`), d, get(w, `${p}.self_attn.out_proj.bias`));
  const mid = x.map((val, i) => val + o[i]);
  const ln2 = layerNormRows(mid, t, d, get(w, `${p}.layer_norm2.weight`), get(w, `${p}.layer_norm2.bias`));
  const f1 = linear(ln2, t, d, get(w, `${p}.mlp.fc1.weight`), s.mlp, get(w, `${p}.mlp.fc1.bias`));
  const g = f1.map((z) => z / (1 + Math.exp(-1.702 * z)));
  const f2 = linear(g, t, s.mlp, get(w, `${p}.mlp.fc2.weight`), d, get(w, `${p}.mlp.fc2.bias`));
  return { out: mid.map((val, i) => val + f2[i]), trace: { q, k, attn } };
}

export interface VisionReference {
  /** Residual stream r_0 (after pre_layrnorm) … r_L, each [T,W]; hidden[k] = HF hidden_states[k]. */
  hidden: Float64Array[];
  layers: LayerTrace[];
  /** visual_projection(post_layernorm(r_L[CLS])) [P]. */
  imageEmbeds: Float64Array;
  tokens: number;
  /** Register tokens: rows 1..registers after [CLS], rows 0..registers − 1 in a tower without [CLS]. */
  registers: number;
  /** Tokens before the first patch ([CLS], if any, and the registers). */
  prefix: number;
}

/** pixels: [3,S,S] row-major (batch 1). */
export function visionReference(w: Weights, v: VisionSpec, pixels: Float32Array): VisionReference {
  const g = v.imageSize / v.patchSize;
  const d = v.width;
  // Register tokens (when generated) sit between [CLS] (if any) and the patches, without position embeddings.
  const registers = w.get('vision_model.embeddings.register_tokens') ?? new Float32Array(0);
  const r = registers.length / d;
  const cls = w.get('vision_model.embeddings.class_embedding') ?? null;
  const first = cls ? 1 : 0;
  const t = g * g + first + r;
  const conv = get(w, 'vision_model.embeddings.patch_embedding.weight');
  const pos = get(w, 'vision_model.embeddings.position_embedding.weight');
  const x = new Float64Array(t * d);
  if (cls) for (let c = 0; c < d; c++) x[c] = cls[c] + pos[c];
  x.set(registers, first * d);
  const p = v.patchSize;
  const s = v.imageSize;
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      const patch = first + gy * g + gx;
      const row = patch + r;
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let ch = 0; ch < 3; ch++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) acc += conv[((c * 3 + ch) * p + ky) * p + kx] * pixels[(ch * s + gy * p + ky) * s + gx * p + kx];
          }
        }
        x[row * d + c] = acc + pos[patch * d + c];
      }
    }
  }
  let h: Float64Array = layerNormRows(x, t, d, get(w, 'vision_model.pre_layrnorm.weight'), get(w, 'vision_model.pre_layrnorm.bias'));
  const hidden = [h];
  const layers: LayerTrace[] = [];
  for (let i = 0; i < v.layers; i++) {
    const r = encoderLayer(w, `vision_model.encoder.layers.${i}`, h, t, v, false);
    h = r.out;
    hidden.push(h);
    layers.push(r.trace);
  }
  // [CLS] pooling, or the mean of every token for a tower without [CLS] (the generator's ReduceMean).
  const pooled = cls ? h.subarray(0, d) : meanRows(h, t, d);
  const imageEmbeds = jointEmbeddings(w, v, pooled, 1);
  return { hidden, layers, imageEmbeds, tokens: t, registers: r, prefix: first + r };
}

function meanRows(x: Float64Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(d);
  for (let i = 0; i < rows; i++) for (let c = 0; c < d; c++) out[c] += x[i * d + c];
  for (let c = 0; c < d; c++) out[c] /= rows;
  return out;
}

/** post_layernorm → visual_projection on n rows [n,W] → [n,P]. */
export function jointEmbeddings(w: Weights, v: VisionSpec, rows: Float64Array, n: number): Float64Array {
  const ln = layerNormRows(rows, n, v.width, get(w, 'vision_model.post_layernorm.weight'), get(w, 'vision_model.post_layernorm.bias'));
  return linear(ln, n, v.width, get(w, 'visual_projection.weight'), v.projection);
}

/** text_embeds [P] for one id sequence (causal attention, pooled at the argmax id). */
export function textReference(w: Weights, s: TextSpec, ids: readonly number[]): Float64Array {
  const t = ids.length;
  const d = s.width;
  const tok = get(w, 'text_model.embeddings.token_embedding.weight');
  const pos = get(w, 'text_model.embeddings.position_embedding.weight');
  let h: Float64Array = new Float64Array(t * d);
  for (let i = 0; i < t; i++) for (let c = 0; c < d; c++) h[i * d + c] = tok[ids[i] * d + c] + pos[i * d + c];
  for (let i = 0; i < s.layers; i++) h = encoderLayer(w, `text_model.encoder.layers.${i}`, h, t, s, true).out;
  const fin = layerNormRows(h, t, d, get(w, 'text_model.final_layer_norm.weight'), get(w, 'text_model.final_layer_norm.bias'));
  let eot = 0;
  for (let i = 1; i < t; i++) if (ids[i] > ids[eot]) eot = i;
  return linear(fin.subarray(eot * d, (eot + 1) * d), 1, d, get(w, 'text_projection.weight'), s.projection);
}

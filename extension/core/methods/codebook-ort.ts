// Codebook modes A and B on onnxruntime: one graph run gives the float32 token × prototype products and the
// tokens' row sums of squares (prototype norms are kept per codebook); what float32 cannot decide is settled
// in float64 here.
import type { Matrix } from '../bundle/tensor.ts';
import { f32DotErrorBound, kernelPlan } from '../numeric/gemm.ts';
import { rowSumSquares } from '../numeric/gram.ts';
import { loadOrtGemm } from '../numeric/ort-gemm.ts';
import { WasmDots } from './codebook-dot-wasm.ts';
import { scratchF32, scratchF64, scratchI32 } from '../numeric/scratch.ts';

/** Float64 cosines of token rows against prototype rows, from the source values; norms computed on demand. */
export class ExactCosines {
  private readonly invX: Float64Array;
  private readonly invC: Float64Array;
  private readonly d: number;
  private readonly pair = new Float64Array(2);
  /** SIMD dots for float32 rows long enough to pay for copying them in. */
  private readonly wasm: WasmDots | null;

  constructor(
    private readonly x: Matrix,
    private readonly cb: Matrix,
  ) {
    this.d = x.cols;
    this.invX = new Float64Array(x.rows).fill(NaN);
    this.invC = new Float64Array(cb.rows).fill(NaN);
    this.wasm = this.d >= 64 ? WasmDots.load() : null;
  }

  /** x̂_i · ĉ_p: the raw float64 dot times both inverse norms (norms clamped at 1e-12). */
  cosine(i: number, p: number): number {
    const d = this.d;
    let s: number;
    const xs = this.x.data;
    const cs = this.cb.data;
    if (this.wasm && xs instanceof Float32Array && cs instanceof Float32Array) {
      // Same partial sums in SIMD lanes; the tail and the combination as in dot / rowSumSquares.
      const q = this.wasm.partials(this, xs, i, cs, p, d);
      let s0 = q[0];
      const s1 = q[1];
      const s23 = q[2] + q[3];
      for (let k = d & ~3; k < d; k++) s0 += xs[i * d + k] * cs[p * d + k];
      s = s0 + s1 + s23;
      if (Number.isNaN(this.invX[i])) {
        const n = this.wasm.rowPartials(xs, i);
        let n0 = n[0];
        for (let k = d & ~3; k < d; k++) n0 += xs[i * d + k] * xs[i * d + k];
        this.invX[i] = 1 / Math.max(Math.sqrt(n0 + n[1] + (n[2] + n[3])), 1e-12);
      }
    } else if (Number.isNaN(this.invX[i])) {
      // The token's norm from the same pass over its row.
      dotAndSquares(xs, i * d, cs, p * d, d, this.pair);
      s = this.pair[0];
      this.invX[i] = 1 / Math.max(Math.sqrt(this.pair[1]), 1e-12);
    } else s = dot(xs, i * d, cs, p * d, d);
    if (Number.isNaN(this.invC[p])) this.invC[p] = 1 / Math.max(Math.sqrt(rowSumSquares(cs, p * d, d)), 1e-12);
    return s * this.invX[i] * this.invC[p];
  }
}

type Floats = Float32Array | Float64Array;

// Float64 sums with four partial sums each (hides the add latency), added up in the same order as the Gram
// kernels' row norms (rowSumSquares).

function dot(a: Floats, ao: number, b: Floats, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = d & ~3;
  let k = 0;
  for (; k < end; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < d; k++) s0 += a[ao + k] * b[bo + k];
  return s0 + s1 + (s2 + s3);
}

/** out[0] = Σ a_k·b_k and out[1] = Σ a_k², from one pass (each sum as dot and rowSumSquares form it). */
function dotAndSquares(a: Floats, ao: number, b: Floats, bo: number, d: number, out: Float64Array): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  let q3 = 0;
  const end = d & ~3;
  let k = 0;
  for (; k < end; k += 4) {
    const x0 = a[ao + k];
    const x1 = a[ao + k + 1];
    const x2 = a[ao + k + 2];
    const x3 = a[ao + k + 3];
    s0 += x0 * b[bo + k];
    s1 += x1 * b[bo + k + 1];
    s2 += x2 * b[bo + k + 2];
    s3 += x3 * b[bo + k + 3];
    q0 += x0 * x0;
    q1 += x1 * x1;
    q2 += x2 * x2;
    q3 += x3 * x3;
  }
  for (; k < d; k++) {
    s0 += a[ao + k] * b[bo + k];
    q0 += a[ao + k] * a[ao + k];
  }
  out[0] = s0 + s1 + (s2 + s3);
  out[1] = q0 + q1 + (q2 + q3);
}

export interface OrtMax {
  /** Per token the max cosine: from the float32 product (within `eps` of float64) unless settled. */
  readonly r: Float64Array;
  /** Argmax prototype per token (certified: the float64 argmax, first maximum in prototype order). */
  readonly arg: number[];
  /** 1 where r is the float64 cosine. */
  readonly settled: Uint8Array;
  /** Bound on |r − float64 r| for unsettled tokens. */
  readonly eps: number;
  readonly exact: ExactCosines;
}

/**
 * Bound on |cos' − cos| for cos' = G·(1/√SA)·(1/√SB) in float64 from the graph's float32 product G and
 * row sums of squares SA, SB; b = f32DotErrorBound(d) = γ_d + 3u. G errs by ≤ γ_d·‖a‖‖c‖ (any summation
 * order), each sum of squares by ≤ γ_d relative, so each inverse norm by ≤ γ_d/2·(1 + 2γ_d):
 * |cos' − cos| ≤ 2γ_d + 3.25γ_d² + O(1e-16) ≤ 2b + 4b². Sources rounded to float32 on the way in move each
 * cosine by ≤ 2u per side (+ 8u, with room).
 */
export function graphErrorBound(d: number, roundedInputs: boolean): number {
  const b = f32DotErrorBound(d);
  return 2 * b + 4 * b * b + (roundedInputs ? 8 * 2 ** -24 : 0);
}

/** Norms in this range keep float32 products and squares clear of overflow and underflow. */
const RAW_MIN = 1e-12;
const RAW_MAX = 1e12;

/** Tokens per prototype from which the product is computed as cb·xᵀ. */
const SWAP_RATIO = 4;

/**
 * The codebook's inverse norms, kept per codebook array (a codebook is fixed across runs; arrays are not
 * modified in place once loaded): float64 sums of squares of the float32 values the graph multiplies,
 * which satisfies the same bound as the graph's float32 sums. Null when a norm is out of range.
 */
const codebookNorms = new WeakMap<Float32Array | Float64Array, { rows: number; cols: number; inv: Float64Array | null }>();

function codebookInverseNorms(cb: Matrix, cb32: Float32Array): Float64Array | null {
  const hit = codebookNorms.get(cb.data);
  if (hit && hit.rows === cb.rows && hit.cols === cb.cols) return hit.inv;
  const d = cb.cols;
  const squares = new Float64Array(cb.rows);
  for (let p = 0; p < cb.rows; p++) squares[p] = rowSumSquares(cb32, p * d, d);
  const inv = inverseNorms(squares);
  codebookNorms.set(cb.data, { rows: cb.rows, cols: cb.cols, inv });
  return inv;
}

function inverseNorms(squares: Float32Array | Float64Array): Float64Array | null {
  const inv = new Float64Array(squares.length);
  for (let i = 0; i < squares.length; i++) {
    const nrm = Math.sqrt(squares[i]);
    if (!(nrm >= RAW_MIN && nrm <= RAW_MAX)) return null;
    inv[i] = 1 / nrm;
  }
  return inv;
}

/**
 * Max cosine and argmax prototype per token from one onnxruntime run (float32 product and sums of squares;
 * the L×P products land in a reused buffer and are scanned here, cheaper than the graph's TopK), or null
 * when the plan is not float32 on onnxruntime or a norm lies outside [1e-12, 1e12]. Rows whose runner-up
 * lies within 2·eps of the max are settled on those contenders in float64 (first maximum in prototype
 * order); the others keep the float32-based max with a certified argmax.
 */
export function ortMax(x: Matrix, cb: Matrix): OrtMax | null {
  const L = x.rows;
  const P = cb.rows;
  const d = x.cols;
  const plan = kernelPlan(L * P * d);
  const ort = plan.backend === 'ort' && plan.precision === 'f32' && P >= 2 ? loadOrtGemm() : null;
  if (!ort) return null;
  const f32 = (m: Matrix): Float32Array => (m.data instanceof Float32Array ? m.data : Float32Array.from(m.data));
  const cb32 = f32(cb);
  const invC = codebookInverseNorms(cb, cb32);
  if (!invC) return null;
  // Many more tokens than prototypes: onnxruntime's Gemm runs faster as cb·xᵀ (2880×256: ≈ 4 %).
  const swap = L >= SWAP_RATIO * P;
  const prod = scratchF32('codebook.product', L * P);
  const invX = inverseNorms(ort.gemmSquaresA(f32(x), L, cb32, P, d, prod, swap));
  if (!invX) return null;
  const eps = graphErrorBound(d, !(x.data instanceof Float32Array && cb.data instanceof Float32Array));
  const exact = new ExactCosines(x, cb);
  const r = new Float64Array(L);
  const arg = new Array<number>(L);
  const settled = new Uint8Array(L);
  // Entry (i, p) of the product in either layout.
  const rowStride = swap ? 1 : P;
  const protoStride = swap ? L : 1;
  // Best and runner-up of G·(1/‖c‖) per token, prototypes in ascending order (strict >: the first maximum
  // keeps the lower prototype); prototype-major when the product is [P, L], so the scan runs along memory.
  const b1 = scratchF64('codebook.b1', L).fill(-Infinity);
  const b2 = scratchF64('codebook.b2', L).fill(-Infinity);
  const bestOf = scratchI32('codebook.best', L).fill(0);
  if (swap) {
    for (let p = 0; p < P; p++) {
      const o = p * L;
      const c = invC[p];
      for (let i = 0; i < L; i++) {
        const v = prod[o + i] * c;
        if (v > b2[i]) {
          if (v > b1[i]) {
            b2[i] = b1[i];
            b1[i] = v;
            bestOf[i] = p;
          } else b2[i] = v;
        }
      }
    }
  } else {
    for (let i = 0; i < L; i++) {
      const o = i * P;
      let t1 = -Infinity;
      let t2 = -Infinity;
      let best = 0;
      for (let p = 0; p < P; p++) {
        const v = prod[o + p] * invC[p];
        if (v > t2) {
          if (v > t1) {
            t2 = t1;
            t1 = v;
            best = p;
          } else t2 = v;
        }
      }
      b1[i] = t1;
      b2[i] = t2;
      bestOf[i] = best;
    }
  }
  for (let i = 0; i < L; i++) {
    const sx = invX[i];
    const top = b1[i] * sx;
    r[i] = top;
    arg[i] = bestOf[i];
    if (!(b2[i] * sx >= top - 2 * eps)) continue;
    // Near-tied best prototypes: every contender in float64, first maximum in prototype order.
    const o = i * rowStride;
    let v = -Infinity;
    let p0 = -1;
    for (let p = 0; p < P; p++) {
      if (!(prod[o + p * protoStride] * invC[p] * sx >= top - 2 * eps)) continue;
      const e = exact.cosine(i, p);
      if (e > v) {
        v = e;
        p0 = p;
      }
    }
    r[i] = v;
    arg[i] = p0;
    settled[i] = 1;
  }
  return { r, arg, settled, eps, exact };
}

// Codebook modes A and B on onnxruntime: one graph run gives the float32 products of the unit prototypes
// (kept per codebook) with the tokens and the tokens' row sums of squares; WebAssembly column scans find each
// token's max and near-tied prototypes, and what float32 cannot decide is settled in float64 here.
import type { Matrix } from '../bundle/tensor.ts';
import { f32DotErrorBound, kernelPlan } from '../numeric/gemm.ts';
import { rowSumSquares } from '../numeric/gram.ts';
import { loadOrtGemm } from '../numeric/ort-gemm.ts';
import { WasmDots } from './codebook-dot-wasm.ts';
import { scratchF32 } from '../numeric/scratch.ts';
import { roundDown32 } from '../numeric/float32.ts';
import { CodebookScan, columnContenders, columnMaxima } from './codebook-scan-wasm.ts';

/** Float64 cosines of token rows against prototype rows, from the source values; norms computed on demand. */
export class ExactCosines {
  private readonly invX: Float64Array;
  private readonly invC: Float64Array;
  private readonly d: number;
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
    } else {
      s = dot(xs, i * d, cs, p * d, d);
      if (Number.isNaN(this.invX[i])) this.invX[i] = 1 / Math.max(Math.sqrt(rowSumSquares(xs, i * d, d)), 1e-12);
    }
    if (Number.isNaN(this.invC[p])) this.invC[p] = 1 / Math.max(Math.sqrt(rowSumSquares(cs, p * d, d)), 1e-12);
    return s * this.invX[i] * this.invC[p];
  }
}

type Floats = Float32Array | Float64Array;

/** Float64 Σ a_k·b_k with four partial sums (hides the add latency), added up as rowSumSquares adds its own. */
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
 * Bound on |cos' − cos| for cos' = G·(1/√SA) in float64, from the graph's float32 product G = x·ĉ with the
 * float32 unit prototypes ĉ and the tokens' float32 row sums of squares SA; b = f32DotErrorBound(d) = γ_d + 3u.
 * Rounding ĉ to float32 moves x·ĉ by ≤ u·‖x‖, G errs by ≤ γ_d·‖x‖·(1 + u) (any summation order), SA by
 * ≤ γ_d relative, so 1/√SA by ≤ γ_d/2·(1 + 2γ_d): |cos' − cos| ≤ 1.5γ_d + u + O(γ_d²) ≤ 2b + 4b². Sources
 * rounded to float32 on the way in move each cosine by ≤ 2u per side (+ 8u, with room).
 */
export function graphErrorBound(d: number, roundedInputs: boolean): number {
  const b = f32DotErrorBound(d);
  return 2 * b + 4 * b * b + (roundedInputs ? 8 * 2 ** -24 : 0);
}

/** Norms in this range keep float32 products and squares clear of overflow and underflow. */
const RAW_MIN = 1e-12;
const RAW_MAX = 1e12;

/**
 * Unit prototypes in float32 (ĉ_p = c_p/‖c_p‖, the norm from float64 sums of squares of the float32 values),
 * kept per codebook array: a codebook is fixed across runs (arrays are not modified in place once loaded),
 * and the official code normalises it on every call. Null when a norm is out of range.
 */
const unitCodebooks = new WeakMap<Float32Array | Float64Array, { rows: number; cols: number; unit: Float32Array | null }>();

export function unitCodebook(cb: Matrix): Float32Array | null {
  const hit = unitCodebooks.get(cb.data);
  if (hit && hit.rows === cb.rows && hit.cols === cb.cols) return hit.unit;
  const d = cb.cols;
  const cb32 = cb.data instanceof Float32Array ? cb.data : Float32Array.from(cb.data);
  let unit: Float32Array | null = new Float32Array(cb.rows * d);
  for (let p = 0; p < cb.rows && unit; p++) {
    const nrm = Math.sqrt(rowSumSquares(cb32, p * d, d));
    if (!(nrm >= RAW_MIN && nrm <= RAW_MAX)) unit = null;
    else for (let k = p * d; k < (p + 1) * d; k++) unit[k] = cb32[k] / nrm;
  }
  unitCodebooks.set(cb.data, { rows: cb.rows, cols: cb.cols, unit });
  return unit;
}

/**
 * Max cosine and argmax prototype per token from one onnxruntime run (float32 product ĉ·xᵀ [P, L] and the
 * tokens' sums of squares), or null when the plan is not float32 on onnxruntime or a norm lies outside
 * [1e-12, 1e12]. Two passes over the product run along memory: the per-token max, then each token's
 * contenders (entries within 2·eps of it). A token with one contender keeps it as a certified argmax and
 * the float32-based max; tokens with several are settled on them in float64 (first maximum in prototype
 * order).
 */
export function ortMax(x: Matrix, cb: Matrix): OrtMax | null {
  const L = x.rows;
  const P = cb.rows;
  const d = x.cols;
  const plan = kernelPlan(L * P * d);
  const ort = plan.backend === 'ort' && plan.precision === 'f32' && P >= 2 ? loadOrtGemm() : null;
  if (!ort) return null;
  const unit = unitCodebook(cb);
  if (!unit) return null;
  const scan = CodebookScan.load();
  const prod = scan ? scan.product(P, L) : scratchF32('codebook.product', L * P);
  const squares = ort.gemmSquaresA(x.data instanceof Float32Array ? x.data : Float32Array.from(x.data), L, unit, P, d, prod);
  const eps = graphErrorBound(d, !(x.data instanceof Float32Array && cb.data instanceof Float32Array));
  let top: Float32Array;
  if (scan) top = scan.maxima();
  else columnMaxima(prod, P, L, 0, (top = new Float32Array(L).fill(-Infinity)));
  // A contender's product lies at or above top − 2·eps·‖x_i‖ (rounded down to float32: never fewer).
  const invX = new Float64Array(L);
  const floor = new Float32Array(L);
  for (let i = 0; i < L; i++) {
    const nrm = Math.sqrt(squares[i]);
    if (!(nrm >= RAW_MIN && nrm <= RAW_MAX)) return null;
    invX[i] = 1 / nrm;
    floor[i] = roundDown32(top[i] - 2 * eps * nrm);
  }
  let count: Int32Array;
  let last: Int32Array;
  if (scan) ({ count, last } = scan.contenders(floor));
  else columnContenders(prod, P, L, floor, 0, (count = new Int32Array(L)), (last = new Int32Array(L)));
  const exact = new ExactCosines(x, cb);
  const r = new Float64Array(L);
  const arg = new Array<number>(L);
  const settled = new Uint8Array(L);
  for (let i = 0; i < L; i++) {
    if (count[i] === 1) {
      r[i] = top[i] * invX[i];
      arg[i] = last[i];
      continue;
    }
    // Near-tied best prototypes: every contender in float64, first maximum in prototype order.
    let v = -Infinity;
    let p0 = -1;
    for (let p = 0; p < P; p++) {
      if (!(prod[p * L + i] >= floor[i])) continue;
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

// Dense C = A·Bᵀ for the similarity kernels: onnxruntime's MLAS GEMM (float32, tens of GFLOP/s) when it
// pays off, else a blocked TypeScript kernel in float64. The plan is chosen per product, by size: small
// products (every oracle case, the §8 toys) stay in float64 TypeScript, exactly as before; large ones run in
// float32 like the official code, and callers re-decide in float64 whatever lies within the float32 error
// bound of a decision (see f32DotErrorBound).
import { gemmNTSimd } from './gemm-wasm.ts';
import { loadOrtGemm, ortByDefaultHere, ortGemmError } from './ort-gemm.ts';

export type KernelBackend = 'auto' | 'ort' | 'ts';
export type KernelPrecision = 'auto' | 'f32' | 'f64';
export type FloatArray = Float32Array | Float64Array;

export interface KernelPlan {
  readonly backend: 'ort' | 'ts';
  readonly precision: 'f32' | 'f64';
  /** onnxruntime's pool threads sleep as soon as a product ends (another thread of ours needs the cores). */
  readonly quiet?: boolean;
}

/** Products below this many multiply-adds run in TypeScript under 'auto' (measured crossover, see BENCHMARKS.md). */
export const ORT_MIN_MACS = 1 << 21;

let backend: KernelBackend = parse(process.env.PRUNELENS_KERNELS, ['auto', 'ort', 'ts'], 'auto');
let precision: KernelPrecision = parse(process.env.PRUNELENS_PRECISION, ['auto', 'f32', 'f64'], 'auto');

function parse<T extends string>(v: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(v as T) ? (v as T) : fallback;
}

/**
 * Force a backend and/or precision. 'ts' keeps every kernel in TypeScript (a process that must not load
 * native code); precision 'f64' gives the float64 results of the original implementation at any size.
 */
export function configureKernels(opts: { backend?: KernelBackend; precision?: KernelPrecision }): void {
  if (opts.backend) backend = opts.backend;
  if (opts.precision) precision = opts.precision;
}

export function kernelSettings(): { backend: KernelBackend; precision: KernelPrecision } {
  return { backend, precision };
}

/** Backend and precision for a product of `macs` multiply-adds. */
export function kernelPlan(macs: number): KernelPlan {
  let b: 'ort' | 'ts' = 'ts';
  if (backend === 'ort' || (backend === 'auto' && macs >= ORT_MIN_MACS && ortByDefaultHere())) {
    if (loadOrtGemm()) b = 'ort';
    else if (backend === 'ort') throw new Error(`PRUNELENS_KERNELS=ort but onnxruntime is unavailable: ${ortGemmError()}`);
  }
  const p: 'f32' | 'f64' = precision === 'auto' ? (b === 'ort' ? 'f32' : 'f64') : precision;
  return { backend: b, precision: p };
}

/** Whether a kernel of `macs` multiply-adds should run on onnxruntime (forced, or large enough in a thread that may load it). */
export function useOrt(macs: number, minMacs: number): boolean {
  if (backend === 'ts') return false;
  if (backend === 'auto' && !(macs >= minMacs && ortByDefaultHere())) return false;
  return loadOrtGemm() !== null;
}

/** Products of at least this many multiply-adds that are matrix–vector shaped (memory-bound) go to onnxruntime. */
export const ORT_MIN_GEMV_MACS = 1 << 16;

/** Bound on the error of one product entry of unit rows of width d under a plan (0 for float64). */
export function planErrorBound(plan: KernelPlan, d: number): number {
  return plan.precision === 'f32' ? f32DotErrorBound(d) : 0;
}

/**
 * out[i·n + j] = a_i · b_j for row-major a [m,k] and b [n,k] (views are fine). The array type carries the
 * precision: float32 in → float32 out.
 */
export function gemmNT<T extends FloatArray>(plan: KernelPlan, a: T, m: number, b: T, n: number, k: number, out: T): T {
  if (m === 0 || n === 0) return out;
  const ort = plan.backend === 'ort' ? loadOrtGemm() : null;
  if (ort) ort.gemmNT(a, m, b, n, k, out, plan.quiet);
  else tsGemmNT(a, m, b, n, k, out);
  return out;
}

/** Below this many multiply-adds, staging the operands for WebAssembly costs more than it saves. */
const SIMD_MIN_MACS = 1 << 15;

const TILE_I = 32;
const TILE_J = 32;
const DEPTH = 256;

/** Blocked C = A·Bᵀ with a 4×2 register block, sums in float64: WebAssembly SIMD (the same sums) above a small size. */
export function tsGemmNT(a: FloatArray, m: number, b: FloatArray, n: number, k: number, out: FloatArray): void {
  const acc = out instanceof Float64Array ? out : new Float64Array(m * n);
  if (m * n * k >= SIMD_MIN_MACS && gemmNTSimd(a, m, b, n, k, acc)) {
    if (acc !== out) out.set(acc);
    return;
  }
  acc.fill(0, 0, m * n);
  if (k > 0) {
    for (let i0 = 0; i0 < m; i0 += TILE_I) {
      const i1 = Math.min(m, i0 + TILE_I);
      for (let j0 = 0; j0 < n; j0 += TILE_J) {
        const j1 = Math.min(n, j0 + TILE_J);
        for (let k0 = 0; k0 < k; k0 += DEPTH) tile(a, b, acc, n, k, i0, i1, j0, j1, k0, Math.min(k, k0 + DEPTH));
      }
    }
  }
  if (acc !== out) out.set(acc);
}

function tile(a: FloatArray, b: FloatArray, c: Float64Array, n: number, k: number, i0: number, i1: number, j0: number, j1: number, k0: number, k1: number): void {
  const iEnd = i0 + ((i1 - i0) & ~3);
  const jEnd = j0 + ((j1 - j0) & ~1);
  for (let i = i0; i < iEnd; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let j = j0; j < jEnd; j += 2) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let t = k0; t < k1; t++) {
        const u = b[b0 + t];
        const v = b[b1 + t];
        const p = a[a0 + t];
        s00 += p * u;
        s01 += p * v;
        const q = a[a1 + t];
        s10 += q * u;
        s11 += q * v;
        const r = a[a2 + t];
        s20 += r * u;
        s21 += r * v;
        const w = a[a3 + t];
        s30 += w * u;
        s31 += w * v;
      }
      const o = i * n + j;
      c[o] += s00;
      c[o + 1] += s01;
      c[o + n] += s10;
      c[o + n + 1] += s11;
      c[o + 2 * n] += s20;
      c[o + 2 * n + 1] += s21;
      c[o + 3 * n] += s30;
      c[o + 3 * n + 1] += s31;
    }
  }
  // Ragged edges of the tile (fewer than 4 rows / 2 columns left).
  for (let i = i0; i < i1; i++) {
    for (let j = i < iEnd ? jEnd : j0; j < j1; j++) {
      const ai = i * k;
      const bj = j * k;
      let s = 0;
      for (let t = k0; t < k1; t++) s += a[ai + t] * b[bj + t];
      c[i * n + j] += s;
    }
  }
}

/**
 * Bound on |fl32(x̂·ŷ) − x̂·ŷ| for unit vectors of width d: rounding the inputs to float32 (≈2u) plus the
 * worst-case float32 dot-product error γ_d = d·u/(1 − d·u), u = 2⁻²⁴ (any summation order, FMA or not).
 * Entries farther than this from a decision threshold are decided by the float32 value; callers recompute
 * the rest in float64.
 */
export function f32DotErrorBound(d: number): number {
  const u = 2 ** -24;
  return (d * u) / (1 - d * u) + 3 * u;
}

// Float64 dot products of float32 rows as a WebAssembly SIMD loop, for the codebook's float64 re-checks.
// Lanes (s0, s1) and (s2, s3) take exactly the products and sums of the TypeScript loop's four partial sums
// (each float32 widened exactly, product and sum rounded once each, no fused multiply-add), so callers that
// add the tail and combine s0 + s1 + (s2 + s3) get bit-identical results.

import { growTo, instantiateKernel, V128 } from '../numeric/wasm-module.ts';
import { partialSumsCode } from '../numeric/sumsq-wasm.ts';

/**
 * Dot products of one token row against codebook rows, both float32, inside WebAssembly memory. Rows are
 * copied in when first needed by the current owner (one ExactCosines, i.e. one run), so arrays changed in
 * place between runs are never read stale.
 */
export class WasmDots {
  private readonly mem: WebAssembly.Memory;
  private readonly partial: (a: number, b: number, n: number, out: number) => void;
  private owner: object | null = null;
  private loaded = new Uint8Array(0);
  private row = -1;
  private d = 0;
  private f64: Float64Array;
  private static readonly ROW_AT = 64;

  private constructor() {
    const kernel = instantiateKernel<(a: number, b: number, n: number, out: number) => void>('partial', 4, [1, 4, V128], partialSumsCode());
    this.mem = kernel.mem;
    this.partial = kernel.fn;
    this.f64 = new Float64Array(this.mem.buffer, 0, 4);
  }

  private claim(owner: object, rows: number, d: number): void {
    if (this.owner === owner) return;
    growTo(this.mem, this.protoAt(rows, d));
    this.f64 = new Float64Array(this.mem.buffer, 0, 4);
    this.owner = owner;
    this.loaded = new Uint8Array(rows);
    this.row = -1;
    this.d = d;
  }

  private protoAt(p: number, d: number): number {
    return WasmDots.ROW_AT + (p + 1) * d * 4;
  }

  private loadRow(x: Float32Array, i: number): void {
    if (this.row === i) return;
    const d = this.d;
    new Float32Array(this.mem.buffer, WasmDots.ROW_AT, d).set(x.subarray(i * d, (i + 1) * d));
    this.row = i;
  }

  /** The four partial sums of x_i · c_p over the first ⌊d/4⌋·4 entries (x [·, d], cb [P, d]). */
  partials(owner: object, x: Float32Array, i: number, cb: Float32Array, p: number, d: number): Float64Array {
    this.claim(owner, cb.length / d, d);
    this.loadRow(x, i);
    const at = this.protoAt(p, d);
    if (!this.loaded[p]) {
      new Float32Array(this.mem.buffer, at, d).set(cb.subarray(p * d, (p + 1) * d));
      this.loaded[p] = 1;
    }
    this.partial(WasmDots.ROW_AT, at, d >> 2, 0);
    return this.f64;
  }

  /** The four partial sums of x_i · x_i (call after partials for the same owner and row). */
  rowPartials(x: Float32Array, i: number): Float64Array {
    this.loadRow(x, i);
    this.partial(WasmDots.ROW_AT, WasmDots.ROW_AT, this.d >> 2, 0);
    return this.f64;
  }

  private static cached: WasmDots | null | undefined;

  /** The kernel, or null where WebAssembly SIMD is unavailable (callers then use the TypeScript loops). */
  static load(): WasmDots | null {
    if (WasmDots.cached === undefined) {
      try {
        WasmDots.cached = new WasmDots();
      } catch {
        WasmDots.cached = null;
      }
    }
    return WasmDots.cached;
  }
}

// ToMe's token states in WebAssembly memory, so every per-step pass runs in SIMD without copies: the cosine
// operands (sums of squares, then scaling to float32 straight into the GEMM's operand buffers), the float64
// re-checks of the best matches, and the merging into the other state buffer. Each kernel performs the
// TypeScript loops' operations in their order (see sumsq-wasm, demote-wasm, row-ops-wasm): bit-identical.

import type { Matrix } from '../../bundle/tensor.ts';
import type { KernelPlan } from '../../numeric/gemm.ts';
import { type CosineRows, exactCross } from '../../numeric/gram.ts';
import { scaleCode } from '../../numeric/demote-wasm.ts';
import { rowOpBodies, type RowOpFns } from '../../numeric/row-ops-wasm.ts';
import { squaresCode } from '../../numeric/sumsq-wasm.ts';
import { growTo, I32, instantiateKernels, V128 } from '../../numeric/wasm-module.ts';

type Squares = (a: number, pairs: number, groups: number, stride: number, out: number) => void;
type Scale = (rows: number, count: number, d: number, inv: number, out: number, stride: number) => void;

/**
 * Memory kept between runs at most (LLaVA-NeXT's 2,880 × 4,096 needs 236 MB: kept, so a budget slider stays
 * warm); a larger run's engine is dropped afterwards, since WebAssembly memory cannot shrink.
 */
const RETAIN_BYTES = 320 << 20;
/** Larger runs keep their states in TypeScript buffers (wasm32 memory ends at 4 GiB). */
const MAX_BYTES = 2 ** 31;
const PARAM_AT = 0;
const STATE_AT = 64;

/** undefined: not made yet; null: WebAssembly SIMD is unavailable. */
let cached: TomeWasm | null | undefined;

/** Parameters, two float64 states, the two float32 operand halves, partial sums and scales. */
function layoutBytes(n: number, d: number): number {
  const half = Math.ceil(n / 2);
  return STATE_AT + 2 * n * d * 8 + 2 * half * d * 4 + half * 40;
}

/** The engine for n tokens of width d: states, operands and kernels over one memory. */
export class TomeWasm {
  private readonly params: Float64Array;
  private readonly states: [Float64Array, Float64Array];
  private readonly operands: [Float32Array, Float32Array];
  private readonly sums: Float64Array;
  private readonly invs: Float64Array;
  private readonly sumsAt: number;
  private readonly invAt: number;

  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly squares: Squares,
    private readonly scale: Scale,
    private readonly ops: RowOpFns,
    readonly n: number,
    readonly d: number,
  ) {
    const stateBytes = n * d * 8;
    const half = Math.ceil(n / 2);
    const opA = STATE_AT + 2 * stateBytes;
    const opB = opA + half * d * 4;
    this.sumsAt = opB + half * d * 4;
    this.invAt = this.sumsAt + half * 32;
    growTo(mem, layoutBytes(n, d));
    const buf = mem.buffer;
    this.params = new Float64Array(buf, PARAM_AT, 8);
    this.states = [new Float64Array(buf, STATE_AT, n * d), new Float64Array(buf, STATE_AT + stateBytes, n * d)];
    this.operands = [new Float32Array(buf, opA, half * d), new Float32Array(buf, opB, half * d)];
    this.sums = new Float64Array(buf, this.sumsAt, half * 4);
    this.invs = new Float64Array(buf, this.invAt, half);
  }

  /** An engine for at least n × d (reused when it fits), or null where SIMD is missing, d is not a multiple of 4 or n × d is too large. */
  static forSize(n: number, d: number): TomeWasm | null {
    if (d % 4 !== 0 || d < 4 || n < 2 || layoutBytes(n, d) > MAX_BYTES || cached === null) return null;
    if (cached && cached.n >= n && cached.d === d) return cached;
    const mem = cached?.mem ?? new WebAssembly.Memory({ initial: 1 });
    let fns: { squares: Squares; scale: Scale; ops: RowOpFns };
    try {
      fns = {
        squares: instantiateKernels<Squares>(5, [{ name: 'squares', locals: [2, 3, I32, 9, V128], code: squaresCode(true) }], false, mem).fns.squares,
        scale: instantiateKernels<Scale>(6, [{ name: 'scale', locals: [2, 4, I32, 1, V128], code: scaleCode(true) }], false, mem).fns.scale,
        ops: instantiateKernels<RowOpFns[keyof RowOpFns]>(4, rowOpBodies(), false, mem).fns as RowOpFns,
      };
    } catch {
      cached = null; // no WebAssembly SIMD here
      return null;
    }
    try {
      cached = new TomeWasm(mem, fns.squares, fns.scale, fns.ops, n, d);
    } catch {
      cached = undefined; // the memory could not grow this far: TypeScript buffers for this run
      return null;
    }
    return cached;
  }

  /** After a run: a large engine is dropped so its memory can be freed (views in results keep it alive as needed). */
  static releaseIfLarge(): void {
    if (cached && cached.mem.buffer.byteLength > RETAIN_BYTES) cached = undefined;
  }

  /** State buffer `slot` (0 or 1), `length` floats. */
  state(slot: 0 | 1, length: number): Float64Array {
    return this.states[slot].subarray(0, length);
  }

  private addressOf(x: Float64Array, row: number): number {
    return x.byteOffset + row * this.d * 8;
  }

  /**
   * Unit float32 operand rows of the state rows parity, parity + 2, … (ToMe's A or B side), as cosineRows
   * computes them for a float32 plan; null unless x is one of this engine's states and the plan is float32.
   */
  cosine(x: Float64Array, t: number, parity: 0 | 1, plan: KernelPlan, eps: number): CosineRows | null {
    if (plan.precision !== 'f32' || x.buffer !== this.mem.buffer) return null;
    const d = this.d;
    const count = parity === 0 ? Math.ceil(t / 2) : Math.floor(t / 2);
    const first = this.addressOf(x, parity);
    const stride = 2 * d * 8;
    const groups = d >> 2;
    this.squares(first, count >> 1, groups, stride, this.sumsAt);
    // An odd last row is paired with itself.
    if (count % 2 === 1) this.squares(first + (count - 1) * stride, 1, groups, 0, this.sumsAt + (count - 1) * 32);
    const norms = new Float64Array(count);
    const inv = new Float64Array(count);
    const self = new Float64Array(count);
    const sums = this.sums;
    for (let i = 0; i < count; i++) {
      const sq = sums[4 * i] + sums[4 * i + 1] + (sums[4 * i + 2] + sums[4 * i + 3]);
      const nrm = Math.sqrt(sq);
      norms[i] = nrm;
      const f = 1 / Math.max(nrm, eps);
      inv[i] = f;
      self[i] = sq * f * f;
      this.invs[i] = f;
    }
    const out = this.operands[parity];
    this.scale(first, count, d, this.invAt, out.byteOffset, stride);
    const src: Matrix = { rows: t, cols: d, data: x };
    const rows = Int32Array.from({ length: count }, (_, i) => 2 * i + parity);
    return { n: count, d, norms, inv, self, post: new Float64Array(count).fill(1), data: out.subarray(0, count * d), src, rows };
  }

  /** exactCross on rows of this engine's states, in place (two partial sums in f64x2 lanes). */
  readonly exact = (u: CosineRows, i: number, v: CosineRows, j: number): number => {
    const x = u.src.data;
    const y = v.src.data;
    if (!(x instanceof Float64Array && y instanceof Float64Array && x.buffer === this.mem.buffer && y.buffer === this.mem.buffer)) return exactCross(u, i, v, j);
    const p = this.params;
    p[0] = u.inv[i];
    p[1] = v.inv[j];
    this.ops.scaledDot(this.addressOf(x, u.rows[i]), this.addressOf(y, v.rows[j]), this.d >> 1, PARAM_AT);
    return p[2] + p[3];
  };

  /** x row `to` = (sx[b]·size_b + Σ_q sx[q]·size_q) / total, members in order (mergeRow's arithmetic). */
  mergeRow(x: Float64Array, to: number, sx: Float64Array, b: number, group: readonly number[], sizes: readonly number[], total: number): void {
    const dst = this.addressOf(x, to);
    const pairs = this.d >> 1;
    const p = this.params;
    p[0] = sizes[b];
    this.ops.scaleInto(dst, this.addressOf(sx, b), pairs, PARAM_AT);
    for (const q of group) {
      p[0] = sizes[q];
      this.ops.addScaled(dst, this.addressOf(sx, q), pairs, PARAM_AT);
    }
    if (total !== 1) {
      p[0] = total;
      this.ops.divideBy(dst, dst, pairs, PARAM_AT);
    }
  }
}

// ToMe's token states in WebAssembly memory, so every per-step pass runs in SIMD without copies: the cosine
// operands (sums of squares, then scaling to float32 straight into the GEMM's operand buffers), the float64
// re-checks of the best matches, and the merging into the other state buffer. Each kernel performs the
// TypeScript loops' operations in their order (see sumsq-wasm, demote-wasm, row-ops-wasm): bit-identical.

import type { Matrix } from '../../bundle/tensor.ts';
import type { KernelPlan } from '../../numeric/gemm.ts';
import { type CosineRows, exactCross, type RowScan, type RowScanner, scanRows } from '../../numeric/gram.ts';
import { scaleCode } from '../../numeric/demote-wasm.ts';
import { rowOpBodies, type RowOpFns } from '../../numeric/row-ops-wasm.ts';
import { squaresCode } from '../../numeric/sumsq-wasm.ts';
import { addConst, f64Load, F64X2, get, growTo, I32, instantiateKernels, loopWhile, set, SIMD, tee, V128, v128Load, v128Store } from '../../numeric/wasm-module.ts';

const { splat, mul, add, promoteLow } = F64X2;

type Squares = (a: number, pairs: number, groups: number, stride: number, out: number) => void;
type Scale = (rows: number, count: number, d: number, inv: number, out: number, stride: number) => void;
type Scan = (out: number, rows: number, n: number, post: number, vp: number, res: number) => void;

const NEG_INF = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xff];
const f64Const = (a: number, b: number): number[] => [SIMD, 0x0c, ...f64Bytes(a), ...f64Bytes(b)];
function f64Bytes(v: number): number[] {
  return v === -Infinity ? NEG_INF : Array.from(new Uint8Array(Float64Array.of(v).buffer));
}

/**
 * scan(out, rows, n, post, vp, res): for each row r of a float32 block (n wide), over the column pairs, per lane
 * (even and odd columns) the first maximum of c_j = out[r, j]·(post[r]·vp[j]), its column and the runner-up
 * (the largest other value), as scanRows keeps them for all columns; 48 bytes per row at res (tops, seconds,
 * columns, each a lane pair). A column that beats the lane's top demotes it; any other can raise the runner-up.
 */
function scanCode(): number[] {
  const [OUT, ROWS, N, POST, VP, RES] = [0, 1, 2, 3, 4, 5];
  const [J, PO, PV, BASE] = [6, 7, 8, 9];
  const [PI, TOP, SEC, BEST, JV, C, GT] = [10, 11, 12, 13, 14, 15, 16];
  return [
    ...get(OUT), ...set(BASE),
    ...loopWhile(ROWS, [
      ...get(POST), ...f64Load(), ...splat, ...set(PI), ...addConst(POST, 8),
      ...f64Const(-Infinity, -Infinity), ...tee(TOP), ...set(SEC),
      ...f64Const(0, 1), ...tee(BEST), ...set(JV),
      ...get(BASE), ...set(PO), ...get(VP), ...set(PV),
      ...get(N), 0x41, 1, 0x76, ...set(J),
      ...loopWhile(J, [
        ...get(PO), ...load64Zero, ...promoteLow, ...get(PI), ...get(PV), ...v128Load(3), ...mul, ...mul, ...set(C),
        ...get(C), ...get(TOP), ...gt, ...set(GT),
        ...get(TOP), ...get(SEC), ...get(C), ...pmax, ...get(GT), ...bitselect, ...set(SEC),
        ...get(C), ...get(TOP), ...get(GT), ...bitselect, ...set(TOP),
        ...get(JV), ...get(BEST), ...get(GT), ...bitselect, ...set(BEST),
        ...get(JV), ...f64Const(2, 2), ...add, ...set(JV),
        ...addConst(PO, 8), ...addConst(PV, 16),
      ]),
      ...get(RES), ...get(TOP), ...v128Store(3),
      ...get(RES), ...get(SEC), ...v128Store(3, 16),
      ...get(RES), ...get(BEST), ...v128Store(3, 32),
      ...addConst(RES, 48),
      ...get(BASE), ...get(N), 0x41, 2, 0x74, 0x6a, ...set(BASE),
    ]),
    0x0b,
  ];
}

const gt = [SIMD, 0x4a];
const pmax = [SIMD, 0xf7, 0x01];
const bitselect = [SIMD, 0x52];
/** v128.load64_zero: two float32s into the low half. */
const load64Zero = [SIMD, 0x5d, 3, 0];

/**
 * Memory kept between runs at most (LLaVA-NeXT's 2,880 × 4,096 needs 236 MB: kept, so a budget slider stays
 * warm); a larger run's engine is dropped afterwards, since WebAssembly memory cannot shrink.
 */
const RETAIN_BYTES = 320 << 20;
/** Larger runs keep their states in TypeScript buffers (wasm32 memory ends at 4 GiB). */
const MAX_BYTES = 2 ** 31;
/** Narrower rows stay in TypeScript: per-row kernel calls would cost more than the loops (the oracle cases). */
const MIN_WIDTH = 32;
const PARAM_AT = 0;
/** Bytes of state rows per fused sum-of-squares and scaling pass. */
const CHUNK_BYTES = 1 << 18;
const STATE_AT = 64;

/** undefined: not made yet; null: WebAssembly SIMD is unavailable. */
let cached: TomeWasm | null | undefined;

/** GEMM block floats at most (crossArgmax's blocks hold ≤ 8 Mi entries). */
function blockFloats(n: number): number {
  const half = Math.ceil(n / 2);
  return Math.min(half * half, 8 << 20);
}

/**
 * Parameters, two float64 states, the two float32 operand halves, partial sums and scales, the GEMM block,
 * the scan's vp and post copies and its results (48 bytes per row).
 */
function layoutBytes(n: number, d: number): number {
  const half = Math.ceil(n / 2);
  return STATE_AT + 2 * n * d * 8 + 2 * half * d * 4 + half * 40 + blockFloats(n) * 4 + half * 16 + half * 48;
}

/** The engine for n tokens of width d: states, operands and kernels over one memory. */
export class TomeWasm implements RowScanner {
  private readonly params: Float64Array;
  private readonly states: [Float64Array, Float64Array];
  private readonly operands: [Float32Array, Float32Array];
  private readonly sums: Float64Array;
  private readonly invs: Float64Array;
  private readonly sumsAt: number;
  private readonly invAt: number;
  private readonly block: Float32Array;
  private readonly scanVp: Float64Array;
  private readonly scanPost: Float64Array;
  private readonly scanRes: Float64Array;

  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly squares: Squares,
    private readonly scale: Scale,
    private readonly ops: RowOpFns,
    private readonly scanFn: Scan,
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
    const blockAt = this.invAt + half * 8;
    this.block = new Float32Array(buf, blockAt, blockFloats(n));
    const vpAt = blockAt + blockFloats(n) * 4;
    this.scanVp = new Float64Array(buf, vpAt, half);
    this.scanPost = new Float64Array(buf, vpAt + half * 8, half);
    this.scanRes = new Float64Array(buf, vpAt + half * 16, half * 6);
  }

  /** crossArgmax's float32 block buffer, in this memory so the scan reads it in place. */
  buffer(length: number): Float32Array {
    return length <= this.block.length ? this.block.subarray(0, length) : new Float32Array(length);
  }

  /**
   * scanRows's results: per-lane SIMD scans of the block, then the two lanes (and an odd last column) merged.
   * The cosines are finite (bundles are checked for non-finite values), so scanRows's one NaN case, a NaN in
   * the first column, cannot arise; the maximum, its first column and the runner-up do not depend on order.
   */
  scan(out: Float32Array, rows: number, n: number, post: Float64Array, i0: number, vp: Float64Array, scan: RowScan): void {
    if (out.buffer !== this.mem.buffer || n > this.scanVp.length || rows > this.scanPost.length) {
      scanRows(out, rows, n, post, i0, vp, scan);
      return;
    }
    this.scanVp.set(vp.subarray(0, n));
    this.scanPost.set(post.subarray(i0, i0 + rows));
    this.scanFn(out.byteOffset, rows, n, this.scanPost.byteOffset, this.scanVp.byteOffset, this.scanRes.byteOffset);
    const res = this.scanRes;
    for (let r = 0; r < rows; r++) {
      const [t0, t1, s0, s1, b0, b1] = [res[6 * r], res[6 * r + 1], res[6 * r + 2], res[6 * r + 3], res[6 * r + 4], res[6 * r + 5]];
      // The lane whose top came first wins ties; the other lane's top is a candidate runner-up.
      const evenWins = t0 > t1 || (t0 === t1 && b0 < b1);
      let top = evenWins ? t0 : t1;
      let best = evenWins ? b0 : b1;
      let second = evenWins ? Math.max(s0, t1) : Math.max(s1, t0);
      if (n % 2 === 1) {
        const c = out[r * n + n - 1] * (post[i0 + r] * vp[n - 1]);
        if (c > top) {
          second = top;
          top = c;
          best = n - 1;
        } else if (c > second) second = c;
      }
      scan.best[r] = best;
      scan.top[r] = top;
      scan.second[r] = second;
    }
  }

  /** An engine for at least n × d (reused when it fits), or null where SIMD is missing, d is under 32 or not a multiple of 4, or n × d is too large. */
  static forSize(n: number, d: number): TomeWasm | null {
    if (d % 4 !== 0 || d < MIN_WIDTH || n < 2 || layoutBytes(n, d) > MAX_BYTES || cached === null) return null;
    if (cached && cached.n >= n && cached.d === d) return cached;
    const mem = cached?.mem ?? new WebAssembly.Memory({ initial: 1 });
    let fns: { squares: Squares; scale: Scale; ops: RowOpFns; scan: Scan };
    try {
      fns = {
        squares: instantiateKernels<Squares>(5, [{ name: 'squares', locals: [2, 3, I32, 9, V128], code: squaresCode(true) }], false, mem).fns.squares,
        scale: instantiateKernels<Scale>(6, [{ name: 'scale', locals: [2, 4, I32, 1, V128], code: scaleCode(true) }], false, mem).fns.scale,
        ops: instantiateKernels<RowOpFns[keyof RowOpFns]>(4, rowOpBodies(), false, mem).fns as RowOpFns,
        scan: instantiateKernels<Scan>(6, [{ name: 'scan', locals: [2, 4, I32, 7, V128], code: scanCode() }], false, mem).fns.scan,
      };
    } catch {
      cached = null; // no WebAssembly SIMD here
      return null;
    }
    try {
      cached = new TomeWasm(mem, fns.squares, fns.scale, fns.ops, fns.scan, n, d);
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
    const norms = new Float64Array(count);
    const inv = new Float64Array(count);
    const self = new Float64Array(count);
    const sums = this.sums;
    const out = this.operands[parity];
    // Rows in chunks of ≈ 256 KB: the scaling reads each row while its sum of squares left it in cache.
    const chunk = Math.max(2, Math.floor(CHUNK_BYTES / (d * 8)) & ~1);
    for (let c0 = 0; c0 < count; c0 += chunk) {
      const c1 = Math.min(count, c0 + chunk);
      const at = first + c0 * stride;
      this.squares(at, (c1 - c0) >> 1, groups, stride, this.sumsAt + c0 * 32);
      // An odd last row is paired with itself.
      if ((c1 - c0) % 2 === 1) this.squares(first + (c1 - 1) * stride, 1, groups, 0, this.sumsAt + (c1 - 1) * 32);
      for (let i = c0; i < c1; i++) {
        const sq = sums[4 * i] + sums[4 * i + 1] + (sums[4 * i + 2] + sums[4 * i + 3]);
        const nrm = Math.sqrt(sq);
        norms[i] = nrm;
        const f = 1 / Math.max(nrm, eps);
        inv[i] = f;
        self[i] = sq * f * f;
        this.invs[i] = f;
      }
      this.scale(at, c1 - c0, d, this.invAt + c0 * 8, out.byteOffset + c0 * d * 4, stride);
    }
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

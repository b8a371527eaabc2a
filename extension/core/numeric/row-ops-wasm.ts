// Float64 row operations as WebAssembly SIMD loops over rows staged in WebAssembly memory. Each f64x2 lane
// performs exactly the scalar operation of its column (one rounding per multiply, add or divide, no fused
// multiply-add), so results are bit-identical to the TypeScript loops. Scalar loops run at ≈ 0.5–1 ns per
// element even on cached rows; the copy in costs ≈ 0.1 ns per element and the SIMD loop less.

import { addConst, countDown, f64Load, F64X2, get, growTo, I32, instantiateKernels, type KernelBody, set, V128, V128_ZERO, v128Load, v128Store } from './wasm-module.ts';

const { splat, mul, add, div } = F64X2;

const [OUT, ROW, PAIRS, PARAM] = [0, 1, 2, 3];
const [K, F, ACC0, G] = [4, 5, 6, 7];
const skipIfNone = [0x02, 0x40, ...get(PAIRS), 0x45, 0x0d, 0];

/** A loop over `pairs` column pairs: `body` may use OUT and ROW as the pair's addresses. */
function columnLoop(body: number[]): number[] {
  return [
    ...get(PAIRS), ...set(K),
    ...skipIfNone,
    ...[0x03, 0x40],
    ...body,
    ...addConst(OUT, 16), ...addConst(ROW, 16),
    ...countDown(K, 0),
    0x0b, 0x0b,
  ];
}

const loadF = [...get(PARAM), ...f64Load(0), ...splat, ...set(F)];

/** scaleInto(out, row, pairs, param): out = row · param[0]. */
const scaleInto = [...loadF, ...columnLoop([...get(OUT), ...get(ROW), ...v128Load(3), ...get(F), ...mul, ...v128Store(3)]), 0x0b];
/** addScaled(out, row, pairs, param): out = out + row · param[0]. */
const addScaled = [
  ...loadF,
  ...columnLoop([...get(OUT), ...get(OUT), ...v128Load(3), ...get(ROW), ...v128Load(3), ...get(F), ...mul, ...add, ...v128Store(3)]),
  0x0b,
];
/** divideBy(out, _, pairs, param): out = out / param[0]. */
const divideBy = [...loadF, ...columnLoop([...get(OUT), ...get(OUT), ...v128Load(3), ...get(F), ...div, ...v128Store(3)]), 0x0b];
/**
 * scaledDot(a, b, pairs, param): lanes (s0, s1) += (a·param[0]) · (b·param[1]) over column pairs, so s0 sums
 * the even columns and s1 the odd ones in order; written to param[2], param[3].
 */
const scaledDot = [
  ...loadF,
  ...get(PARAM), ...f64Load(8), ...splat, ...set(G),
  ...V128_ZERO, ...set(ACC0),
  ...columnLoop([...get(ACC0), ...get(OUT), ...v128Load(3), ...get(F), ...mul, ...get(ROW), ...v128Load(3), ...get(G), ...mul, ...mul, ...add, ...set(ACC0)]),
  ...get(PARAM), ...get(ACC0), ...v128Store(3, 16),
  0x0b,
];

export type RowOp = (out: number, row: number, pairs: number, param: number) => void;
export type RowOpFns = Record<'scaleInto' | 'addScaled' | 'divideBy' | 'scaledDot', RowOp>;
type Fns = RowOpFns;

/** The four row operations, (out, row, pairs, param) each, for a module of four i32 parameters. */
export function rowOpBodies(): KernelBody[] {
  const locals = [2, 1, I32, 3, V128];
  return [
    { name: 'scaleInto', locals, code: scaleInto },
    { name: 'addScaled', locals, code: addScaled },
    { name: 'divideBy', locals, code: divideBy },
    { name: 'scaledDot', locals, code: scaledDot },
  ];
}

/** Byte offsets in the kernel's memory: parameters, then two staged rows. */
const PARAM_AT = 0;
const ROWS_AT = 64;

/**
 * The scaled dot of two float64 rows of width d in WebAssembly SIMD: both rows are copied into the kernel's
 * memory with TypedArray.set (a memcpy). ToMe's engine runs all four operations on rows already in its memory.
 */
export class RowOps {
  private readonly params: Float64Array;
  private readonly rowA: Float64Array;
  private readonly rowB: Float64Array;
  private readonly rowBAt: number;

  private constructor(private readonly fns: Fns, mem: WebAssembly.Memory, readonly d: number) {
    this.rowBAt = ROWS_AT + d * 8;
    growTo(mem, this.rowBAt + d * 8);
    this.params = new Float64Array(mem.buffer, PARAM_AT, 8);
    this.rowA = new Float64Array(mem.buffer, ROWS_AT, d);
    this.rowB = new Float64Array(mem.buffer, this.rowBAt, d);
  }

  /** Row operations for width d, or null where WebAssembly SIMD is unavailable. */
  static create(d: number): RowOps | null {
    try {
      const { mem, fns } = instantiateKernels<RowOp>(4, rowOpBodies());
      return new RowOps(fns as Fns, mem, d);
    } catch {
      return null;
    }
  }

  /** Σ_k (x[a+k]·fa)·(y[b+k]·fb) with two partial sums (even and odd k, the tail into the even one), s0 + s1. */
  scaledDot(x: Float64Array, a: number, fa: number, y: Float64Array, b: number, fb: number): number {
    const d = this.d;
    this.rowA.set(x.subarray(a, a + d));
    this.rowB.set(y.subarray(b, b + d));
    const p = this.params;
    p[0] = fa;
    p[1] = fb;
    this.fns.scaledDot(ROWS_AT, this.rowBAt, d >> 1, PARAM_AT);
    let s0 = p[2];
    if (d & 1) s0 += this.rowA[d - 1] * fa * (this.rowB[d - 1] * fb);
    return s0 + p[3];
  }
}

/** Below this width the copies and calls cost more than the scalar loops. */
const MIN_WIDTH = 32;
const cache = new Map<number, RowOps | null>();

/** Shared row operations for width d (a few widths are kept), or null where they do not pay or SIMD is missing. */
export function rowOpsFor(d: number): RowOps | null {
  if (d < MIN_WIDTH) return null;
  let ops = cache.get(d);
  if (ops === undefined) {
    if (cache.size >= 4) cache.clear();
    ops = RowOps.create(d);
    cache.set(d, ops);
  }
  return ops;
}

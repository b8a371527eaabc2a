// The bytecode of G-Prune's transition and mass kernels (gprune-flow-wasm.ts runs them): the TypeScript
// loops' float64 operations in their order, each product, sum and quotient rounded once, no fused
// multiply-add, the same comparisons. Float64 +, ×, ÷ are IEEE-exact in both, so results are bit-identical.
// Math.exp is not reproducible here: exp of the shared reference's logits uses expDet (numeric/exp-det.ts),
// whose float64 operations the exp kernel repeats lane by lane; any other exp is written by TypeScript.
//   maxima:    z = sim/T per stored edge (kept for the exp pass), row maxima and the smallest z (softmax);
//   exp:       w = exp(z − c) per stored edge, in place (shared reference c);
//   weights:   a = w·scale_i, b = w·scale_j per stored edge, row sums in the dense loop's column order;
//   normalise: P = weights / row sums, degrees, top-k insertion lists (TopEdges.insert);
//   mass:      m⁽ᵗ⁺¹⁾ = m⁽ᵗ⁾P over the CSR, the terms of every m′_j added in ascending i (stepMass).

import { EXP_COEFFS, INV_LN2, LN2_HI, LN2_LO, SHIFT } from '../numeric/exp-det.ts';
import { addConst, BLOCK, countDown, ELSE, END, F64, f64Load, F64X2, get, I32, i32Const, i32Load, i32Store, IF, type KernelBody, LOOP, SELECT, set, SIMD, tee, V128, V128_ZERO, v128Load, v128Store } from '../numeric/wasm-module.ts';

/**
 * Every kernel takes the whole layout as its parameters, in this order: counts (n, k, steps) and byte
 * offsets into the module's memory; consts holds T (in) and the smallest logit (out) as float64.
 */
export const FLOW_PARAMS = ['n', 'start', 'col', 'self', 'up', 'lo', 'scale', 'sum', 'diag', 'deg', 'count', 'bestJ', 'bestW', 'floor', 'k', 'mass', 'steps', 'max', 'consts'] as const;
export type FlowParam = (typeof FLOW_PARAMS)[number];
const [N, START, COL, SELF, UP, LO, SCALE, SUM, DIAG, DEG, COUNT, BESTJ, BESTW, FLOOR, K, MASS, STEPS, MAX, CONSTS] = FLOW_PARAMS.map((_, i) => i);
const PARAMS = FLOW_PARAMS.length;

const f64Store = [0x39, 3, 0];
const u8Load = [0x2d, 0, 0];
const [ADD, SUB, MUL, SHL, EQZ, EQ, NE, LT_S] = [0x6a, 0x6b, 0x6c, 0x74, 0x45, 0x46, 0x47, 0x48];
const [F_ADD, F_MUL, F_DIV, F_LT, F_GT] = [0xa0, 0xa2, 0xa3, 0x63, 0x64];
const BITSELECT = [SIMD, 0x52];
/** f64x2.pmin / pmax: b < a ? b : a and a < b ? b : a per lane. */
const PMIN = [SIMD, 0xf6, 0x01];
const PMAX = [SIMD, 0xf7, 0x01];
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, q) => from + q);
/** (a.lane0, b.lane0) and (a.lane1, b.lane0) of 64-bit lanes. */
const SHUFFLE_LOW_LOW = [SIMD, 0x0d, ...range(0, 8), ...range(16, 24)];
const SHUFFLE_HIGH_LOW = [SIMD, 0x0d, ...range(8, 16), ...range(16, 24)];
const F64_ZERO = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
const F64_INF = [0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f];
/** base + index·2^shift. */
const at = (base: number, index: number, shift: number): number[] => [...get(base), ...get(index), ...i32Const(shift), SHL, ADD];

/** Locals after the parameters: `ints` i32 ones, `floats` f64 ones, `vectors` v128 ones. */
function locals(ints: number, floats: number, vectors = 0): { decl: number[]; i: number[]; f: number[]; v: number[] } {
  return {
    decl: [3, ints, I32, floats, F64, vectors, V128],
    i: Array.from({ length: ints }, (_, q) => PARAMS + q),
    f: Array.from({ length: floats }, (_, q) => PARAMS + ints + q),
    v: Array.from({ length: vectors }, (_, q) => PARAMS + ints + floats + q),
  };
}

/** for (row = 0; row < n; row++) body. */
const forRows = (row: number, body: number[]): number[] => [
  ...i32Const(0), ...set(row),
  ...BLOCK, ...get(N), EQZ, 0x0d, 0,
  ...LOOP,
  ...body,
  ...addConst(row, 1),
  ...get(row), ...get(N), NE, 0x0d, 0,
  END, END,
];

/** Row `row`'s stored edges; pc, pu, pl point at the edge's col, up and lo entries while body runs. */
const forEdges = (row: number, cnt: number, pc: number, pu: number, pl: number, body: number[]): number[] => [
  ...at(START, row, 2), ...i32Load(4), ...at(START, row, 2), ...i32Load(), ...tee(pc), SUB, ...set(cnt),
  ...at(UP, pc, 3), ...set(pu),
  ...at(LO, pc, 3), ...set(pl),
  ...at(COL, pc, 2), ...set(pc),
  ...BLOCK, ...get(cnt), EQZ, 0x0d, 0,
  ...LOOP,
  ...body,
  ...addConst(pc, 4), ...addConst(pu, 8), ...addConst(pl, 8),
  ...countDown(cnt, 0),
  END, END,
];

/** Logits z = sim/T in place (up holds sim), row maxima from their self-loop start, the smallest z. */
function maximaCode(): KernelBody {
  const { decl, i, f } = locals(6, 4);
  const [I, CNT, PC, PU, PL, J8] = i;
  const [T, MI, Z, MINZ] = f;
  const row = [
    ...at(MAX, I, 3), ...f64Load(), ...set(MI),
    ...forEdges(I, CNT, PC, PU, PL, [
      ...get(PU), ...get(PU), ...f64Load(), ...get(T), F_DIV, ...tee(Z), ...f64Store,
      ...get(PC), ...i32Load(), ...i32Const(3), SHL, ...set(J8),
      // mi = z > mi ? z : mi; max[j] likewise; minZ = z < minZ ? z : minZ
      ...get(Z), ...get(MI), ...get(Z), ...get(MI), F_GT, SELECT, ...set(MI),
      ...get(MAX), ...get(J8), ADD, ...get(Z), ...get(MAX), ...get(J8), ADD, ...f64Load(), ...get(Z), ...get(MAX), ...get(J8), ADD, ...f64Load(), F_GT, SELECT, ...f64Store,
      ...get(Z), ...get(MINZ), ...get(Z), ...get(MINZ), F_LT, SELECT, ...set(MINZ),
    ]),
    ...at(MAX, I, 3), ...get(MI), ...f64Store,
  ];
  const code = [
    ...get(CONSTS), ...f64Load(), ...set(T),
    ...F64_INF, ...set(MINZ),
    ...forRows(I, row),
    ...get(CONSTS), ...get(MINZ), 0x39, 3, 8,
    END,
  ];
  return { name: 'maxima', locals: decl, code };
}

/** Turns the exp values w in up into a = w·scale_i (up) and b = w·scale_j (lo); sum as sharedWeights. */
function weightsCode(): KernelBody {
  const { decl, i, f } = locals(6, 4);
  const [I, CNT, PC, PU, PL, J8] = i;
  const [SI, FI, W, A] = f;
  const row = [
    ...at(SUM, I, 3), ...f64Load(), ...set(SI),
    ...get(SELF), ...get(I), ADD, ...u8Load,
    ...IF, ...get(SI), ...at(DIAG, I, 3), ...f64Load(), F_ADD, ...set(SI), END,
    ...at(SCALE, I, 3), ...f64Load(), ...set(FI),
    ...forEdges(I, CNT, PC, PU, PL, [
      ...get(PU), ...f64Load(), ...set(W),
      ...get(PC), ...i32Load(), ...i32Const(3), SHL, ...set(J8),
      ...get(PU), ...get(W), ...get(FI), F_MUL, ...tee(A), ...f64Store,
      ...get(SI), ...get(A), F_ADD, ...set(SI),
      // lo = b; sum[j] += b
      ...get(PL), ...get(W), ...get(SCALE), ...get(J8), ADD, ...f64Load(), F_MUL, ...tee(W), ...f64Store,
      ...get(SUM), ...get(J8), ADD, ...get(SUM), ...get(J8), ADD, ...f64Load(), ...get(W), F_ADD, ...f64Store,
    ]),
    ...at(SUM, I, 3), ...get(SI), ...f64Store,
  ];
  return { name: 'weights', locals: decl, code: [...forRows(I, row), END] };
}

/** TopEdges.offer(r, c, w): insertion into row r's descending list when w beats its floor. */
function insertCode(r: number, c: number, w: number, tmp: { base: number; cnt: number; q: number; prev: number }): number[] {
  const { base, cnt, q, prev } = tmp;
  return [
    ...get(w), ...at(FLOOR, r, 3), ...f64Load(), F_GT,
    ...IF,
    ...get(r), ...get(K), MUL, ...set(base),
    ...at(COUNT, r, 2), ...i32Load(), ...set(cnt),
    // q = base + (count < k ? count++ : k − 1)
    ...get(cnt), ...get(K), LT_S,
    ...IF, ...get(base), ...get(cnt), ADD, ...set(q), ...addConst(cnt, 1), ELSE, ...get(base), ...get(K), ADD, ...i32Const(1), SUB, ...set(q), END,
    ...at(COUNT, r, 2), ...get(cnt), ...i32Store(),
    // while (q > base && bestW[q − 1] < w) move entry q − 1 down to q
    ...BLOCK, ...LOOP,
    ...get(q), ...get(base), EQ, 0x0d, 1,
    ...at(BESTW, q, 3), ...i32Const(8), SUB, ...f64Load(), ...tee(prev), ...get(w), F_LT, EQZ, 0x0d, 1,
    ...at(BESTW, q, 3), ...get(prev), ...f64Store,
    ...at(BESTJ, q, 2), ...at(BESTJ, q, 2), ...i32Const(4), SUB, ...i32Load(), ...i32Store(),
    ...get(q), ...i32Const(1), SUB, ...set(q),
    0x0c, 0,
    END, END,
    ...at(BESTW, q, 3), ...get(w), ...f64Store,
    ...at(BESTJ, q, 2), ...get(c), ...i32Store(),
    // a full list's floor is its last entry
    ...get(cnt), ...get(K), EQ,
    ...IF, ...at(FLOOR, r, 3), ...get(base), ...get(K), ADD, ...i32Const(1), SUB, ...i32Const(3), SHL, ...get(BESTW), ADD, ...f64Load(), ...f64Store, END,
    END,
  ];
}

/**
 * The same insertion for k = 8 without data-dependent branches, in SIMD: the list (zero-padded past its
 * count, so the floor is always its last entry) moves down one place from the first entry below w. The
 * weights are new_q = max(old_q, min(old_{q−1}, w)) (pmin/pmax return an operand, so equal weights come out
 * bit for bit); the indices follow the masks old < w, in 64-bit slots. The caller checks w > floor[r].
 */
function insert8Code(r: number, c: number, w: number, t: Insert8Locals): number[] {
  const { wRow, jRow, cnt, ws, js, vPrev, vCur, mPrev, mCur, jPrev, jCur, ms } = t;
  const code = [
    ...get(r), ...i32Const(6), SHL, ...tee(jRow), ...get(BESTW), ADD, ...set(wRow),
    ...get(jRow), ...get(BESTJ), ADD, ...set(jRow),
    ...get(w), ...F64X2.splat, ...set(ws),
    ...get(c), 0xad, SIMD, 0x12, ...set(js), // i64x2.splat(u64(c))
  ];
  for (let q = 0; q < 4; q++) {
    const o = 16 * q;
    code.push(
      ...get(wRow), ...v128Load(3, o), ...tee(vCur), ...get(ws), SIMD, 0x49, ...set(mCur), // old < w
      ...get(jRow), ...v128Load(3, o), ...set(jCur),
      // entry q − 1's mask, weight and index (w and c before the first)
      ...(q === 0 ? [...V128_ZERO, ...get(mCur), ...SHUFFLE_LOW_LOW] : [...get(mPrev), ...get(mCur), ...SHUFFLE_HIGH_LOW]), ...set(ms),
      ...get(wRow), ...get(vCur),
      ...(q === 0 ? [...get(ws), ...get(vCur), ...SHUFFLE_LOW_LOW] : [...get(vPrev), ...get(vCur), ...SHUFFLE_HIGH_LOW]),
      ...get(ws), ...PMIN, ...PMAX, ...(q === 3 ? tee(vPrev) : []), ...v128Store(3, o),
      ...get(jRow),
      ...(q === 0 ? [...get(js), ...get(jCur), ...SHUFFLE_LOW_LOW] : [...get(jPrev), ...get(jCur), ...SHUFFLE_HIGH_LOW]),
      ...get(js), ...get(ms), ...BITSELECT, ...get(jCur), ...get(mCur), ...BITSELECT, ...v128Store(3, o),
      ...(q < 3 ? [...get(vCur), ...set(vPrev)] : []), ...get(mCur), ...set(mPrev), ...get(jCur), ...set(jPrev),
    );
  }
  code.push(
    // floor = the new last entry; count += (count < 8)
    ...at(FLOOR, r, 3), ...get(vPrev), SIMD, 0x21, 1, ...f64Store,
    ...at(COUNT, r, 2), ...at(COUNT, r, 2), ...i32Load(), ...tee(cnt), ...get(cnt), ...i32Const(8), LT_S, ADD, ...i32Store(),
  );
  return code;
}

interface Insert8Locals {
  readonly wRow: number;
  readonly jRow: number;
  readonly cnt: number;
  readonly ws: number;
  readonly js: number;
  readonly vPrev: number;
  readonly vCur: number;
  readonly mPrev: number;
  readonly mCur: number;
  readonly jPrev: number;
  readonly jCur: number;
  readonly ms: number;
}

/** P = weights / row sums in place, degrees (written from zero), top-edge offers: as normalise. */
function normaliseCode(k8: boolean): KernelBody {
  const { decl, i, f, v } = locals(10, 5, 9);
  const [I, CNT, PC, PU, PL, J, DI, BASE, TOPCNT, Q] = i;
  const [SI, A, B, D, PREV] = f;
  const [ws, js, vPrev, vCur, mPrev, mCur, jPrev, jCur, ms] = v;
  const offer = (r: number, c: number, w: number): number[] =>
    k8
      ? [...get(w), ...at(FLOOR, r, 3), ...f64Load(), F_GT, ...IF, ...insert8Code(r, c, w, { wRow: BASE, jRow: Q, cnt: TOPCNT, ws, js, vPrev, vCur, mPrev, mCur, jPrev, jCur, ms }), END]
      : insertCode(r, c, w, { base: BASE, cnt: TOPCNT, q: Q, prev: PREV });
  const diag = [
    ...at(DIAG, I, 3), ...at(DIAG, I, 3), ...f64Load(), ...at(SUM, I, 3), ...f64Load(), F_DIV, ...tee(D), ...f64Store,
    ...at(DEG, I, 2), ...get(D), ...F64_ZERO, F_GT, ...i32Store(),
  ];
  const row = [
    ...at(SUM, I, 3), ...f64Load(), ...set(SI),
    ...i32Const(0), ...set(DI),
    ...forEdges(I, CNT, PC, PU, PL, [
      ...get(PC), ...i32Load(), ...set(J),
      ...get(PU), ...get(PU), ...f64Load(), ...get(SI), F_DIV, ...tee(A), ...f64Store,
      ...get(PL), ...get(PL), ...f64Load(), ...at(SUM, J, 3), ...f64Load(), F_DIV, ...tee(B), ...f64Store,
      ...get(DI), ...get(A), ...F64_ZERO, F_GT, ADD, ...set(DI),
      ...at(DEG, J, 2), ...at(DEG, J, 2), ...i32Load(), ...get(B), ...F64_ZERO, F_GT, ADD, ...i32Store(),
      ...offer(I, J, A),
      ...offer(J, I, B),
    ]),
    ...at(DEG, I, 2), ...at(DEG, I, 2), ...i32Load(), ...get(DI), ADD, ...i32Store(),
  ];
  return { name: k8 ? 'normalise8' : 'normalise', locals: decl, code: [...forRows(I, diag), ...forRows(I, row), END] };
}

/** `steps` mass products: slot t + 1 (zeroed by the caller) from slot t, slots of n float64s from MASS. */
function massCode(): KernelBody {
  const { decl, i, f } = locals(8, 2);
  const [I, CNT, PC, PU, PL, J8, IN, OUT] = i;
  const [MI, ACC] = f;
  const row = [
    ...at(IN, I, 3), ...f64Load(), ...set(MI),
    ...at(OUT, I, 3), ...f64Load(), ...get(MI), ...at(DIAG, I, 3), ...f64Load(), F_MUL, F_ADD, ...set(ACC),
    ...forEdges(I, CNT, PC, PU, PL, [
      ...get(PC), ...i32Load(), ...i32Const(3), SHL, ...set(J8),
      // out[j] += m_i·P_ij; acc += m_j·P_ji
      ...get(OUT), ...get(J8), ADD, ...get(OUT), ...get(J8), ADD, ...f64Load(), ...get(MI), ...get(PU), ...f64Load(), F_MUL, F_ADD, ...f64Store,
      ...get(ACC), ...get(IN), ...get(J8), ADD, ...f64Load(), ...get(PL), ...f64Load(), F_MUL, F_ADD, ...set(ACC),
    ]),
    ...at(OUT, I, 3), ...get(ACC), ...f64Store,
  ];
  const code = [
    ...get(MASS), ...set(OUT),
    ...BLOCK, ...get(STEPS), EQZ, 0x0d, 0,
    ...LOOP,
    ...get(OUT), ...set(IN),
    ...get(IN), ...get(N), ...i32Const(3), SHL, ADD, ...set(OUT),
    ...forRows(I, row),
    ...countDown(STEPS, 0),
    END, END,
    END,
  ];
  return { name: 'mass', locals: decl, code };
}

/** v128.const holding `lanes` as two float64 or two int64 lanes. */
function v128Const(lanes: Float64Array | BigInt64Array): number[] {
  return [SIMD, 0x0c, ...new Uint8Array(lanes.buffer)];
}
const f64x2 = (v: number): number[] => v128Const(Float64Array.of(v, v));
const [F64X2_ADD, F64X2_SUB, F64X2_MUL] = [
  [SIMD, 0xf0, 0x01],
  [SIMD, 0xf1, 0x01],
  [SIMD, 0xf2, 0x01],
];
const [I64X2_SHL, I64X2_ADD] = [
  [SIMD, 0xcb, 0x01],
  [SIMD, 0xce, 0x01],
];

/**
 * up[e] = exp(up[e] − c) for every stored edge (c = consts[2]), two lanes at a time: expDet's operations in
 * its order. 2^k comes from t's bits: t = x/ln2 + 1.5·2⁵² holds 2⁵¹ + k in its low bits, so adding 1023 and
 * shifting left by 52 leaves k + 1023 in the exponent field. An odd count also fills the region's padding slot.
 */
function expCode(): KernelBody {
  const { decl, i, v } = locals(2, 0, 5);
  const [P, CNT] = i;
  const [C, X, T, K, R] = v;
  const horner = EXP_COEFFS.slice(1).flatMap((coeff) => [...get(R), ...F64X2_MUL, ...f64x2(coeff), ...F64X2_ADD]);
  const code = [
    // pairs = (start[n] + 1) >> 1
    ...at(START, N, 2), ...i32Load(), ...i32Const(1), ADD, ...i32Const(1), 0x76, ...set(CNT),
    ...get(UP), ...set(P),
    ...get(CONSTS), 0x2b, 3, 16, ...F64X2.splat, ...set(C),
    ...BLOCK, ...get(CNT), EQZ, 0x0d, 0,
    ...LOOP,
    ...get(P), ...v128Load(4), ...get(C), ...F64X2_SUB, ...set(X),
    ...get(X), ...f64x2(INV_LN2), ...F64X2_MUL, ...f64x2(SHIFT), ...F64X2_ADD, ...tee(T),
    ...f64x2(SHIFT), ...F64X2_SUB, ...set(K),
    ...get(X), ...get(K), ...f64x2(LN2_HI), ...F64X2_MUL, ...F64X2_SUB, ...get(K), ...f64x2(LN2_LO), ...F64X2_MUL, ...F64X2_SUB, ...set(R),
    ...f64x2(EXP_COEFFS[0]), ...horner,
    ...get(T), ...v128Const(BigInt64Array.of(1023n, 1023n)), ...I64X2_ADD, ...i32Const(52), ...I64X2_SHL,
    ...F64X2_MUL, ...set(X),
    ...get(P), ...get(X), ...v128Store(4),
    ...addConst(P, 16),
    ...countDown(CNT, 0),
    END, END,
    END,
  ];
  return { name: 'exp', locals: decl, code };
}

/** maxima, exp, weights, normalise (any k), normalise8 (k = 8) and mass. */
export function flowKernels(): KernelBody[] {
  return [maximaCode(), expCode(), weightsCode(), normaliseCode(false), normaliseCode(true), massCode()];
}

// G-Prune's transition and mass passes in WebAssembly (kernels: gprune-flow-kernels.ts), over one
// module memory laid out per run:
//   maxima:    z = sim/T per stored edge (kept for the exp pass), row maxima and the smallest z (softmax);
//   exp:       w = exp(z − c) per stored edge with the shared reference c (expDet's operations);
//   weights:   a = w·scale_i, b = w·scale_j per stored edge, row sums in the dense loop's column order;
//   normalise: P = weights / row sums, degrees, top-k insertion lists (TopEdges.insert);
//   mass:      m⁽ᵗ⁺¹⁾ = m⁽ᵗ⁾P over the CSR, the terms of every m′_j added in ascending i (stepMass).

import { growTo, instantiateKernels } from '../numeric/wasm-module.ts';
import { FLOW_PARAMS, type FlowParam, flowKernels } from './gprune-flow-kernels.ts';

type Kernel = (...layout: number[]) => void;

/** A node's top-edge lists as TopEdges keeps them: count, then k (index, weight) slots per node, floor. */
export interface TopLists {
  readonly count: Int32Array;
  readonly bestJ: Int32Array;
  readonly bestW: Float64Array;
  readonly floor: Float64Array;
}

/** Views of one run's buffers in the module's memory: valid until the next `FlowWasm.run`. */
export interface FlowRun {
  readonly start: Int32Array;
  readonly col: Int32Array;
  readonly self: Uint8Array;
  /** Row maxima of the logits: self-loop logits (or −∞) in, row maxima after `maxima`. */
  readonly max: Float64Array;
  /** Similarities in, logits after `maxima`; then exp values (shared reference) or row i's weights a; P_ij after normalise. */
  readonly up: Float64Array;
  readonly lo: Float64Array;
  readonly scale: Float64Array;
  readonly sum: Float64Array;
  readonly diag: Float64Array;
  readonly degree: Int32Array;
  /** Mass slot t (n float64s). */
  slot(t: number): Float64Array;
  /** Logits and row maxima (see maximaCode); returns the smallest logit. */
  maxima(temperature: number): number;
  /** up[e] = expDet(up[e] − c) for every stored edge (the logits from `maxima`, shared reference c). */
  exp(c: number): void;
  /** up/lo from exp values (sum and diag as sharedWeights expects them). */
  weights(): void;
  /** Normalises and offers every weight to `top` (its lists are read and written back). */
  normalise(top: TopLists): void;
  /** Slots 1..steps from slot 0 (slots 1..steps are zeroed first). */
  mass(steps: number): void;
}

/** Below the 2 GiB a 32-bit WebAssembly memory can reliably grow to. */
const MAX_BYTES = 0x7fff0000;

export const flowWasm = {
  /** False forces the TypeScript loops (tests). */
  enabled: true,
  /** Memory the shared module keeps; larger graphs get a module of their own, dropped after the run. */
  retainBytes: 64 << 20,
};

export class FlowWasm {
  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly fns: Record<string, Kernel>,
  ) {}

  private static create(): FlowWasm {
    const { mem, fns } = instantiateKernels<Kernel>(FLOW_PARAMS.length, flowKernels());
    return new FlowWasm(mem, fns);
  }

  private static cached: FlowWasm | null | undefined;

  /** Buffers for n nodes, `edges` stored edges, k top edges per node and `slots` mass vectors; null without WebAssembly. */
  static run(n: number, edges: number, k: number, slots: number): FlowRun | null {
    if (!flowWasm.enabled) return null;
    if (FlowWasm.cached === undefined) {
      try {
        FlowWasm.cached = FlowWasm.create();
      } catch {
        FlowWasm.cached = null;
      }
    }
    if (!FlowWasm.cached) return null;
    const off = offsets(n, edges, k, slots);
    if (off.end > MAX_BYTES) return null;
    return off.end <= flowWasm.retainBytes ? FlowWasm.cached.reuse(n, k, off) : FlowWasm.create().layout(n, k, off);
  }

  /** The previous run's views while the sizes (and so the memory) are the same: a slider's repeated runs. */
  private last: { key: string; buffer: ArrayBuffer; run: FlowRun } | null = null;
  private reuse(n: number, k: number, off: Offsets): FlowRun {
    const key = `${n},${k},${off.edges},${off.end}`;
    if (this.last?.key !== key || this.last.buffer !== this.mem.buffer) {
      const run = this.layout(n, k, off);
      this.last = { key, buffer: this.mem.buffer, run };
    }
    return this.last.run;
  }

  private layout(n: number, k: number, off: Offsets): FlowRun {
    const edges = off.edges;
    growTo(this.mem, off.end);
    const buf = this.mem.buffer;
    const f64 = (at: number, len: number): Float64Array => new Float64Array(buf, at, len);
    const i32 = (at: number, len: number): Int32Array => new Int32Array(buf, at, len);
    const values: Record<FlowParam, number> = { ...off, n, k, steps: 0 };
    const args = FLOW_PARAMS.map((name) => values[name]);
    const stepsArg = FLOW_PARAMS.indexOf('steps');
    const { maxima, exp, weights, mass } = this.fns;
    const consts = f64(off.consts, 3);
    const k8 = k === 8;
    const normalise = k8 ? this.fns.normalise8 : this.fns.normalise;
    const count = i32(off.count, n);
    const floor = f64(off.floor, n);
    const bestW = f64(off.bestW, n * k);
    // The SIMD insertion keeps indices in 64-bit slots (low half) and a zero-padded list.
    const bestJ = i32(off.bestJ, n * k * (k8 ? 2 : 1));
    const stride = k8 ? 2 : 1;
    return {
      start: i32(off.start, n + 1),
      col: i32(off.col, edges),
      self: new Uint8Array(buf, off.self, n),
      max: f64(off.max, n),
      up: f64(off.up, edges),
      lo: f64(off.lo, edges),
      scale: f64(off.scale, n),
      sum: f64(off.sum, n),
      diag: f64(off.diag, n),
      degree: i32(off.deg, n),
      slot: (t) => f64(off.mass + t * n * 8, n),
      maxima: (temperature) => {
        consts[0] = temperature;
        maxima(...args);
        return consts[1];
      },
      exp: (c) => {
        consts[2] = c;
        exp(...args);
      },
      weights: () => weights(...args),
      normalise: (top) => {
        count.set(top.count);
        floor.set(top.floor);
        // A fresh list (the usual case) needs no copy: zero weights, any indices.
        let empty = true;
        for (let i = 0; i < n && empty; i++) empty = top.count[i] === 0;
        if (empty) bestW.fill(0);
        else {
          bestW.set(top.bestW);
          bestJ.fill(0);
          for (let q = 0; q < n * k; q++) bestJ[q * stride] = top.bestJ[q];
          if (k8) for (let i = 0; i < n; i++) bestW.fill(0, i * k + top.count[i], (i + 1) * k);
        }
        normalise(...args);
        top.count.set(count);
        top.floor.set(floor);
        top.bestW.set(bestW);
        for (let q = 0; q < n * k; q++) top.bestJ[q] = bestJ[q * stride];
      },
      mass: (steps) => {
        f64(off.mass + n * 8, steps * n).fill(0);
        args[stepsArg] = steps;
        mass(...args);
      },
    };
  }
}

type Offsets = ReturnType<typeof offsets>;

/** Byte offsets, each 16-aligned (SIMD rows). */
function offsets(n: number, edges: number, k: number, slots: number) {
  let end = 0;
  const take = (bytes: number): number => {
    const at = end;
    end = (end + bytes + 15) & ~15;
    return at;
  };
  const consts = take(24);
  const max = take(8 * n);
  const up = take(8 * edges);
  const lo = take(8 * edges);
  const scale = take(8 * n);
  const sum = take(8 * n);
  const diag = take(8 * n);
  const bestW = take(8 * n * k);
  const bestJ = take(8 * n * k);
  const floor = take(8 * n);
  const mass = take(8 * n * slots);
  const start = take(4 * (n + 1));
  const col = take(4 * edges);
  const deg = take(4 * n);
  const count = take(4 * n);
  const self = take(n);
  return { edges, consts, max, up, lo, scale, sum, diag, bestW, bestJ, floor, mass, start, col, deg, count, self, end };
}

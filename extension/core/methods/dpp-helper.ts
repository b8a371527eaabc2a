// A second thread for the greedy DPP's per-pick passes: it runs the same WebAssembly kernels, over the same
// shared memory, on the upper half of the tokens while the calling thread does the lower half. Each token's
// arithmetic is unchanged, so results are bit-identical to one thread. The handshake is a control block of
// int32 in that memory (Atomics): sequence number, done number, kernel pair, arguments, ready and error flags.
import { Worker } from 'node:worker_threads';

/** Int32 slots of the control block. */
const SEQ = 0;
const DONE = 1;
const KIND = 2;
const ARGS = 3;
const READY = 14;
const ERROR = 15;
export const CONTROL_INTS = 16;

/** Atomics.load polls before sleeping: ≈ 0.1 ms, longer than the work between two picks. */
const SPIN = 50_000;
/** A helper silent this long has stopped (its thread died): the run fails rather than hang. */
const STALL_MS = 60_000;
/** A thread not running its kernels this long after it was started is given up on (one thread then). */
const START_MS = 5_000;

// Plain JavaScript for the worker (eval: no separate file to bundle). `kinds` names the kernels per kind:
// [project, update]; args = project(c, pairs, steps, j, proj, stride) then update(row, r, proj, e, d2, pairs, consts).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, mem, at, kinds, spin } = workerData;
const ctl = new Int32Array(mem.buffer, at, ${CONTROL_INTS});
let ex = null;
try {
  ex = new WebAssembly.Instance(module, { env: { mem } }).exports;
} catch {}
Atomics.store(ctl, ${READY}, ex ? 1 : -1);
Atomics.notify(ctl, ${READY});
let seen = 0;
while (ex) {
  let s = Atomics.load(ctl, ${SEQ});
  for (let k = 0; s === seen && k < spin; k++) s = Atomics.load(ctl, ${SEQ});
  while (s === seen) { Atomics.wait(ctl, ${SEQ}, seen); s = Atomics.load(ctl, ${SEQ}); }
  seen = s;
  const kind = Atomics.load(ctl, ${KIND});
  try {
    const a = ctl.slice(${ARGS}, ${ARGS} + 11);
    ex[kinds[kind][0]](a[0], a[1], a[2], a[3], a[4], a[5], 0);
    ex[kinds[kind][1]](a[6], a[7], a[4], a[8], a[9], a[1], a[10]);
  } catch {
    Atomics.store(ctl, ${ERROR}, 1);
  }
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

export class DppHelper {
  private seq = 0;

  private constructor(private readonly ctl: Int32Array) {}

  /**
   * A helper thread over `mem` (shared) with its control block at byte `at`; `kinds[k]` names the
   * [project, update] exports for kind k. Null when threads or shared memory are unavailable.
   */
  static start(module: WebAssembly.Module, mem: WebAssembly.Memory, at: number, kinds: readonly (readonly [string, string])[]): DppHelper | null {
    try {
      if (!(mem.buffer instanceof SharedArrayBuffer)) return null;
      const ctl = new Int32Array(mem.buffer, at, CONTROL_INTS);
      ctl.fill(0);
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, mem, at, kinds, spin: SPIN } });
      // Never keeps the process alive; it sleeps in Atomics.wait between runs.
      worker.unref();
      // Its kernels must be instantiated before any work is posted: a thread that failed (ready −1) or did
      // not start in time would leave the first pick waiting.
      Atomics.wait(ctl, READY, 0, START_MS);
      if (Atomics.load(ctl, READY) !== 1) {
        void worker.terminate();
        return null;
      }
      return new DppHelper(ctl);
    } catch {
      return null;
    }
  }

  /** Starts kernel pair `kind` on the helper with args [c, pairs, steps, j, proj, stride, row, r, e, d2, consts]. */
  post(kind: number, args: readonly number[]): void {
    this.ctl.set(args, ARGS);
    Atomics.store(this.ctl, KIND, kind);
    this.seq = (this.seq + 1) | 0 || 1;
    Atomics.store(this.ctl, SEQ, this.seq);
    Atomics.notify(this.ctl, SEQ);
  }

  /** Waits for the posted work; throws if the helper failed or stopped. */
  wait(): void {
    const { ctl, seq } = this;
    let done = Atomics.load(ctl, DONE);
    for (let k = 0; done !== seq && k < SPIN; k++) done = Atomics.load(ctl, DONE);
    const start = Date.now();
    while (done !== seq) {
      if (Date.now() - start > STALL_MS) throw new Error('The DPP helper thread stopped responding.');
      Atomics.wait(ctl, DONE, done, 1000);
      done = Atomics.load(ctl, DONE);
    }
    if (Atomics.load(ctl, ERROR) !== 0) throw new Error('The DPP helper thread failed in its kernel.');
  }
}

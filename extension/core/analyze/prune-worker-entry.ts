/**
 * The methods worker process (bundled as dist/methods-worker.cjs, forked with advanced serialization so
 * typed arrays travel): holds a few bundles and runs `prune` on them when asked, on the same kernels as its
 * parent (the kernel settings come with each run). See prune-worker.ts for the parent side.
 */
import type { TokenBundle } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import { prune } from '../methods/prune.ts';
import { configureKernels } from '../numeric/gemm.ts';
import type { FromPruneWorker, ToPruneWorker } from './prune-worker.ts';

const ipcSend = process.send?.bind(process);
if (!ipcSend) throw new Error('prune-worker-entry runs as a child process forked with an IPC channel');
const send = ipcSend;
const bundles = new Map<number, TokenBundle>();

function reply(m: FromPruneWorker): void {
  try {
    send(m);
  } catch (err) {
    // The result could not be serialised: say so instead.
    if (m.type !== 'done') throw err;
    send({ type: 'failed', job: m.job, message: `the result of the run could not be sent back: ${err instanceof Error ? err.message : String(err)}`, input: false } satisfies FromPruneWorker);
  }
}

process.on('message', (m: ToPruneWorker) => {
  if (m.type === 'load') {
    // The parent validated the bundle when it read or encoded it; the arrays arrive as typed arrays.
    bundles.set(m.bundle, { arrays: new Map(m.arrays), meta: m.meta });
    return;
  }
  if (m.type === 'drop') {
    bundles.delete(m.bundle);
    return;
  }
  let out: FromPruneWorker;
  try {
    const bundle = bundles.get(m.bundle);
    if (!bundle) throw new Error(`bundle ${m.bundle} is not loaded in the methods worker`);
    configureKernels(m.kernels);
    const t0 = performance.now();
    const result = prune(bundle, m.method, m.params, m.mapping);
    out = { type: 'done', job: m.job, result, timeMs: performance.now() - t0 };
  } catch (err) {
    out = { type: 'failed', job: m.job, message: err instanceof Error ? err.message : String(err), input: err instanceof InputError };
  }
  reply(out);
});
// The parent went away (or killed the channel): nothing left to do.
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready', pid: process.pid });

/**
 * The methods worker thread (bundled as dist/methods-worker.cjs): holds a few bundles and runs `prune` on
 * them when asked. See prune-worker.ts for the host side.
 */
import { parentPort } from 'node:worker_threads';
import type { TokenBundle } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import { prune } from '../methods/prune.ts';
import type { FromPruneWorker, ToPruneWorker } from './prune-worker.ts';

const port = parentPort;
if (!port) throw new Error('prune-worker-entry runs as a worker thread');
const bundles = new Map<number, TokenBundle>();

port.on('message', (m: ToPruneWorker) => {
  if (m.type === 'load') {
    // The host validated the bundle when it read or encoded it; structured clone keeps the typed arrays.
    bundles.set(m.bundle, { arrays: new Map(m.arrays), meta: m.meta });
    return;
  }
  if (m.type === 'drop') {
    bundles.delete(m.bundle);
    return;
  }
  let reply: FromPruneWorker;
  try {
    const bundle = bundles.get(m.bundle);
    if (!bundle) throw new Error(`bundle ${m.bundle} is not loaded in the methods worker`);
    const t0 = performance.now();
    const result = prune(bundle, m.method, m.params, m.mapping);
    reply = { type: 'done', job: m.job, result, timeMs: performance.now() - t0 };
  } catch (err) {
    reply = { type: 'failed', job: m.job, message: err instanceof Error ? err.message : String(err), input: err instanceof InputError };
  }
  port.postMessage(reply);
});

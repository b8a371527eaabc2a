import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Tensor } from 'onnxruntime-node';
import { sessionOptionsFor } from '../providers.ts';
import type { BackendInfo, RuntimeKinds } from './kinds.ts';
import type { WireTensor } from './protocol.ts';
import type { HandlerTable } from './server.ts';
import { clearEncoders, encodeInWorker } from './encode.ts';
import { clearSessions, getSession, loadOrt } from './sessions.ts';
import { smokeGraph } from './smoke.ts';
import { fromOrtTensor, toOrtTensor } from './tensors.ts';

/**
 * The handlers every runtime worker has. Heavy modules (the encoder, with image decoding and the
 * tokenizer) are imported inside their handlers, so a worker that only probes providers stays light.
 */
export const runtimeHandlers: HandlerTable<RuntimeKinds> = {
  ping: () => ({ pid: process.pid }),
  backends: listBackends,
  'clear-sessions': async () => ({ cleared: clearSessions() + (await clearEncoders()) }),
  encode: encodeInWorker,

  async smoke({ provider, threads }) {
    const ort = await loadOrt();
    const g = smokeGraph();
    const session = await ort.InferenceSession.create(g.bytes, sessionOptionsFor(provider, threads));
    try {
      const t0 = performance.now();
      const out = await session.run({ x: new ort.Tensor('float32', g.input, g.dims) });
      const runMs = performance.now() - t0;
      const y = out.y.data as Float32Array;
      let maxAbsDiff = 0;
      for (let i = 0; i < g.expected.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(y[i] - g.expected[i]));
      // A provider that runs but computes garbage is no better than one that fails to load.
      if (!(maxAbsDiff <= 1e-3)) throw new Error(`wrong result (max abs difference ${maxAbsDiff})`);
      return { provider, runMs, maxAbsDiff };
    } finally {
      await session.release();
    }
  },

  async 'run-model'(p) {
    const ort = await loadOrt();
    const { session, createMs } = await getSession(p);
    const feeds: { [name: string]: Tensor } = {};
    for (const [name, t] of Object.entries(p.feeds)) feeds[name] = toOrtTensor(ort, t);
    const t0 = performance.now();
    const out = p.fetches ? await session.run(feeds, p.fetches) : await session.run(feeds);
    const runMs = performance.now() - t0;
    const outputs: { [name: string]: WireTensor } = {};
    for (const [name, t] of Object.entries(out)) outputs[name] = fromOrtTensor(name, t);
    return { outputs, runMs, createMs };
  },
};

/** Provider libraries that onnxruntime-node installs separately (not shipped in the npm package). */
const SEPARATE_LIBS: { [provider: string]: { [platform: string]: string } } = {
  cuda: { linux: 'libonnxruntime_providers_cuda.so', win32: 'onnxruntime_providers_cuda.dll' },
  tensorrt: { linux: 'libonnxruntime_providers_tensorrt.so', win32: 'onnxruntime_providers_tensorrt.dll' },
};

async function listBackends(): Promise<BackendInfo[]> {
  const ort = await loadOrt();
  const binDir = ortBinDir();
  return ort.listSupportedBackends().map((b) => {
    if (b.bundled) return { name: b.name, bundled: true, installed: true };
    const lib = SEPARATE_LIBS[b.name]?.[process.platform];
    return { name: b.name, bundled: false, installed: Boolean(lib && binDir && existsSync(join(binDir, lib))) };
  });
}

/** onnxruntime-node's native folder for this platform, where its install step puts the GPU libraries. */
function ortBinDir(): string | null {
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(dirname(main)), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

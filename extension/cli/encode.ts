import { writeBundle } from '../core/bundle/io.ts';
import { InputError } from '../core/errors.ts';
import { encodeThroughWorker } from '../core/analyze/encode.ts';
import { modelPathFor } from '../core/analyze/model-ref.ts';
import { parseProviderSetting, parseThreads } from '../core/runtime/providers.ts';
import { WorkerClient } from '../core/runtime/worker/client.ts';
import type { CliCommand } from './command.ts';
import { parseArgs, single } from './args.ts';

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new InputError(`--${flag} must be a positive number, got "${text}".`);
  return v;
}

export const encodeCommand: CliCommand = {
  name: 'encode',
  usage: 'encode <image> --model <probe|folder|prunelens.json> --out <bundle.npz> [--question q] [--feature-layer -2] [--provider cpu|auto|cuda|webgpu|dml|coreml] [--threads N] [--max-megapixels N] [--json]',
  async run(args) {
    const p = parseArgs(args, ['model', 'out', 'question', 'feature-layer', 'provider', 'threads', 'max-megapixels'], ['json']);
    if (p.positional.length !== 1) throw new InputError('encode needs exactly one image file.');
    const modelArg = single(p, 'model');
    if (!modelArg) throw new InputError('encode needs --model <folder> (a Hugging Face / transformers.js export, or a prunelens.json manifest).');
    const out = single(p, 'out');
    if (!out) throw new InputError('encode needs --out <bundle.npz>.');
    const layerText = single(p, 'feature-layer');
    const featureLayer = layerText === undefined ? undefined : Number(layerText);
    if (featureLayer !== undefined && (!Number.isInteger(featureLayer) || featureLayer === 0)) {
      throw new InputError(`--feature-layer must be a non-zero integer like LLaVA's select_layer (-2 = penultimate), got "${layerText}".`);
    }
    const setting = parseProviderSetting(single(p, 'provider') ?? 'cpu');
    const threads = parseThreads(single(p, 'threads'));
    const maxMegapixels = positive(single(p, 'max-megapixels'), 'max-megapixels');

    // onnxruntime runs in the worker; the provider is chosen there with smoke runs (auto falls back to CPU).
    const worker = new WorkerClient();
    try {
      const r = await encodeThroughWorker(worker, {
        model: modelPathFor(modelArg),
        image: p.positional[0],
        question: single(p, 'question') ?? '',
        provider: setting,
        threads,
        featureLayer,
        limits: maxMegapixels ? { maxMegapixels } : undefined,
      });
      const bundle = r.bundle;
      writeBundle(out, bundle);
      for (const n of r.notices) process.stderr.write(`prunelens: note: ${n}\n`);
      const shapes = Object.fromEntries([...bundle.arrays].map(([k, t]) => [k, t.shape]));
      if (p.switches.has('json')) {
        process.stdout.write(`${JSON.stringify({ out, model: bundle.meta.model, weightsKind: bundle.meta.weightsKind, layer: bundle.meta.layer, provider: r.choice.provider, arrays: shapes, extra: bundle.meta.extra })}\n`);
      } else {
        const label = bundle.meta.extra.weights ?? bundle.meta.weightsKind;
        process.stdout.write(`${bundle.meta.model} (${label}) → ${out}\n`);
        for (const [k, s] of Object.entries(shapes)) process.stdout.write(`  ${k} [${s.join(',')}]\n`);
        const x = bundle.meta.extra;
        process.stdout.write(`  time: decode ${x.time_decode_ms} ms, preprocess ${x.time_preprocess_ms} ms, session.run ${x.time_session_run_ms} ms, surgery outputs ${x.time_surgery_outputs_ms} ms (${r.choice.provider})\n`);
      }
    } finally {
      await worker.dispose();
    }
    return 0;
  },
};

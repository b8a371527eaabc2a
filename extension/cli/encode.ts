import { writeBundle } from '../core/bundle/io.ts';
import { InputError } from '../core/errors.ts';
import { closeEncoder, encodeImage, openEncoder, prepareModel } from '../core/runtime/encoder.ts';
import { resolveModel } from '../core/runtime/model-folder.ts';
import { parseProviderSetting, parseThreads, sessionOptionsFor } from '../core/runtime/providers.ts';
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
  usage: 'encode <image> --model <folder|prunelens.json> --out <bundle.npz> [--question q] [--feature-layer -2] [--provider cpu] [--threads N] [--max-megapixels N] [--json]',
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
    // Provider probing (auto, fallback) lives in the runtime worker; in-process the CLI runs what is asked.
    const provider = setting === 'auto' ? 'cpu' : setting;
    const threads = parseThreads(single(p, 'threads'));
    const maxMegapixels = positive(single(p, 'max-megapixels'), 'max-megapixels');

    const prepared = prepareModel(resolveModel(modelArg), { featureLayer });
    const enc = await openEncoder(prepared, sessionOptionsFor(provider, threads));
    try {
      const { bundle, notices } = await encodeImage(enc, { image: p.positional[0], question: single(p, 'question'), limits: maxMegapixels ? { maxMegapixels } : undefined });
      writeBundle(out, bundle);
      for (const n of notices) process.stderr.write(`prunelens: note: ${n}\n`);
      const shapes = Object.fromEntries([...bundle.arrays].map(([k, t]) => [k, t.shape]));
      if (p.switches.has('json')) {
        process.stdout.write(`${JSON.stringify({ out, model: bundle.meta.model, weightsKind: bundle.meta.weightsKind, layer: bundle.meta.layer, arrays: shapes, extra: bundle.meta.extra })}\n`);
      } else {
        const label = bundle.meta.extra.weights ?? bundle.meta.weightsKind;
        process.stdout.write(`${bundle.meta.model} (${label}) → ${out}\n`);
        for (const [k, s] of Object.entries(shapes)) process.stdout.write(`  ${k} [${s.join(',')}]\n`);
        const x = bundle.meta.extra;
        process.stdout.write(`  time: decode ${x.time_decode_ms} ms, preprocess ${x.time_preprocess_ms} ms, session.run ${x.time_session_run_ms} ms, surgery outputs ${x.time_surgery_outputs_ms} ms (${provider})\n`);
      }
    } finally {
      await closeEncoder(enc);
    }
    return 0;
  },
};

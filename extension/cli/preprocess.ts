import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { serializeNpy } from '../core/bundle/npy.ts';
import { makeTensor } from '../core/bundle/tensor.ts';
import { InputError } from '../core/errors.ts';
import { DEFAULT_DECODE_LIMITS, decodeImage, loadPreprocessorConfig, preprocess, resizeOutputSize } from '../core/runtime/image/index.ts';
import type { CliCommand } from './command.ts';
import { parseArgs, single } from './args.ts';

/** The vision patch size from the folder's config.json, if it states one (the smallest usable image side). */
function patchSizeOf(folder: string): number | undefined {
  const path = join(folder, 'config.json');
  if (!existsSync(path)) return undefined;
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as { vision_config?: { patch_size?: unknown }; patch_size?: unknown };
    const p = c.vision_config?.patch_size ?? c.patch_size;
    return typeof p === 'number' && Number.isInteger(p) && p > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

function positiveNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new InputError(`--${flag} must be a positive number, got "${text}".`);
  return v;
}

export const preprocessCommand: CliCommand = {
  name: 'preprocess',
  usage: 'preprocess <image> --model <folder> --out <pixels.npy> [--max-megapixels N] [--min-side N] [--json]   the exact pixel tensor fed to the model',
  async run(args) {
    const p = parseArgs(args, ['model', 'out', 'max-megapixels', 'min-side'], ['json']);
    if (p.positional.length !== 1) throw new InputError('preprocess needs exactly one image file.');
    const folder = single(p, 'model');
    if (!folder) throw new InputError('preprocess needs --model <folder> (with a preprocessor_config.json).');
    const out = single(p, 'out');
    if (!out) throw new InputError('preprocess needs --out <pixels.npy>.');
    const config = loadPreprocessorConfig(folder);
    const minSide = positiveNumber(single(p, 'min-side'), 'min-side') ?? patchSizeOf(folder) ?? DEFAULT_DECODE_LIMITS.minSide;
    const maxMegapixels = positiveNumber(single(p, 'max-megapixels'), 'max-megapixels') ?? DEFAULT_DECODE_LIMITS.maxMegapixels;
    const image = await decodeImage(p.positional[0], { minSide, maxMegapixels });
    const pixels = preprocess(image, config);
    writeFileSync(out, serializeNpy(makeTensor('float32', pixels.shape, pixels.data)));
    const resized = config.doResize ? resizeOutputSize(image.width, image.height, config) : { width: image.width, height: image.height };
    const summary = {
      image: basename(p.positional[0]),
      format: image.format,
      decoded: [image.height, image.width],
      resized: [resized.height, resized.width],
      shape: pixels.shape,
      out,
    };
    if (p.switches.has('json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `${summary.image} (${image.format}, ${image.width}×${image.height}) → resize ${resized.width}×${resized.height} → float32 [${pixels.shape.join(', ')}] written to ${out}\n`,
      );
    }
    return 0;
  },
};

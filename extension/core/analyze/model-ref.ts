// Which model folder a request means: the built-in probe (shipped beside the code that runs, whether that
// is dist/cli.cjs, dist/extension.cjs or the TypeScript sources) or a user's folder / manifest.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.ts';
import { MANIFEST_FILE } from '../runtime/model-folder.ts';

export const PROBE_ID = 'probe';

/** models/probe of this installation: the first ancestor of the running file that holds it. */
export function builtinProbeDir(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'models', 'probe');
    if (existsSync(join(candidate, MANIFEST_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new InputError(`The built-in probe model was not found beside ${from} (expected models/${PROBE_ID}/${MANIFEST_FILE}); pass --model <folder>.`);
}

/**
 * The path to hand to `resolveModel`: 'probe' (any case) is the built-in model, which must have been
 * generated (`npm run models`, part of `npm run build`); anything else is a path.
 */
export function modelPathFor(model: string, probeDir?: string): string {
  if (model.trim().toLowerCase() !== PROBE_ID) return resolve(model);
  const dir = probeDir ?? builtinProbeDir();
  if (!existsSync(join(dir, 'onnx', 'vision_model.onnx'))) {
    throw new InputError(`The built-in probe model in ${dir} has not been generated yet: run \`npm run models\` (part of \`npm run build\`).`);
  }
  return dir;
}

import { InputError } from '../core/errors.ts';
import { builtinCatalogue, defaultModelsDir, effectiveBaseUrl, fileUrl, findModel, readCatalogue, type Catalogue } from '../core/runtime/catalogue.ts';
import { DownloadError, pullModel, type PullProgress } from '../core/runtime/download.ts';
import { CancelledError } from '../core/runtime/worker/errors.ts';
import type { CliCommand } from './command.ts';
import { parseArgs, single } from './args.ts';
import { join, resolve } from 'node:path';

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function loadCatalogue(path: string | undefined): Catalogue {
  return path ? readCatalogue(path) : builtinCatalogue();
}

function list(args: string[]): number {
  const p = parseArgs(args, ['catalogue', 'base-url'], ['json']);
  if (p.positional.length) throw new InputError('models list takes no arguments.');
  const cat = loadCatalogue(single(p, 'catalogue'));
  const base = effectiveBaseUrl(cat, single(p, 'base-url'));
  if (p.switches.has('json')) {
    const out = cat.models.map((m) => ({ ...m, files: m.files.map((f) => ({ ...f, url: fileUrl(base, m, f) })) }));
    process.stdout.write(`${JSON.stringify({ defaultDir: defaultModelsDir(), models: out }, null, 2)}\n`);
    return 0;
  }
  for (const m of cat.models) {
    const known = m.files.filter((f) => f.size !== null);
    const size = known.length === m.files.length ? mb(known.reduce((a, f) => a + (f.size ?? 0), 0)) : known.length ? `≥ ${mb(known.reduce((a, f) => a + (f.size ?? 0), 0))}` : 'size unknown';
    const sums = m.files.filter((f) => f.sha256 !== null).length;
    process.stdout.write(`${m.id.padEnd(34)} ${m.name}\n`);
    process.stdout.write(`${''.padEnd(34)} ${m.repo}@${m.revision}; ${m.files.length} files, ${size}; sha256 for ${sums} of ${m.files.length}\n`);
  }
  process.stdout.write(`\nmodels are pulled into ${defaultModelsDir()}/<id> unless --dest is given\n`);
  return 0;
}

async function pull(args: string[]): Promise<number> {
  const p = parseArgs(args, ['dest', 'catalogue', 'base-url', 'retries'], ['no-verify', 'json']);
  if (p.positional.length !== 1) throw new InputError('models pull needs exactly one model id (see `prunelens models list`).');
  const cat = loadCatalogue(single(p, 'catalogue'));
  const model = findModel(cat, p.positional[0]);
  const dest = resolve(single(p, 'dest') ?? join(defaultModelsDir(), model.id));
  const retriesText = single(p, 'retries') ?? '3';
  const retries = Number(retriesText);
  if (!Number.isInteger(retries) || retries < 0) throw new InputError(`--retries must be a whole number ≥ 0, got "${retriesText}".`);
  const verify = !p.switches.has('no-verify');
  const json = p.switches.has('json');

  const tty = Boolean(process.stderr.isTTY) && !json;
  let lastDraw = 0;
  const draw = (pr: PullProgress): void => {
    const now = Date.now();
    if (!tty || now - lastDraw < 200) return;
    lastDraw = now;
    const file = pr.fileTotal ? `${mb(pr.fileBytes)} / ${mb(pr.fileTotal)}` : mb(pr.fileBytes);
    const all = pr.totalBytes ? ` (${((100 * pr.doneBytes) / pr.totalBytes).toFixed(1)}% of ${mb(pr.totalBytes)})` : '';
    process.stderr.write(`\r\x1b[K${pr.file}: ${file}${all}`);
  };
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await pullModel(cat, model, {
      dest,
      baseUrl: single(p, 'base-url'),
      retries,
      verify,
      signal: controller.signal,
      onProgress: draw,
      onFile: (file, r) => {
        if (json) return;
        if (tty) process.stderr.write('\r\x1b[K');
        const how = r.present ? 'already present' : r.resumedFrom > 0 ? `resumed at ${mb(r.resumedFrom)}` : 'downloaded';
        const check = r.check === 'verified' ? 'sha256 verified' : r.check === 'skipped' ? 'checksum not checked (--no-verify)' : 'no checksum to verify';
        process.stderr.write(`${file}: ${how}, ${mb(r.bytes)}, ${check}\n`);
      },
    });
    if (json) {
      process.stdout.write(`${JSON.stringify({ dir: result.dir, model: result.model, files: result.files.map((f) => ({ file: f.path, ...f.result })) }, null, 2)}\n`);
    } else {
      process.stdout.write(`${model.id} is ready in ${result.dir}\n(use it with --model ${result.dir})\n`);
    }
    return 0;
  } catch (err) {
    if (tty) process.stderr.write('\r\x1b[K');
    if (err instanceof DownloadError) {
      process.stderr.write(`prunelens: download failed: ${err.message}\n`);
      if (err.code === 'truncated' || err.code === 'network') process.stderr.write('prunelens: run the same command again to resume.\n');
      return 1;
    }
    if (err instanceof CancelledError) {
      process.stderr.write('prunelens: download cancelled; run the same command again to resume.\n');
      return 130;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export const modelsCommand: CliCommand = {
  name: 'models',
  usage: 'models list [--json] | models pull <id> [--dest dir] [--no-verify]   downloadable models (CLIP exports)',
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'list') return list(rest);
    if (sub === 'pull') return pull(rest);
    throw new InputError(`models needs "list" or "pull <id>"${sub ? `, got "${sub}"` : ''}.`);
  },
};

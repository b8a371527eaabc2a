import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { AnalysisEntry } from '../core/analysis.ts';
import { decodeLimits, runAnalysis } from '../core/analyze/pipeline.ts';
import type { AnalyzeRequest, BudgetRequest } from '../core/analyze/types.ts';
import { writeAnalysisOutputs } from '../core/analyze/outputs.ts';
import { encodePng, modelViewImage } from '../core/analyze/view.ts';
import type { RgbImage } from '../core/analyze/overlay.ts';
import { InputError } from '../core/errors.ts';
import type { JsonObject } from '../core/json.ts';
import { parseParamAssignment } from '../core/methods/params.ts';
import { parseProviderSetting, parseThreads } from '../core/runtime/providers.ts';
import { writeHtmlReport } from '../core/report/html.ts';
import { WorkerClient } from '../core/runtime/worker/client.ts';
import { CancelledError } from '../core/runtime/worker/errors.ts';
import type { CliCommand } from './command.ts';
import { parseArgs, single, type ParsedArgs } from './args.ts';

const log = (line: string): void => {
  process.stderr.write(`prunelens: ${line}\n`);
};

function budgetOf(p: ParsedArgs): BudgetRequest | null {
  const k = single(p, 'budget');
  const r = single(p, 'ratio');
  if (k !== undefined && r !== undefined) throw new InputError('Give either --budget k or --ratio r, not both.');
  if (k !== undefined) {
    const v = Number(k);
    if (!Number.isInteger(v) || v < 1) throw new InputError(`--budget must be a positive whole number of tokens, got "${k}".`);
    return { k: v };
  }
  if (r !== undefined) {
    const v = Number(r);
    if (!(v > 0 && v <= 1)) throw new InputError(`--ratio must be a number in (0, 1], got "${r}".`);
    return { ratio: v };
  }
  return null;
}

/** `--max-megapixels m`: the decompression-bomb guard (default 50). */
function megapixelsOf(v: string | undefined): number | null {
  if (v === undefined) return null;
  const m = Number(v);
  if (!(Number.isFinite(m) && m > 0)) throw new InputError(`--max-megapixels must be a positive number, got "${v}".`);
  return m;
}

/** `--param method.key=value` (repeatable) → per-method overrides. */
function paramsOf(values: readonly string[]): { [method: string]: JsonObject } {
  const out: { [method: string]: JsonObject } = {};
  for (const v of values) {
    const [key, value] = parseParamAssignment(v);
    const dot = key.indexOf('.');
    if (dot <= 0 || dot === key.length - 1) throw new InputError(`--param expects method.key=value (e.g. cdpruner.relevance_sign=-1), got "${v}".`);
    const method = key.slice(0, dot);
    (out[method] ??= {})[key.slice(dot + 1)] = value;
  }
  return out;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]) : c)).join('  ').trimEnd();
}

function table(entries: readonly AnalysisEntry[], n: number): string {
  const rows = entries.map((e) => (e.status === 'ok' ? [e.method, `${e.keep.length}/${n}`, `${e.time_ms.toFixed(1)} ms`] : [e.method, '—', `${e.status}: ${e.reason}`]));
  // The last column (time, or why a method did not run) is not padded.
  const widths = [6, 4].map((w, i) => Math.max(w, ...rows.map((r) => r[i].length)));
  return [row(['method', 'kept', 'time'], widths), ...rows.map((r) => row(r, widths))].join('\n');
}

export const analyzeCommand: CliCommand = {
  name: 'analyze',
  usage:
    'analyze <image|bundle.npz> [--question "..."] [--model probe|<folder>] [--methods all|id,...] [--budget k | --ratio r] [--param method.key=v ...] [--provider auto|cpu|cuda|webgpu|dml|coreml] [--threads n] [--codebook file] [--max-megapixels m] [--out dir] [--html]',
  async run(args) {
    const p = parseArgs(args, ['question', 'model', 'methods', 'budget', 'ratio', 'param', 'provider', 'threads', 'codebook', 'max-megapixels', 'out'], ['html']);
    if (p.positional.length !== 1) throw new InputError('analyze needs exactly one image or bundle (.npz) file.');
    const input = p.positional[0];
    const isBundle = input.toLowerCase().endsWith('.npz');
    const methodsArg = single(p, 'methods') ?? 'all';
    const out = resolve(single(p, 'out') ?? 'prunelens-out');
    const req: AnalyzeRequest = {
      image: isBundle ? null : input,
      bundlePath: isBundle ? input : null,
      question: single(p, 'question') ?? '',
      model: single(p, 'model') ?? (isBundle ? null : 'probe'),
      methods: methodsArg.trim() === 'all' ? 'all' : methodsArg.split(',').filter((s) => s.trim() !== ''),
      budget: budgetOf(p),
      params: paramsOf(p.flags.get('param') ?? []),
      provider: parseProviderSetting(single(p, 'provider') ?? 'auto'),
      threads: parseThreads(single(p, 'threads')),
      codebookPath: single(p, 'codebook') ?? null,
      maxMegapixels: megapixelsOf(single(p, 'max-megapixels')),
    };

    const worker = isBundle ? null : new WorkerClient();
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const outcome = await runAnalysis(
        req,
        {
          signal: abort.signal,
          onProgress: (e) => {
            if (e.stage !== 'method' || e.fraction === 1) log(e.stage === 'method' ? 'methods done' : e.message);
          },
        },
        { worker: worker ?? undefined },
      );
      const a = outcome.analysis;
      if (req.image) log(`execution provider: ${a.model.provider}${a.model.providerNotes.length > 0 ? ` (${a.model.providerNotes.join('; ')})` : ''}`);
      log(`writing ${out}`);
      let view: RgbImage | null = null;
      if (req.image && outcome.context.view) view = await modelViewImage(req.image, outcome.context.view.preprocessorPath, decodeLimits(req));
      const files = await writeAnalysisOutputs(out, outcome, view);
      if (p.switches.has('html')) {
        const html = join(out, 'report.html');
        writeHtmlReport(a, view ? new Uint8Array(await encodePng(view)) : req.image ? new Uint8Array(readFileSync(req.image)) : null, html);
      }

      const source = a.image ? basename(a.image.path) : basename(input);
      const weights = a.model.provenance?.weights ?? a.model.weightsKind;
      process.stdout.write(`${source} — ${a.question ? `"${a.question}"` : 'no question (question-agnostic)'} — ${a.model.name} (${weights}) on ${a.model.provider}\n`);
      process.stdout.write(`budget ${a.budget} of ${a.n} tokens${a.grid ? ` (${a.grid[0]}×${a.grid[1]} grid)` : ''}\n\n`);
      process.stdout.write(`${table(a.results, a.n)}\n\n`);
      const pngs = Object.keys(files.pngs).length;
      process.stdout.write(`wrote ${out}: analysis.json, bundle.npz, ${pngs} PNG${pngs === 1 ? '' : 's'}${p.switches.has('html') ? ', report.html' : ''}\n`);
      if (files.pngNote) process.stdout.write(`no PNGs: ${files.pngNote}\n`);
      return 0;
    } catch (err) {
      if (err instanceof CancelledError) {
        log('cancelled');
        return 130;
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSigint);
      await worker?.dispose();
    }
  },
};

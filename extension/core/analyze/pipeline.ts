// The analysis pipeline shared by `prunelens analyze` and the VS Code host: image (+ question) → bundle
// through the runtime worker (or a dumped bundle) → every applicable method at one budget → Analysis.
import { basename, resolve } from 'node:path';
import type { Analysis, AnalysisEntry } from '../analysis.ts';
import { readBundle } from '../bundle/io.ts';
import type { RoleMapping, TokenBundle } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { prune } from '../methods/prune.ts';
import { getMethod, METHODS } from '../methods/registry.ts';
import type { MethodSpec, PruneResult } from '../methods/types.ts';
import { modelFileId, sha256File } from '../runtime/cache.ts';
import { resolveModel, type ResolvedModel } from '../runtime/model-folder.ts';
import { checkImageSize, type DecodeLimits } from '../runtime/image/decode.ts';
import { parseProviderSetting } from '../runtime/providers.ts';
import { CancelledError } from '../runtime/worker/errors.ts';
import { AnalysisCache, type InputKey } from './cache.ts';
import { encodeThroughWorker, type EncodeWorker } from './encode.ts';
import { failedEntry, resultEntry } from './entries.ts';
import { manifestMethodDefaults, readCodebook, withCodebook } from './inputs.ts';
import { modelPathFor, PROBE_ID } from './model-ref.ts';
import { budgetK, planMethod, selectMethods, type PlanContext } from './plan.ts';
import type { AnalysisContext, AnalysisOutcome, AnalyzeOptions, AnalyzeProgress, AnalyzeRequest, MethodPlan } from './types.ts';

export interface AnalyzeDeps {
  /** The runtime worker that encodes images (not needed for bundles). */
  worker?: EncodeWorker;
  /** Bundles and method results kept between analyses (the VS Code host keeps one for the session). */
  cache?: AnalysisCache;
  /** Folder of the built-in probe model (default: the one beside the running code). */
  probeDir?: string;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('analyze');
}

/** Lets an abort (or the host's other work) in between two synchronous method runs. */
const yieldToLoop = (): Promise<void> => new Promise((res) => setImmediate(res));

interface Source {
  bundle: TokenBundle;
  model: Analysis['model'];
  image: Analysis['image'];
  question: string;
  hasTextTower: boolean | null;
  methodDefaults: { [methodId: string]: JsonObject };
  inputKey: InputKey;
  view: AnalysisContext['view'];
  timings: { [stage: string]: number };
}

async function modelKey(m: ResolvedModel): Promise<string> {
  const v = await modelFileId(m.vision.path);
  const t = m.text && m.text.path !== m.vision.path ? await modelFileId(m.text.path) : null;
  return `${m.id}|${v.path}@${v.mtimeMs}|${t ? `${t.path}@${t.mtimeMs}` : '-'}`;
}

/** The request's decode limits (a bad value is the caller's mistake, said as one sentence). */
export function decodeLimits(req: Pick<AnalyzeRequest, 'maxMegapixels'>): DecodeLimits | undefined {
  const mp = req.maxMegapixels;
  if (mp === undefined || mp === null) return undefined;
  if (!(typeof mp === 'number' && Number.isFinite(mp) && mp > 0)) throw new InputError(`The megapixel limit must be a positive number, got ${String(mp)}.`);
  return { maxMegapixels: mp };
}

/** "W×H format" from the encoder's provenance. */
function imageSize(extra: Record<string, string>): { width: number; height: number } {
  const m = /^(\d+)x(\d+)/.exec(extra.image_size ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 0, height: 0 };
}

function extraTimings(extra: Record<string, string>): { [stage: string]: number } {
  const out: { [stage: string]: number } = {};
  for (const stage of ['decode', 'preprocess', 'tokenize', 'session_run', 'session_create', 'surgery_outputs']) {
    const v = Number(extra[`time_${stage}_ms`]);
    if (Number.isFinite(v)) out[stage] = round1(v);
  }
  return out;
}

async function fromImage(req: AnalyzeRequest, image: string, opts: AnalyzeOptions, deps: AnalyzeDeps, progress: (p: AnalyzeProgress) => void): Promise<Source> {
  const modelArg = req.model ?? PROBE_ID;
  const model = resolveModel(modelPathFor(modelArg, deps.probeDir));
  const setting = parseProviderSetting(req.provider);
  const question = req.question.trim();
  const sha256 = await sha256File(resolve(image)).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(err.code === 'ENOENT' ? `Image not found: ${image}.` : `Cannot read ${image} (${err.code ?? err.message}).`);
  });
  const inputKey: InputKey = { sha256, question, model: await modelKey(model) };
  const cacheKey = deps.cache?.bundleKey(inputKey, { provider: setting, threads: req.threads });
  const timings: { [stage: string]: number } = {};
  let bundle = cacheKey ? deps.cache?.bundles.get(cacheKey) : undefined;
  let provider: string;
  let providerNotes: string[];
  const limits = decodeLimits(req);
  if (bundle) {
    // Encoded earlier under another limit: the size check still applies.
    const seen = imageSize(bundle.meta.extra);
    if (seen.width > 0) checkImageSize(seen.width, seen.height, basename(image), limits);
    progress({ stage: 'encode', message: `using the cached encoding of ${image}` });
    provider = bundle.meta.extra.provider ?? 'cpu';
    providerNotes = (bundle.meta.extra.provider_notes ?? '').split(' | ').filter((s) => s !== '');
    timings.encode = 0;
  } else {
    if (!deps.worker) throw new Error('runAnalysis needs a runtime worker to encode an image');
    progress({ stage: 'encode', message: `encoding ${image} with ${model.name} (provider setting: ${setting})` });
    const r = await encodeThroughWorker(deps.worker, { model: modelPathFor(modelArg, deps.probeDir), image: resolve(image), question, provider: setting, threads: req.threads, limits }, opts.signal);
    bundle = r.bundle;
    provider = r.choice.provider;
    providerNotes = (r.bundle.meta.extra.provider_notes ?? '').split(' | ').filter((s) => s !== '');
    timings.provider = round1(r.providerMs);
    timings.encode = round1(r.encodeMs);
    Object.assign(timings, extraTimings(bundle.meta.extra));
    if (cacheKey) deps.cache?.bundles.set(cacheKey, bundle);
  }
  const size = imageSize(bundle.meta.extra);
  return {
    bundle,
    model: { id: model.id, name: model.name, description: model.description, weightsKind: bundle.meta.weightsKind, provider, providerNotes },
    image: { path: resolve(image), ...size },
    question,
    hasTextTower: model.text !== null,
    methodDefaults: model.methodDefaults,
    inputKey,
    view: { preprocessorPath: model.preprocessorPath },
    timings,
  };
}

async function fromBundle(req: AnalyzeRequest, path: string): Promise<Source> {
  const bundle = readBundle(path);
  const sha256 = await sha256File(resolve(path));
  const meta = bundle.meta;
  const own = meta.extra.question ?? '';
  const asked = req.question.trim();
  if (asked !== '' && own.trim() !== asked) {
    throw new InputError(`The bundle was encoded ${own ? `with the question "${own}"` : 'without a question'}; a bundle's text arrays cannot change, so --question must be left out or match.`);
  }
  // Model-specific method settings: the model the user names, else the bundle's own model if it is the probe.
  const named = req.model ?? (meta.model === PROBE_ID || meta.weightsKind === 'probe' ? PROBE_ID : null);
  const methodDefaults = named ? manifestMethodDefaults(named) : {};
  const notes = meta.extra.provider_notes ? meta.extra.provider_notes.split(' | ') : [];
  return {
    bundle,
    model: {
      id: meta.model || 'bundle',
      name: meta.extra.model_name ?? (meta.model || 'token bundle'),
      description: `Token bundle ${resolve(path)}${meta.model ? ` made with ${meta.model}` : ''}; no model ran in this analysis.`,
      weightsKind: meta.weightsKind,
      provider: meta.extra.provider ?? 'none',
      providerNotes: [`read from ${resolve(path)}: no encoder ran`, ...notes],
    },
    image: null,
    question: own.trim(),
    hasTextTower: null,
    methodDefaults,
    inputKey: { sha256, question: own.trim(), model: `bundle|${named ?? '-'}` },
    view: null,
    timings: {},
  };
}

/** Provenance strings for analysis.json: the bundle's metadata flattened. */
function provenance(b: TokenBundle, inputKey: InputKey): { [key: string]: string } {
  return { source: b.meta.source, layer: b.meta.layer === null ? 'none' : String(b.meta.layer), input_sha256: inputKey.sha256, ...b.meta.extra };
}

interface RunContext {
  bundle: TokenBundle;
  context: AnalysisContext;
  question: string;
  cache?: AnalysisCache;
}

type MethodRun = { entry: AnalysisEntry; result: PruneResult | null };

/** A method planned for a budget: already answered (not runnable, or cached), or to be run with `prune`. */
type Planned = { done: MethodRun } | { spec: MethodSpec; plan: Extract<MethodPlan, { runnable: true }>; key: string | undefined };

function planRun(methodId: string, k: number, rc: RunContext, override?: JsonObject): Planned {
  const spec = getMethod(methodId);
  const ctx: PlanContext = {
    bundle: rc.bundle,
    k,
    question: rc.question,
    hasTextTower: rc.context.hasTextTower,
    methodDefaults: rc.context.methodDefaults,
    params: override ? { ...rc.context.params, [methodId]: { ...(rc.context.params[methodId] ?? {}), ...override } } : rc.context.params,
  };
  const plan = planMethod(spec, ctx);
  if (!plan.runnable) return { done: { entry: { method: spec.id, status: plan.status, reason: plan.reason }, result: null } };
  const key = rc.cache && rc.context.inputKey ? rc.cache.resultKey(rc.context.inputKey, spec.id, plan.params, plan.mapping) : undefined;
  const hit = key ? rc.cache?.results.get(key) : undefined;
  if (hit) return { done: { entry: resultEntry(spec, hit.result, hit.timeMs, plan.notes), result: hit.result } };
  return { spec, plan, key };
}

function ranEntry(p: Exclude<Planned, { done: MethodRun }>, rc: RunContext, result: PruneResult, timeMs: number): MethodRun {
  if (p.key) rc.cache?.results.set(p.key, { result, timeMs });
  return { entry: resultEntry(p.spec, result, timeMs, p.plan.notes), result };
}

/** Plan and run one method (or take it from the cache): its entry, and the full result when it ran. */
function runMethod(methodId: string, k: number, rc: RunContext, override?: JsonObject): MethodRun {
  const p = planRun(methodId, k, rc, override);
  if ('done' in p) return p.done;
  try {
    const t0 = performance.now();
    const result = prune(rc.bundle, p.spec.id, p.plan.params, p.plan.mapping);
    return ranEntry(p, rc, result, performance.now() - t0);
  } catch (err) {
    return { entry: failedEntry(p.spec.id, err), result: null };
  }
}

/**
 * Runs an analysis. Methods lacking an input are 'skipped' with the reason; the run itself fails only for
 * bad input (image, model, bundle) or cancellation (CancelledError).
 */
export async function runAnalysis(req: AnalyzeRequest, opts: AnalyzeOptions = {}, deps: AnalyzeDeps = {}): Promise<AnalysisOutcome> {
  const progress = (p: AnalyzeProgress): void => opts.onProgress?.(p);
  if ((req.image === null) === (req.bundlePath === null)) throw new InputError('Analyze needs exactly one input: an image or a bundle (.npz).');
  const methods = selectMethods(req.methods, METHODS);
  throwIfAborted(opts.signal);
  const src = req.image !== null ? await fromImage(req, req.image, opts, deps, progress) : await fromBundle(req, req.bundlePath as string);
  throwIfAborted(opts.signal);
  let bundle = src.bundle;
  let inputKey = src.inputKey;
  // A codebook that cannot be used (missing, wrong width) skips the codebook method with the reason; the
  // other methods still run.
  let codebookProblem: string | null = null;
  if (req.codebookPath) {
    try {
      bundle = withCodebook(bundle, readCodebook(req.codebookPath));
      inputKey = { ...inputKey, model: `${inputKey.model}|codebook:${await sha256File(resolve(req.codebookPath))}` };
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      codebookProblem = `codebook ${basename(req.codebookPath)} not used — ${err.message}`;
    }
  }
  const features = bundle.arrays.get('features');
  if (!features) throw new InputError('The bundle has no "features" array.');
  const n = features.shape[0];
  const gridT = bundle.arrays.get('grid');
  const grid: [number, number] | null = gridT && gridT.data.length === 2 ? [Number(gridT.data[0]), Number(gridT.data[1])] : null;
  const k = budgetK(req.budget, n);
  const context: AnalysisContext = { methodDefaults: src.methodDefaults, params: req.params, inputKey, view: src.view, hasTextTower: src.hasTextTower };
  const rc: RunContext = { bundle, context, question: src.question, cache: deps.cache };

  const entries: AnalysisEntry[] = [];
  const results = new Map<string, PruneResult>();
  const t0 = performance.now();
  for (const [i, spec] of methods.entries()) {
    throwIfAborted(opts.signal);
    progress({ stage: 'method', message: `${spec.id} (${i + 1}/${methods.length})`, fraction: i / methods.length });
    const { entry, result } = codebookProblem && spec.id === 'codebook' ? { entry: { method: spec.id, status: 'skipped' as const, reason: codebookProblem }, result: null } : runMethod(spec.id, k, rc);
    entries.push(entry);
    if (result) results.set(spec.id, result);
    await yieldToLoop();
  }
  throwIfAborted(opts.signal);
  progress({ stage: 'method', message: 'methods done', fraction: 1 });
  const analysis: Analysis = {
    version: 1,
    image: src.image,
    question: src.question,
    // The bundle's own file (its meta.source may name the image it was encoded from): the panel's heading.
    model: { ...src.model, provenance: { ...provenance(bundle, inputKey), ...(req.bundlePath !== null ? { bundle_path: resolve(req.bundlePath) } : {}) } },
    grid,
    n,
    budget: k,
    timings_ms: { ...src.timings, methods: round1(performance.now() - t0) },
    results: entries,
  };
  return { analysis, bundle, results, context };
}

export interface RerunChange {
  /** New budget k (kept tokens); default: the analysis's budget. */
  budget?: number;
  /** Parameter overrides for this method (on top of the request's). */
  params?: JsonObject;
}

function rerunContext(outcome: AnalysisOutcome, change: RerunChange, cache: AnalysisCache | undefined): { k: number; rc: RunContext } {
  const k = change.budget ?? outcome.analysis.budget;
  if (!Number.isInteger(k) || k < 1 || k > outcome.analysis.n) throw new InputError(`Budget must be a whole number of tokens from 1 to ${outcome.analysis.n}, got ${k}.`);
  return { k, rc: { bundle: outcome.bundle, context: outcome.context, question: outcome.analysis.question, cache } };
}

/** Puts a method's new entry and result into the outcome (in place). */
function applyRun(outcome: AnalysisOutcome, methodId: string, r: MethodRun): MethodRun {
  const i = outcome.analysis.results.findIndex((e) => e.method === methodId);
  if (i >= 0) outcome.analysis.results[i] = r.entry;
  else outcome.analysis.results.push(r.entry);
  if (r.result) outcome.results.set(methodId, r.result);
  else outcome.results.delete(methodId);
  return r;
}

/**
 * Re-runs one method of an analysis (e.g. for a new budget) on the outcome's bundle, without encoding
 * again, and replaces its entry and result in the outcome. Returns the new entry.
 */
export function rerunMethod(outcome: AnalysisOutcome, methodId: string, change: RerunChange = {}, deps: { cache?: AnalysisCache } = {}): MethodRun {
  const spec = getMethod(methodId);
  const { k, rc } = rerunContext(outcome, change, deps.cache);
  return applyRun(outcome, spec.id, runMethod(spec.id, k, rc, change.params));
}

/**
 * Runs `prune` somewhere else than the caller's code: a child process (the VS Code host, so a 0.5 s F³A
 * run never blocks it) or this thread after a yield (tests, the fallback). Rejects with an error named
 * CancelledError or AbortError when `signal` aborts; any other rejection is the method's own failure.
 */
export type PruneExecutor = (
  bundle: TokenBundle,
  methodId: string,
  params: JsonObject,
  mapping: RoleMapping,
  signal?: AbortSignal,
) => Promise<{ result: PruneResult; timeMs: number }>;

const isCancel = (err: unknown): boolean => err instanceof Error && (err.name === 'CancelledError' || err.name === 'AbortError');

/** rerunMethod with the method run by `execute`; planning and the result cache stay with the caller. */
export async function rerunMethodWith(
  execute: PruneExecutor,
  outcome: AnalysisOutcome,
  methodId: string,
  change: RerunChange = {},
  deps: { cache?: AnalysisCache; signal?: AbortSignal } = {},
): Promise<MethodRun> {
  const spec = getMethod(methodId);
  const { k, rc } = rerunContext(outcome, change, deps.cache);
  deps.signal?.throwIfAborted();
  const p = planRun(spec.id, k, rc, change.params);
  if ('done' in p) return applyRun(outcome, spec.id, p.done);
  let run: MethodRun;
  try {
    const { result, timeMs } = await execute(rc.bundle, spec.id, p.plan.params, p.plan.mapping, deps.signal);
    run = ranEntry(p, rc, result, timeMs);
  } catch (err) {
    if (isCancel(err) || deps.signal?.aborted) throw err;
    run = { entry: failedEntry(spec.id, err), result: null };
  }
  return applyRun(outcome, spec.id, run);
}

/** The in-thread executor: yields to the event loop first so an abort or other work gets in. */
export const inThreadExecutor: PruneExecutor = async (bundle, methodId, params, mapping, signal) => {
  await yieldToLoop();
  signal?.throwIfAborted();
  const t0 = performance.now();
  const result = prune(bundle, methodId, params, mapping);
  return { result, timeMs: performance.now() - t0 };
};

import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import type { BackendInfo, RuntimeKinds } from './worker/kinds.ts';
import type { RequestOptions } from './worker/client.ts';
import { CancelledError, WorkerTimeoutError } from './worker/errors.ts';

/** Values of the `prunelens.executionProvider` setting. */
export const PROVIDER_SETTINGS = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];
export type ExecutionProvider = Exclude<ProviderSetting, 'auto'>;

/** OSes each provider exists for (onnxruntime-node builds). */
const PROVIDER_OS: { [P in ExecutionProvider]: readonly NodeJS.Platform[] } = {
  cpu: ['linux', 'win32', 'darwin'],
  cuda: ['linux', 'win32'],
  webgpu: ['linux', 'win32', 'darwin'],
  dml: ['win32'],
  coreml: ['darwin'],
};

/** GPU providers `auto` tries, best first, per OS. */
const AUTO_ORDER: { [os: string]: readonly ExecutionProvider[] } = {
  linux: ['cuda', 'webgpu'],
  win32: ['cuda', 'dml', 'webgpu'],
  darwin: ['coreml', 'webgpu'],
};

const OS_NAMES: { [os: string]: string } = { linux: 'Linux', win32: 'Windows', darwin: 'macOS' };

export function parseProviderSetting(value: string): ProviderSetting {
  const v = value.trim().toLowerCase();
  if ((PROVIDER_SETTINGS as readonly string[]).includes(v)) return v as ProviderSetting;
  throw new InputError(`Unknown execution provider "${value}" (expected one of: ${PROVIDER_SETTINGS.join(', ')}).`);
}

/** `prunelens.threads`: a whole number ≥ 0; 0 means onnxruntime's default (one per physical core). */
export function parseThreads(value: string | number | undefined): number {
  if (value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1024) throw new InputError(`Thread count must be a whole number from 0 (automatic) to 1024, got "${value}".`);
  return n;
}

export interface SkippedProvider {
  provider: ExecutionProvider;
  reason: string;
}

/** Which provider runs the model, and why the others did not. */
export interface ProviderChoice {
  requested: ProviderSetting;
  /** The provider that passed its smoke run (or CPU). */
  provider: ExecutionProvider;
  threads: number;
  skipped: SkippedProvider[];
  /** Sentences to show the user (e.g. an explicit request that fell back to CPU). */
  notices: string[];
}

export interface ProviderProbe {
  platform: NodeJS.Platform;
  /** onnxruntime-node's backends in this build (`listSupportedBackends` + install check). */
  backends: readonly BackendInfo[];
  /** Runs the smoke graph on a provider; throws when it cannot. */
  smoke(provider: ExecutionProvider): Promise<unknown>;
}

/** Why a provider cannot run here, or null when its smoke run passed. */
async function tryProvider(p: ExecutionProvider, probe: ProviderProbe): Promise<string | null> {
  if (!PROVIDER_OS[p].includes(probe.platform)) {
    return `not for this OS (${p} exists for ${PROVIDER_OS[p].map((os) => OS_NAMES[os]).join(' and ')} only)`;
  }
  const b = probe.backends.find((x) => x.name === p);
  if (!b) return 'not in this onnxruntime-node build';
  if (!b.installed) return 'not bundled with onnxruntime-node and its libraries are not installed (see docs/GPU.md)';
  try {
    await probe.smoke(p);
    return null;
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    if (err instanceof WorkerTimeoutError) return `smoke run timed out after ${err.timeoutMs} ms`;
    return `smoke run failed: ${oneLine(err instanceof Error ? err.message : String(err))}`;
  }
}

/** The readable part of an onnxruntime message ("<source>:<line> <function> <check> was false. <text>"). */
export function oneLine(msg: string): string {
  let t = (msg.split('\n').find((l) => l.trim()) ?? msg).trim();
  const failedCheck = t.indexOf(' was false. ');
  if (failedCheck >= 0) t = t.slice(failedCheck + ' was false. '.length);
  else t = t.replace(/^\/\S+:\d+ /, '');
  return t.length > 300 ? `${t.slice(0, 297)}...` : t;
}

/**
 * Resolves the setting to the provider that actually runs. `auto` tries this OS's GPU providers in
 * order and falls back to CPU; an explicit GPU provider that cannot run also falls back to CPU, with a
 * notice rather than an error. CPU itself is not probed.
 */
export async function chooseProvider(setting: ProviderSetting, threads: number, probe: ProviderProbe): Promise<ProviderChoice> {
  const choice: ProviderChoice = { requested: setting, provider: 'cpu', threads, skipped: [], notices: [] };
  if (setting === 'cpu') return choice;
  if (setting !== 'auto') {
    const reason = await tryProvider(setting, probe);
    if (reason === null) {
      choice.provider = setting;
    } else {
      choice.skipped.push({ provider: setting, reason });
      choice.notices.push(`Execution provider "${setting}" was requested but cannot run here (${reason}); running on CPU instead.`);
    }
    return choice;
  }
  const order = AUTO_ORDER[probe.platform] ?? ['webgpu'];
  for (const p of order) {
    const reason = await tryProvider(p, probe);
    if (reason === null) {
      choice.provider = p;
      break;
    }
    choice.skipped.push({ provider: p, reason });
  }
  // Providers `auto` never tries here are listed too, so "why not X?" always has an answer.
  for (const p of PROVIDER_SETTINGS) {
    if (p === 'auto' || p === 'cpu' || p === choice.provider || order.includes(p)) continue;
    choice.skipped.push({ provider: p, reason: (await tryProvider(p, { ...probe, smoke: notTried })) ?? 'not tried' });
  }
  return choice;
}

const notTried = async (): Promise<never> => {
  throw new Error('not tried by auto on this OS');
};

/**
 * The skipped providers worth listing beside the notices: an explicitly requested provider that could not
 * run is told once, by its notice (which carries the same reason).
 */
export function untoldSkips(c: ProviderChoice): SkippedProvider[] {
  const told = c.notices.length > 0 && c.requested !== 'auto';
  return c.skipped.filter((s) => !(told && s.provider === c.requested));
}

/** One line per fact, for logs and the provenance strip. */
export function describeChoice(c: ProviderChoice): string[] {
  const threads = c.threads > 0 ? `${c.threads} thread${c.threads === 1 ? '' : 's'}` : 'default threads';
  const lines = [`execution provider: ${c.provider} (setting: ${c.requested}; ${threads})`];
  for (const s of untoldSkips(c)) lines.push(`  ${s.provider}: ${s.reason}`);
  return [...lines, ...c.notices];
}

/** Session options for a provider (used by every session the runtime creates). */
export function sessionOptionsFor(provider: string, threads: number): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // Errors only: every GPU session otherwise prints onnxruntime's warning that shape ops were placed on
    // the CPU (benign, by design), into the CLI's output and the extension's log.
    logSeverityLevel: 3,
  };
  if (threads > 0) options.intraOpNumThreads = threads;
  return options;
}

/** The part of the worker client provider selection needs (kept narrow so tests can stand in). */
export interface ProviderWorker {
  request<N extends 'backends' | 'smoke'>(kind: N, payload: RuntimeKinds[N]['payload'], opts?: RequestOptions): Promise<RuntimeKinds[N]['result']>;
}

/** Default limit for one smoke run: a hung GPU driver must not hang the analysis. */
export const SMOKE_TIMEOUT_MS = 20_000;

/**
 * Chooses the provider through the runtime worker: the smoke runs happen in the worker process with a
 * time limit, so a provider that crashes or hangs costs a worker restart, never the host.
 */
export async function selectProvider(
  worker: ProviderWorker,
  setting: ProviderSetting,
  threads: number,
  opts: { smokeTimeoutMs?: number; signal?: AbortSignal; platform?: NodeJS.Platform } = {},
): Promise<ProviderChoice> {
  if (setting === 'cpu') return chooseProvider('cpu', threads, { platform: opts.platform ?? process.platform, backends: [], smoke: notTried });
  const backends = await worker.request('backends', null, { signal: opts.signal });
  return chooseProvider(setting, threads, {
    platform: opts.platform ?? process.platform,
    backends,
    smoke: (provider) => worker.request('smoke', { provider, threads }, { signal: opts.signal, timeoutMs: opts.smokeTimeoutMs ?? SMOKE_TIMEOUT_MS }),
  });
}

/**
 * PruneLens settings → an AnalyzeRequest. Pure (no vscode import) so trust handling is unit-tested:
 * in an untrusted workspace the restricted settings (model, provider, codebook) take only the user's own
 * value, never one a cloned repository's .vscode/settings.json put there.
 */
import { isAbsolute, resolve } from 'node:path';
import type { AnalyzeRequest } from '../core/analyze/types.ts';
import { PROVIDER_SETTINGS } from '../core/runtime/providers.ts';

/** The subset of vscode's `WorkspaceConfiguration.inspect()` result used here. */
export interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export const RESTRICTED = ['model', 'executionProvider', 'codebookPath'] as const;

/** The value VS Code would use, except that restricted keys ignore workspace values when untrusted. */
export function effectiveValue<T>(i: Inspected<T> | undefined, trusted: boolean, restricted: boolean): T | undefined {
  if (!i) return undefined;
  if (restricted && !trusted) return i.globalValue ?? i.defaultValue;
  return i.workspaceFolderValue ?? i.workspaceValue ?? i.globalValue ?? i.defaultValue;
}

export interface Settings {
  model: string;
  executionProvider: string;
  threads: number;
  defaultBudget: number | null;
  defaultRatio: number | null;
  methods: string[];
  codebookPath: string;
  maxMegapixels: number;
}

export const DEFAULTS: Settings = {
  model: 'probe',
  executionProvider: 'auto',
  threads: 0,
  defaultBudget: null,
  defaultRatio: null,
  methods: [],
  codebookPath: '',
  maxMegapixels: 50,
};

const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);
const posInt = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);

/** Reads every setting through `inspect` (a function of the key without the `prunelens.` prefix). */
export function readSettings(inspect: (key: keyof Settings) => Inspected<unknown> | undefined, trusted: boolean): Settings {
  const get = (key: keyof Settings): unknown => effectiveValue(inspect(key), trusted, (RESTRICTED as readonly string[]).includes(key));
  const provider = str(get('executionProvider'), DEFAULTS.executionProvider).trim().toLowerCase();
  const threads = get('threads');
  const ratio = get('defaultRatio');
  const methods = get('methods');
  const mp = get('maxMegapixels');
  return {
    model: str(get('model'), DEFAULTS.model).trim() || DEFAULTS.model,
    executionProvider: (PROVIDER_SETTINGS as readonly string[]).includes(provider) ? provider : DEFAULTS.executionProvider,
    threads: typeof threads === 'number' && Number.isInteger(threads) && threads >= 0 && threads <= 1024 ? threads : 0,
    defaultBudget: posInt(get('defaultBudget')),
    defaultRatio: typeof ratio === 'number' && ratio > 0 && ratio <= 1 ? ratio : null,
    methods: Array.isArray(methods) ? methods.filter((m): m is string => typeof m === 'string' && m.trim() !== '').map((m) => m.trim()) : [],
    codebookPath: str(get('codebookPath'), '').trim(),
    maxMegapixels: typeof mp === 'number' && mp > 0 ? mp : DEFAULTS.maxMegapixels,
  };
}

export interface RequestInput {
  kind: 'image' | 'bundle';
  path: string;
  question: string;
  /** Folder that relative model / codebook paths are resolved against (the first workspace folder). */
  baseDir: string | null;
}

function absolute(p: string, baseDir: string | null): string {
  if (isAbsolute(p) || !baseDir) return p;
  return resolve(baseDir, p);
}

/** The analysis request for a target and question under these settings. */
export function toRequest(s: Settings, input: RequestInput): AnalyzeRequest {
  const probe = s.model.toLowerCase() === 'probe';
  return {
    image: input.kind === 'image' ? input.path : null,
    bundlePath: input.kind === 'bundle' ? input.path : null,
    question: input.question,
    // A bundle with the default model setting takes the bundle's own model (the pipeline decides).
    model: probe ? (input.kind === 'bundle' ? null : 'probe') : absolute(s.model, input.baseDir),
    methods: s.methods.length > 0 ? s.methods : 'all',
    budget: s.defaultBudget !== null ? { k: s.defaultBudget } : s.defaultRatio !== null ? { ratio: s.defaultRatio } : null,
    params: {},
    provider: s.executionProvider,
    threads: s.threads,
    codebookPath: s.codebookPath ? absolute(s.codebookPath, input.baseDir) : null,
    maxMegapixels: s.maxMegapixels,
  };
}

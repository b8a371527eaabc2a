/**
 * The only message contract between the extension host and the webview (discriminated unions).
 * Free of Node and DOM types so both sides import it. Requests carry a `requestId`; the reply echoes it.
 * Large numeric payloads travel as ArrayBuffers (Float64, little-endian), never as JSON number arrays.
 */
import type { Analysis, AnalysisEntry } from './core/analysis.ts';

// The webview imports data types only through this file (lint rule: webview/ never reaches into core/).
export type { Analysis, AnalysisEntry, ResultDisplay } from './core/analysis.ts';
export type { SelectionKind } from './core/methods/types.ts';

export const PROTOCOL_VERSION = 1;

/** Per-message caps, so a misbehaving webview cannot make the host allocate without bound. */
export const LIMITS = {
  maxExportBytes: 64 * 1024 * 1024,
  maxFileNameLength: 120,
  maxMethodIdLength: 64,
  maxLogLength: 2000,
  maxTokens: 1 << 20,
} as const;

export type ImageMime = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/bmp';

export interface ImagePayload {
  mime: ImageMime;
  bytes: ArrayBuffer;
}

/** Which host features exist; the static HTML report has none of them. */
export interface HostCapabilities {
  rerun: boolean;
  loadCodebook: boolean;
  save: boolean;
}

/** Scores keyed by method id, each a Float64 ArrayBuffer of length n; on the wire `display.scores` is null. */
export type PackedScores = { [method: string]: ArrayBuffer };

export type ViewId = 'heatmap' | 'compare' | 'gprune' | 'f3a' | 'codebook';
export const VIEW_IDS: readonly ViewId[] = ['heatmap', 'compare', 'gprune', 'f3a', 'codebook'];

export type ExportFormat = 'png' | 'svg' | 'json';

// ---------------------------------------------------------------- host → webview

export type HostToWebview =
  /** The analysis to show; sent after `ready` and whenever the panel becomes visible again. */
  | {
      type: 'init';
      protocol: number;
      analysis: Analysis;
      scores: PackedScores;
      image: ImagePayload | null;
      capabilities: HostCapabilities;
    }
  /** A method re-run at a new budget (reply to `rerun`), or an entry replaced (reply to `loadCodebook`). */
  | { type: 'entry'; requestId: number; budget: number; entry: AnalysisEntry; scores: ArrayBuffer | null }
  | { type: 'requestFailed'; requestId: number; message: string }
  /** A request was superseded or cancelled by the user; the webview drops its spinner. */
  | { type: 'requestCancelled'; requestId: number }
  | { type: 'exported'; requestId: number; path: string | null }
  /** Another view (the decisions side view) locked a token; null unlocks. */
  | { type: 'lockToken'; index: number | null };

// ---------------------------------------------------------------- webview → host

export type WebviewToHost =
  | { type: 'ready'; protocol: number }
  /** Re-run a non-rankable method for a new budget (k kept tokens); the host debounces and may cancel. */
  | { type: 'rerun'; requestId: number; method: string; budget: number }
  | { type: 'cancel'; requestId: number }
  | { type: 'tokenLocked'; index: number | null; method: string | null }
  /** The panel's budget settled on a new value (debounced); the Decisions view shows decisions at it. */
  | { type: 'budget'; budget: number }
  /** Ask the host to save bytes the webview produced (the webview cannot write files itself). */
  | { type: 'export'; requestId: number; format: ExportFormat; fileName: string; data: ArrayBuffer }
  /** Ask the host to let the user pick a codebook and re-run the codebook method with it. */
  | { type: 'loadCodebook'; requestId: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type Validation<T> = { ok: true; message: T } | { ok: false; reason: string };

// ---------------------------------------------------------------- validation (host side: every inbound message)

type Rec = { [key: string]: unknown };

const isRecord = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);
const isRequestId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isIndexOrNull = (x: unknown): x is number | null =>
  x === null || (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < LIMITS.maxTokens);
const isBudget = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= LIMITS.maxTokens;
const METHOD_ID = /^[a-z][a-z0-9_]*$/;
const isMethodId = (x: unknown): x is string => typeof x === 'string' && x.length <= LIMITS.maxMethodIdLength && METHOD_ID.test(x);
// A bare file name: no folders, no leading dot, no control characters; the host picks the folder.
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+-]*$/;
const EXT: Record<ExportFormat, string> = { png: '.png', svg: '.svg', json: '.json' };

function allowedKeys(x: Rec, keys: readonly string[]): string | null {
  for (const k of Object.keys(x)) if (!keys.includes(k)) return `unexpected field "${k}"`;
  return null;
}

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/**
 * Checks an untrusted message from the webview. Returns the typed message, or why it was rejected
 * (the host logs the reason and ignores the message). Unknown fields are rejected, not ignored.
 */
export function validateWebviewMessage(x: unknown): Validation<WebviewToHost> {
  if (!isRecord(x)) return fail('message is not an object');
  const t = x.type;
  const shape = (keys: readonly string[]): string | null => allowedKeys(x, ['type', ...keys]);
  switch (t) {
    case 'ready': {
      const bad = shape(['protocol']);
      if (bad) return fail(bad);
      if (x.protocol !== PROTOCOL_VERSION) return fail(`protocol ${String(x.protocol)} is not ${PROTOCOL_VERSION}`);
      return { ok: true, message: { type: 'ready', protocol: PROTOCOL_VERSION } };
    }
    case 'rerun': {
      const bad = shape(['requestId', 'method', 'budget']);
      if (bad) return fail(bad);
      if (!isRequestId(x.requestId)) return fail('requestId must be a non-negative integer');
      if (!isMethodId(x.method)) return fail('method must be a method id');
      if (!isBudget(x.budget)) return fail('budget must be a positive integer');
      return { ok: true, message: { type: 'rerun', requestId: x.requestId, method: x.method, budget: x.budget } };
    }
    case 'budget': {
      const bad = shape(['budget']);
      if (bad) return fail(bad);
      if (!isBudget(x.budget)) return fail('budget must be a positive integer');
      return { ok: true, message: { type: 'budget', budget: x.budget } };
    }
    case 'cancel': {
      const bad = shape(['requestId']);
      if (bad) return fail(bad);
      if (!isRequestId(x.requestId)) return fail('requestId must be a non-negative integer');
      return { ok: true, message: { type: 'cancel', requestId: x.requestId } };
    }
    case 'tokenLocked': {
      const bad = shape(['index', 'method']);
      if (bad) return fail(bad);
      if (!isIndexOrNull(x.index)) return fail('index must be a token index or null');
      if (x.method !== null && !isMethodId(x.method)) return fail('method must be a method id or null');
      return { ok: true, message: { type: 'tokenLocked', index: x.index, method: x.method } };
    }
    case 'export': {
      const bad = shape(['requestId', 'format', 'fileName', 'data']);
      if (bad) return fail(bad);
      if (!isRequestId(x.requestId)) return fail('requestId must be a non-negative integer');
      if (x.format !== 'png' && x.format !== 'svg' && x.format !== 'json') return fail('format must be png, svg or json');
      const name = x.fileName;
      if (typeof name !== 'string' || name.length > LIMITS.maxFileNameLength || !FILE_NAME.test(name) || name.includes('..')) {
        return fail('fileName must be a plain file name');
      }
      if (!name.toLowerCase().endsWith(EXT[x.format])) return fail(`fileName must end with ${EXT[x.format]}`);
      if (!(x.data instanceof ArrayBuffer)) return fail('data must be an ArrayBuffer');
      if (x.data.byteLength > LIMITS.maxExportBytes) return fail('data is too large');
      return { ok: true, message: { type: 'export', requestId: x.requestId, format: x.format, fileName: name, data: x.data } };
    }
    case 'loadCodebook': {
      const bad = shape(['requestId']);
      if (bad) return fail(bad);
      if (!isRequestId(x.requestId)) return fail('requestId must be a non-negative integer');
      return { ok: true, message: { type: 'loadCodebook', requestId: x.requestId } };
    }
    case 'log': {
      const bad = shape(['level', 'message']);
      if (bad) return fail(bad);
      if (x.level !== 'info' && x.level !== 'warn' && x.level !== 'error') return fail('level must be info, warn or error');
      if (typeof x.message !== 'string') return fail('message must be a string');
      return { ok: true, message: { type: 'log', level: x.level, message: x.message.slice(0, LIMITS.maxLogLength) } };
    }
    default:
      return fail(`unknown message type ${typeof t === 'string' ? `"${t.slice(0, 40)}"` : typeof t}`);
  }
}

/**
 * Light structural check of a host message in the webview (the host is trusted, but a version skew after
 * an update must produce a clear message rather than a crash deep inside a view).
 */
export function validateHostMessage(x: unknown): Validation<HostToWebview> {
  if (!isRecord(x) || typeof x.type !== 'string') return fail('message is not an object with a type');
  switch (x.type) {
    case 'init':
      if (x.protocol !== PROTOCOL_VERSION) return fail(`host speaks protocol ${String(x.protocol)}, webview ${PROTOCOL_VERSION}`);
      if (!isRecord(x.analysis) || !Array.isArray(x.analysis.results)) return fail('init without an analysis');
      if (!isRecord(x.scores) || !isRecord(x.capabilities)) return fail('init without scores or capabilities');
      if (x.image !== null && !(isRecord(x.image) && x.image.bytes instanceof ArrayBuffer && typeof x.image.mime === 'string')) {
        return fail('init with a malformed image');
      }
      return { ok: true, message: x as unknown as HostToWebview };
    case 'entry':
      if (!isRequestId(x.requestId) || !isRecord(x.entry) || typeof x.budget !== 'number') return fail('malformed entry message');
      if (x.scores !== null && !(x.scores instanceof ArrayBuffer)) return fail('entry scores must be an ArrayBuffer');
      return { ok: true, message: x as unknown as HostToWebview };
    case 'requestFailed':
      if (!isRequestId(x.requestId) || typeof x.message !== 'string') return fail('malformed requestFailed message');
      return { ok: true, message: x as unknown as HostToWebview };
    case 'requestCancelled':
      if (!isRequestId(x.requestId)) return fail('malformed requestCancelled message');
      return { ok: true, message: x as unknown as HostToWebview };
    case 'exported':
      if (!isRequestId(x.requestId) || (x.path !== null && typeof x.path !== 'string')) return fail('malformed exported message');
      return { ok: true, message: x as unknown as HostToWebview };
    case 'lockToken':
      if (!isIndexOrNull(x.index)) return fail('malformed lockToken message');
      return { ok: true, message: x as unknown as HostToWebview };
    default:
      return fail(`unknown message type "${x.type.slice(0, 40)}"`);
  }
}

// ---------------------------------------------------------------- tensors as ArrayBuffers

/** Float64 little-endian copy of a score vector (Float64 so re-ranking in the webview matches the host exactly). */
export function packVector(values: ArrayLike<number>): ArrayBuffer {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out.buffer;
}

export function unpackVector(buffer: ArrayBuffer): Float64Array {
  if (buffer.byteLength % 8 !== 0) throw new Error('score buffer length is not a multiple of 8');
  return new Float64Array(buffer);
}

/** Moves every entry's `display.scores` into ArrayBuffers for postMessage; the analysis itself is not mutated. */
export function packAnalysis(analysis: Analysis): { analysis: Analysis; scores: PackedScores } {
  const scores: PackedScores = {};
  const results = analysis.results.map((e): AnalysisEntry => {
    if (e.status !== 'ok' || !e.display.scores) return e;
    scores[e.method] = packVector(e.display.scores);
    return { ...e, display: { ...e.display, scores: null } };
  });
  return { analysis: { ...analysis, results }, scores };
}

/** Inverse of packAnalysis (numbers back into `display.scores`). */
export function unpackAnalysis(analysis: Analysis, scores: PackedScores): Analysis {
  const results = analysis.results.map((e): AnalysisEntry => {
    const buf = e.status === 'ok' ? scores[e.method] : undefined;
    if (e.status !== 'ok' || !buf) return e;
    return { ...e, display: { ...e.display, scores: Array.from(unpackVector(buf)) } };
  });
  return { ...analysis, results };
}

// ================================================================ host-side additions
// Added with the VS Code host and the Decisions side view (extension/host/, webview/decisions.ts). Kept in
// their own block so the inspector panel's messages above stay as they are.

export type { Counterfactual, TokenDecision } from './core/decisions/types.ts';
import type { TokenDecision } from './core/decisions/types.ts';

/** Panel → host: the panel's budget changed (the side view shows decisions at it). */
export type PanelBudgetMessage = Extract<WebviewToHost, { type: 'budget' }>;

export function validatePanelBudgetMessage(x: unknown): Validation<PanelBudgetMessage> {
  const v = validateWebviewMessage(x);
  if (!v.ok) return v;
  return v.message.type === 'budget' ? { ok: true, message: v.message } : fail('not a budget message');
}

/** One analysis of this window, as listed in the side view. */
export interface AnalysisSummary {
  id: string;
  title: string;
  /** File name of the image or bundle. */
  source: string;
  question: string;
  model: string;
  provider: string;
  /** ISO time the analysis finished. */
  time: string;
  n: number;
  /** A PNG data URL of the image, at most 64 px a side; null for bundles without an image. */
  thumbnail: string | null;
  /** The panel is the one the side view follows. */
  active: boolean;
}

export interface DecisionsViewState {
  analyses: AnalysisSummary[];
  /** The analysis the table is about (null: none open). */
  selected: string | null;
  grid: [number, number] | null;
  n: number;
  /** The locked token, or null. */
  token: number | null;
  /** Budget the decisions refer to (the panel's latest known budget). */
  budget: number | null;
  rows: TokenDecision[];
  disagreements: { count: number; kept: string[]; dropped: string[] };
  /** Methods whose smallest keeping budget is being searched by re-running. */
  searching: string[];
  /** Methods whose smallest keeping budget can be searched by re-running (staged, merge, lattice). */
  searchable: string[];
  /** A line for the user (what to do next), or null. */
  message: string | null;
}

export type HostToDecisions = { type: 'state'; state: DecisionsViewState };

export type DecisionsToHost =
  | { type: 'ready' }
  | { type: 'select'; id: string }
  /** Lock a token (typed as an index or row,col in the view), or unlock with null. */
  | { type: 'lock'; index: number | null }
  /** Step to the next (1) or previous (−1) token the methods disagree on. */
  | { type: 'step'; direction: 1 | -1 }
  /** Find the smallest budget at which `method` keeps the locked token, by re-running it. */
  | { type: 'search'; method: string }
  | { type: 'export'; format: 'csv' | 'json' };

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks an untrusted message from the Decisions view (unknown fields rejected, as above). */
export function validateDecisionsMessage(x: unknown): Validation<DecisionsToHost> {
  if (!isRecord(x)) return fail('message is not an object');
  const shape = (keys: readonly string[]): string | null => allowedKeys(x, ['type', ...keys]);
  switch (x.type) {
    case 'ready': {
      const bad = shape([]);
      return bad ? fail(bad) : { ok: true, message: { type: 'ready' } };
    }
    case 'select': {
      const bad = shape(['id']);
      if (bad) return fail(bad);
      if (typeof x.id !== 'string' || !SESSION_ID.test(x.id)) return fail('id must be an analysis id');
      return { ok: true, message: { type: 'select', id: x.id } };
    }
    case 'lock': {
      const bad = shape(['index']);
      if (bad) return fail(bad);
      if (!isIndexOrNull(x.index)) return fail('index must be a token index or null');
      return { ok: true, message: { type: 'lock', index: x.index } };
    }
    case 'step': {
      const bad = shape(['direction']);
      if (bad) return fail(bad);
      if (x.direction !== 1 && x.direction !== -1) return fail('direction must be 1 or -1');
      return { ok: true, message: { type: 'step', direction: x.direction } };
    }
    case 'search': {
      const bad = shape(['method']);
      if (bad) return fail(bad);
      if (!isMethodId(x.method)) return fail('method must be a method id');
      return { ok: true, message: { type: 'search', method: x.method } };
    }
    case 'export': {
      const bad = shape(['format']);
      if (bad) return fail(bad);
      if (x.format !== 'csv' && x.format !== 'json') return fail('format must be csv or json');
      return { ok: true, message: { type: 'export', format: x.format } };
    }
    default:
      return fail(`unknown message type ${typeof x.type === 'string' ? `"${x.type.slice(0, 40)}"` : typeof x.type}`);
  }
}

/** Light check in the Decisions view (the host is trusted; this catches version skew). */
export function validateDecisionsHostMessage(x: unknown): Validation<HostToDecisions> {
  if (!isRecord(x) || x.type !== 'state' || !isRecord(x.state)) return fail('expected a state message');
  const s = x.state;
  if (!Array.isArray(s.analyses) || !Array.isArray(s.rows) || !Array.isArray(s.searching) || !Array.isArray(s.searchable) || !isRecord(s.disagreements)) return fail('malformed decisions state');
  return { ok: true, message: x as unknown as HostToDecisions };
}

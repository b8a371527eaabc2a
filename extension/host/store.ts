/**
 * Panels revive after a window reload from what was saved when the analysis finished: session.json (the
 * request, the method set-up and the analysis) and bundle.npz (the tokens, so budgets re-run without
 * encoding again), in the extension's global storage. Re-reading these is robust where re-running is not:
 * the image may have moved, the model or settings may have changed, and encoding takes time. Only if the
 * files are gone or unreadable does the host fall back to re-running the saved request. Pure of vscode.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Analysis } from '../core/analysis.ts';
import type { AnalysisContext, AnalysisOutcome, AnalyzeRequest } from '../core/analyze/types.ts';
import { bundleFromNpzBytes, bundleToNpzBytes } from '../core/bundle/io.ts';
import type { TokenBundle } from '../core/bundle/types.ts';
import { resultFromEntry } from '../core/decisions/source.ts';
import type { PruneResult } from '../core/methods/types.ts';

export interface SavedSession {
  version: 1;
  id: string;
  title: string;
  createdAt: string;
  request: AnalyzeRequest;
  context: AnalysisContext;
  analysis: Analysis;
}

/** Bundles above this are not saved (revival then re-runs the request). */
export const MAX_SAVED_BUNDLE_BYTES = 256 * 1024 * 1024;

const SESSION = 'session.json';
const BUNDLE = 'bundle.npz';
const SAFE_ID = /^[A-Za-z0-9_-]{6,64}$/;

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function saveSession(root: string, s: SavedSession, bundle: TokenBundle): Promise<{ bundleSaved: boolean }> {
  if (!SAFE_ID.test(s.id)) throw new Error(`bad session id ${s.id}`);
  const dir = join(root, s.id);
  await mkdir(dir, { recursive: true });
  const bytes = bundleToNpzBytes(bundle, true);
  const bundleSaved = bytes.byteLength <= MAX_SAVED_BUNDLE_BYTES;
  if (bundleSaved) await writeAtomic(join(dir, BUNDLE), bytes);
  // session.json last: its presence means the bundle beside it is complete.
  await writeAtomic(join(dir, SESSION), JSON.stringify(s));
  return { bundleSaved };
}

function isSaved(x: unknown): x is SavedSession {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Partial<SavedSession>;
  return (
    o.version === 1 &&
    typeof o.id === 'string' &&
    typeof o.title === 'string' &&
    typeof o.request === 'object' &&
    o.request !== null &&
    typeof o.context === 'object' &&
    o.context !== null &&
    typeof o.analysis === 'object' &&
    o.analysis !== null &&
    Array.isArray(o.analysis.results) &&
    typeof o.analysis.n === 'number'
  );
}

/** The saved session, with its bundle when that was saved and is readable; null when nothing usable is there. */
export async function loadSession(root: string, id: string): Promise<{ saved: SavedSession; bundle: TokenBundle | null } | null> {
  if (!SAFE_ID.test(id)) return null;
  const dir = join(root, id);
  let saved: unknown;
  try {
    saved = JSON.parse(await readFile(join(dir, SESSION), 'utf8'));
  } catch {
    return null;
  }
  if (!isSaved(saved) || saved.id !== id) return null;
  let bundle: TokenBundle | null = null;
  try {
    bundle = bundleFromNpzBytes(new Uint8Array(await readFile(join(dir, BUNDLE))), BUNDLE);
  } catch {
    bundle = null;
  }
  return { saved, bundle };
}

/** An outcome rebuilt from disk: results come back from the analysis entries (scores, outputs, traces). */
export function outcomeFromSaved(saved: SavedSession, bundle: TokenBundle): AnalysisOutcome {
  const results = new Map<string, PruneResult>();
  for (const e of saved.analysis.results) {
    const r = resultFromEntry(e, saved.analysis.n);
    if (r) results.set(r.method, r);
  }
  return { analysis: saved.analysis, bundle, results, context: saved.context };
}

/** Deletes saved sessions not in `keep` and older than maxAgeMs (other windows' panels live within that). */
export async function pruneSessions(root: string, keep: ReadonlySet<string>, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (keep.has(name) || !SAFE_ID.test(name)) continue;
    const dir = join(root, name);
    try {
      const st = await stat(dir);
      if (!st.isDirectory() || now - st.mtimeMs < maxAgeMs) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another window may be removing it too.
    }
  }
  return removed;
}

/** Which saved session a revived panel shows: panels have unique titles, so the newest record of its title. */
export interface PanelRecord {
  title: string;
  id: string;
  createdAt: string;
}

export const MAX_RECORDS = 60;

export function addRecord(records: readonly unknown[], rec: PanelRecord): PanelRecord[] {
  return [rec, ...validRecords(records).filter((r) => r.id !== rec.id && r.title !== rec.title)].slice(0, MAX_RECORDS);
}

export function validRecords(stored: unknown): PanelRecord[] {
  if (!Array.isArray(stored)) return [];
  return stored.filter(
    (r): r is PanelRecord => typeof r === 'object' && r !== null && typeof (r as PanelRecord).title === 'string' && typeof (r as PanelRecord).id === 'string' && typeof (r as PanelRecord).createdAt === 'string',
  );
}

export function findRecord(stored: unknown, title: string): PanelRecord | null {
  return validRecords(stored).find((r) => r.title === title) ?? null;
}

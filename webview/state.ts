/**
 * Small UI state shared by the views, with change notification. The persisted subset goes to VS Code's
 * getState/setState so a revived panel comes back where the user left it.
 */
import type { ViewId } from '../extension/protocol.ts';
import { VIEW_IDS } from '../extension/protocol.ts';
import type { ColormapId } from './colormap.ts';
import { COLORMAPS } from './colormap.ts';
import { LLMS } from './flops.ts';
import { isRec } from './trace.ts';

export type ThemeKind = 'dark' | 'light' | 'high-contrast';
export type ShowMode = 'both' | 'scores' | 'kept';

export interface UiState {
  view: ViewId;
  /** Method shown in the heatmap. */
  method: string;
  budget: number;
  opacity: number;
  colormap: ColormapId;
  show: ShowMode;
  /** Keyboard/hover cursor token. */
  cursor: number | null;
  /** Clicked (locked) token, shared with the host's decisions view. */
  locked: number | null;
  /** Theme chosen in the standalone report (VS Code decides it inside the editor). */
  theme: ThemeKind;
  gpruneT: number;
  gpruneTopK: number;
  gpruneForce: boolean;
  /** Codebook threshold / keep fraction; null = the value the method ran with. */
  tau: number | null;
  llm: string;
  textTokens: number;
}

export type StateKey = keyof UiState;
type Listener = (state: Readonly<UiState>, changed: ReadonlySet<StateKey>) => void;

const PERSISTED: readonly StateKey[] = ['view', 'method', 'budget', 'opacity', 'colormap', 'show', 'locked', 'theme', 'gpruneT', 'gpruneTopK', 'gpruneForce', 'tau', 'llm', 'textTokens'];

export class Store {
  private s: UiState;
  private readonly listeners: Listener[] = [];

  constructor(initial: UiState) {
    this.s = initial;
  }

  get state(): Readonly<UiState> {
    return this.s;
  }

  subscribe(l: Listener): void {
    this.listeners.push(l);
  }

  set(patch: Partial<UiState>): void {
    const changed = new Set<StateKey>();
    const next = { ...this.s };
    for (const key of Object.keys(patch) as StateKey[]) {
      if (patch[key] !== undefined && next[key] !== patch[key]) {
        (next as Record<StateKey, unknown>)[key] = patch[key];
        changed.add(key);
      }
    }
    if (changed.size === 0) return;
    this.s = next;
    for (const l of this.listeners) l(this.s, changed);
  }

  persisted(): Partial<UiState> {
    const out: Partial<UiState> = {};
    for (const k of PERSISTED) (out as Record<string, unknown>)[k] = this.s[k];
    return out;
  }
}

/** Accepts a previously persisted state only field by field, and only values that are still valid. */
export function restoreState(defaults: UiState, saved: unknown, n: number, methodIds: readonly string[]): UiState {
  if (!isRec(saved)) return defaults;
  const s = { ...defaults };
  const int = (x: unknown, lo: number, hi: number): number | undefined =>
    typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  if (typeof saved.view === 'string' && (VIEW_IDS as readonly string[]).includes(saved.view)) s.view = saved.view as ViewId;
  if (typeof saved.method === 'string' && methodIds.includes(saved.method)) s.method = saved.method;
  s.budget = int(saved.budget, 1, n) ?? s.budget;
  if (typeof saved.opacity === 'number' && saved.opacity >= 0 && saved.opacity <= 1) s.opacity = saved.opacity;
  if (typeof saved.colormap === 'string' && (COLORMAPS as readonly string[]).includes(saved.colormap)) s.colormap = saved.colormap as ColormapId;
  if (saved.show === 'both' || saved.show === 'scores' || saved.show === 'kept') s.show = saved.show;
  s.locked = saved.locked === null ? null : (int(saved.locked, 0, n - 1) ?? s.locked);
  if (saved.theme === 'dark' || saved.theme === 'light' || saved.theme === 'high-contrast') s.theme = saved.theme;
  s.gpruneT = int(saved.gpruneT, 0, 1000) ?? s.gpruneT;
  s.gpruneTopK = int(saved.gpruneTopK, 0, 64) ?? s.gpruneTopK;
  if (typeof saved.gpruneForce === 'boolean') s.gpruneForce = saved.gpruneForce;
  if (saved.tau === null || typeof saved.tau === 'number') s.tau = saved.tau;
  if (typeof saved.llm === 'string' && LLMS.some((l) => l.id === saved.llm)) s.llm = saved.llm;
  s.textTokens = int(saved.textTokens, 0, 100000) ?? s.textTokens;
  return s;
}

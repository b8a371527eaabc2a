/** What every view gets from the app shell, and what the shell asks of every view. */
import type { ViewId } from '../../extension/protocol.ts';
import type { Host } from '../host.ts';
import type { KeptView, MethodModel, Model } from '../model.ts';
import type { StateKey, Store } from '../state.ts';
import type { ThemeColors } from '../theme.ts';
import type { Tooltip } from '../tooltip.ts';

/** State keys plus shell events: new data, theme change, resize. */
export type Change = StateKey | 'data' | 'theme' | 'resize' | 'rerun';

export interface AppContext {
  readonly model: Model;
  readonly store: Store;
  readonly host: Host;
  readonly tooltip: Tooltip;
  image: HTMLImageElement | null;
  theme(): ThemeColors;
  keptAt(m: MethodModel, budget: number): KeptView;
  /** Pending or failed host re-run of a method for the current budget. */
  rerunStatus(method: string): { pending: boolean; error: string | null };
  /** The sentence shown when a result is for another budget than the one asked for. */
  staleNote(m: MethodModel, kept: KeptView): string | null;
  announce(message: string): void;
  /** Lock (or unlock with null) a token; shared with the host's decisions view. */
  lock(index: number | null, method: string | null): void;
  invalidate(change: Change): void;
}

export interface View {
  readonly id: ViewId;
  readonly title: string;
  readonly root: HTMLElement;
  render(changed: ReadonlySet<Change>): void;
  /** Methods whose results this view shows (re-run requests and the provenance strip follow them). */
  methodsShown(): string[];
  /** The chart to export as SVG, if the view has one. */
  svgForExport(): SVGSVGElement | null;
  /** A keyboard handler for the token cursor, when the view has a token grid. */
  onKey?(e: KeyboardEvent): boolean;
  /** Called when another tab is shown (stop animations). */
  onHide?(): void;
}

/** A panel saying what is missing, instead of a view that crashes on absent data. */
export function missingNotice(doc: Document, title: string, lines: string[]): HTMLElement {
  const box = doc.createElement('div');
  box.className = 'pl-missing';
  box.setAttribute('role', 'note');
  const t = doc.createElement('strong');
  t.textContent = title;
  box.append(t);
  for (const l of lines) {
    const p = doc.createElement('p');
    p.textContent = l;
    box.append(p);
  }
  return box;
}

/** Width left for a view's main canvas beside its side panel (CSS pixels). */
export function availableWidth(root: HTMLElement, side = 340): number {
  const w = root.clientWidth || document.body.clientWidth || 900;
  return Math.max(260, w < 760 ? w - 8 : w - side);
}

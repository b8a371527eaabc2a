/**
 * The app shell: header with the global budget control, tabs, the active view, the provenance strip; the
 * render scheduler (one animation frame coalesces any number of changes); host requests for re-runs;
 * keyboard; export.
 */
import { VIEW_IDS, type Analysis, type AnalysisEntry, type HostToWebview, type ViewId } from '../extension/protocol.ts';
import { h, labelled } from './dom.ts';
import { panelHeading } from './heading.ts';
import { canvasToBlob, composeView, deliver, safeFileName, svgToString } from './export.ts';
import type { Host } from './host.ts';
import { Model, type KeptView, type MethodModel } from './model.ts';
import { restoreState, Store, type StateKey, type ThemeKind, type UiState } from './state.ts';
import { applyStaticTheme, onThemeChange, readTheme, type ThemeColors } from './theme.ts';
import { Tooltip } from './tooltip.ts';
import { CodebookView } from './views/codebook.ts';
import { CompareView } from './views/compare.ts';
import { F3aStagesView } from './views/f3a-stages.ts';
import { GPruneFlowView } from './views/gprune-flow.ts';
import { HeatmapView } from './views/heatmap.ts';
import { ProvenanceStrip } from './views/provenance.ts';
import type { AppContext, Change, View } from './views/view.ts';

const THEMES: readonly ThemeKind[] = ['dark', 'light', 'high-contrast'];

export class App implements AppContext {
  readonly model: Model;
  readonly store: Store;
  readonly host: Host;
  readonly tooltip: Tooltip;
  image: HTMLImageElement | null = null;
  private readonly views: View[];
  private readonly panels = new Map<ViewId, HTMLElement>();
  private readonly tabs = new Map<ViewId, HTMLButtonElement>();
  private readonly provenance: ProvenanceStrip;
  private readonly dirty = new Map<ViewId | 'provenance', Set<Change>>();
  private frame = 0;
  private themeCache: ThemeColors | null = null;
  private budgetStart: number | null = null;
  private readonly pending = new Map<string, { requestId: number; budget: number }>();
  private readonly errors = new Map<string, string>();
  private rerunTimer = 0;
  private budgetTimer = 0;
  /** The budget the host last heard of (it starts from the analysis's). */
  private reportedBudget: number;
  /** Removes document/window listeners when a new analysis replaces this app. */
  private readonly lifetime = new AbortController();
  private readonly budgetRange: HTMLInputElement;
  private readonly budgetNumber: HTMLInputElement;
  private readonly statusEl: HTMLElement;
  private readonly themeButton: HTMLButtonElement | null;

  constructor(host: Host, analysis: Analysis, imageSrc: string | null) {
    this.host = host;
    this.model = new Model(analysis);
    this.reportedBudget = analysis.budget;
    const n = Math.max(1, this.model.n);
    const defaults: UiState = {
      view: 'heatmap',
      method: this.model.methods[0]?.id ?? '',
      budget: Math.max(1, Math.min(n, Math.round(analysis.budget) || Math.ceil(n / 4))),
      opacity: 0.65,
      colormap: 'viridis',
      show: 'both',
      cursor: null,
      locked: null,
      theme: window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark',
      // Start on the last iteration: the mass the scores come from.
      gpruneT: 1000,
      gpruneTopK: 2,
      gpruneForce: false,
      tau: null,
      llm: 'llava-1.5-7b',
      textTokens: 40,
    };
    this.store = new Store(restoreState(defaults, host.getState(), n, this.model.methods.map((m) => m.id)));
    if (host.mode === 'static') {
      document.body.classList.add('pl-static');
      applyStaticTheme(this.store.state.theme);
    }
    document.body.replaceChildren();
    this.tooltip = new Tooltip();

    this.budgetRange = h('input', { attrs: { type: 'range', min: 1, max: n, step: 1, 'aria-label': 'Budget: kept tokens', 'data-testid': 'budget-slider' } });
    this.budgetNumber = h('input', { class: 'pl-budget-number', attrs: { type: 'number', min: 1, max: n, step: 1, 'aria-label': 'Budget (kept tokens)', 'data-testid': 'budget-input' } });
    this.budgetRange.addEventListener('input', () => this.setBudget(Number(this.budgetRange.value)));
    this.budgetNumber.addEventListener('change', () => this.setBudget(Number(this.budgetNumber.value)));
    this.statusEl = h('div', { class: 'pl-sr-status', attrs: { role: 'status', 'aria-live': 'polite' } });

    this.views = [new HeatmapView(this), new CompareView(this), new GPruneFlowView(this), new F3aStagesView(this), new CodebookView(this)];
    this.provenance = new ProvenanceStrip(this, () => this.currentMethod());

    const exportButtons = (['png', 'svg', 'json'] as const).map((f) => {
      const b = h('button', { class: 'pl-button pl-secondary', text: `Export ${f.toUpperCase()}`, attrs: { type: 'button', 'data-testid': `export-${f}` } });
      b.addEventListener('click', () => void this.exportAs(f));
      return b;
    });
    this.themeButton = host.mode === 'static' ? h('button', { class: 'pl-button pl-secondary', attrs: { type: 'button', 'data-testid': 'theme-toggle' } }) : null;
    this.themeButton?.addEventListener('click', () => {
      const next = THEMES[(THEMES.indexOf(this.store.state.theme) + 1) % THEMES.length];
      this.store.set({ theme: next });
    });

    const heading = panelHeading(analysis);
    const imgName = heading.name;
    const title = h('h1', { text: `PruneLens — ${heading.name}`, attrs: { 'data-testid': 'panel-heading' } });
    if (heading.note) title.append(' ', h('span', { class: 'pl-heading-note', text: `(${heading.note})` }));
    const header = h(
      'header',
      { class: 'pl-header' },
      h('div', { class: 'pl-title' }, title, h('p', { class: 'pl-question', text: analysis.question ? `“${analysis.question}”` : 'No question (text-agnostic analysis)' })),
      h(
        'div',
        { class: 'pl-toolbar' },
        labelled('Budget', this.budgetRange),
        this.budgetNumber,
        h('span', { class: 'pl-muted', text: `of ${this.model.n} tokens` }),
        h('span', { class: 'pl-spacer' }),
        ...exportButtons,
        this.themeButton,
      ),
    );
    const tablist = h('div', { class: 'pl-tabs', attrs: { role: 'tablist', 'aria-label': 'Views' } });
    const main = h('main', { class: 'pl-panels' });
    for (const v of this.views) {
      const tab = h('button', { class: 'pl-tab', text: v.title, attrs: { type: 'button', role: 'tab', id: `tab-${v.id}`, 'aria-controls': `panel-${v.id}`, 'data-testid': `tab-${v.id}` } });
      tab.addEventListener('click', () => this.store.set({ view: v.id }));
      tab.addEventListener('keydown', (e) => this.onTabKey(e));
      tablist.append(tab);
      this.tabs.set(v.id, tab);
      const panel = h('div', { class: 'pl-panel', attrs: { role: 'tabpanel', id: `panel-${v.id}`, 'aria-labelledby': `tab-${v.id}`, 'data-view': v.id } }, v.root);
      main.append(panel);
      this.panels.set(v.id, panel);
    }
    const banner =
      host.mode === 'static'
        ? h('p', {
            class: 'pl-banner pl-static-banner',
            text: `Static report: budgets for score-ranked methods update live; other methods show the result computed at budget ${analysis.budget} — re-running them needs VS Code or the CLI.`,
          })
        : null;
    // The image is optional (a bundle from the user's own pipeline may come without one): say so.
    const g = analysis.grid;
    const gridText = g ? `${g[0]}×${g[1]} token grid` : `${this.model.n} tokens`;
    const noImage = imageSrc
      ? null
      : h('p', {
          class: 'pl-banner',
          text: analysis.image ? `${imgName} is not available here: the views draw the ${gridText} without it.` : `No image: this analysis comes from a token bundle, so the views draw the ${gridText} without a picture.`,
          attrs: { 'data-testid': 'no-image-note' },
        });
    if (!imageSrc) document.body.dataset.plImage = 'none';
    document.body.append(header, banner ?? '', noImage ?? '', tablist, main, this.provenance.root, this.statusEl, this.tooltip.el);

    this.store.subscribe((s, changed) => this.onState(s, changed));
    const signal = this.lifetime.signal;
    document.addEventListener('keydown', (e) => this.onKey(e), { signal });
    window.addEventListener('resize', () => this.invalidate('resize'), { signal });
    const observer = onThemeChange(() => {
      this.themeCache = null;
      this.invalidate('theme');
    });
    signal.addEventListener('abort', () => observer.disconnect());
    this.showView(this.store.state.view);
    this.syncControls();
    this.invalidate('data');
    if (imageSrc) this.loadImage(imageSrc);
    // Shown again after being hidden (VS Code discarded the page): the user's budget comes back from
    // setState but the host sends the analysis at its own budget, so ask for the re-runs and tell the host.
    if (this.store.state.budget !== analysis.budget) {
      this.scheduleReruns();
      this.reportBudget(0);
    }
  }

  dispose(): void {
    this.lifetime.abort();
    for (const v of this.views) v.onHide?.();
    window.clearTimeout(this.rerunTimer);
    window.clearTimeout(this.budgetTimer);
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  // ------------------------------------------------------------------ AppContext

  theme(): ThemeColors {
    if (!this.themeCache) this.themeCache = readTheme();
    return this.themeCache;
  }

  keptAt(m: MethodModel, budget: number): KeptView {
    return this.model.keptAt(m, budget);
  }

  rerunStatus(method: string): { pending: boolean; error: string | null } {
    return { pending: this.pending.has(method), error: this.errors.get(method) ?? null };
  }

  staleNote(m: MethodModel, kept: KeptView): string | null {
    if (kept.current) return null;
    const b = this.store.state.budget;
    const p = this.pending.get(m.id);
    if (p && p.budget === b) return `re-running ${m.id} at budget ${b}… (showing budget ${m.computedFor})`;
    const err = this.errors.get(m.id);
    if (err) return `re-run at budget ${b} failed: ${err}`;
    if (!this.host.capabilities.rerun) {
      return `computed at budget ${m.computedFor}; re-running at another budget needs VS Code or the CLI (prunelens analyze … --budget ${b})`;
    }
    return `computed at budget ${m.computedFor}; re-run pending`;
  }

  announce(message: string): void {
    this.statusEl.textContent = message;
  }

  lock(index: number | null, method: string | null): void {
    this.store.set({ locked: index });
    if (index === null) this.invalidate('locked');
    this.host.post({ type: 'tokenLocked', index, method });
    this.announce(index === null ? 'Token unlocked.' : `Token ${index} locked.`);
  }

  invalidate(change: Change): void {
    for (const v of this.views) this.dirtySet(v.id).add(change);
    this.dirtySet('provenance').add(change);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.renderFrame());
  }

  // ------------------------------------------------------------------ host

  onEntry(requestId: number, entry: AnalysisEntry, budget: number, scores: Float64Array | null): void {
    const p = this.pending.get(entry.method);
    if (p && p.requestId !== requestId) return; // superseded by a newer request
    this.pending.delete(entry.method);
    this.errors.delete(entry.method);
    this.model.replace(entry, budget, scores);
    this.invalidate('data');
    this.announce(`${entry.method} updated for budget ${budget}.`);
  }

  onHostMessage(m: HostToWebview): void {
    switch (m.type) {
      case 'requestFailed':
      case 'requestCancelled': {
        for (const [method, p] of this.pending) {
          if (p.requestId !== m.requestId) continue;
          this.pending.delete(method);
          if (m.type === 'requestFailed') this.errors.set(method, m.message);
        }
        if (m.type === 'requestFailed') this.announce(m.message);
        this.invalidate('rerun');
        break;
      }
      case 'exported':
        this.announce(m.path ? `Saved ${m.path}` : 'Export cancelled.');
        break;
      case 'lockToken':
        this.store.set({ locked: m.index !== null && m.index < this.model.n ? m.index : null });
        break;
      default:
        break;
    }
  }

  private scheduleReruns(): void {
    if (!this.host.capabilities.rerun) return;
    window.clearTimeout(this.rerunTimer);
    // Debounced: a slider drag sends one request per method when it settles, not one per pixel.
    this.rerunTimer = window.setTimeout(() => {
      const b = this.store.state.budget;
      for (const id of this.activeView().methodsShown()) {
        const m = this.model.get(id);
        if (!m || m.rerankable || m.computedFor === b) continue;
        const p = this.pending.get(id);
        if (p?.budget === b) continue;
        if (p) this.host.post({ type: 'cancel', requestId: p.requestId });
        const requestId = this.host.nextRequestId();
        this.pending.set(id, { requestId, budget: b });
        this.errors.delete(id);
        this.host.post({ type: 'rerun', requestId, method: id, budget: b });
      }
      this.invalidate('rerun');
    }, 250);
  }

  /** Tells the host the budget once it settles (score-ranked methods re-rank here without a request). */
  private reportBudget(delayMs = 150): void {
    if (this.host.mode !== 'vscode') return;
    window.clearTimeout(this.budgetTimer);
    this.budgetTimer = window.setTimeout(() => {
      const b = this.store.state.budget;
      if (b === this.reportedBudget) return;
      this.reportedBudget = b;
      this.host.post({ type: 'budget', budget: b });
    }, delayMs);
  }

  // ------------------------------------------------------------------ state and rendering

  private dirtySet(k: ViewId | 'provenance'): Set<Change> {
    let s = this.dirty.get(k);
    if (!s) {
      s = new Set();
      this.dirty.set(k, s);
    }
    return s;
  }

  private activeView(): View {
    return this.views.find((v) => v.id === this.store.state.view) ?? this.views[0];
  }

  private currentMethod(): MethodModel | undefined {
    const v = this.activeView();
    if (v.id === 'heatmap' || v.id === 'compare') return this.model.get(this.store.state.method) ?? this.model.methods[0];
    const id = v.methodsShown()[0];
    return id ? this.model.get(id) : undefined;
  }

  private setBudget(value: number): void {
    if (!Number.isFinite(value)) return;
    const b = Math.max(1, Math.min(Math.max(1, this.model.n), Math.round(value)));
    this.store.set({ budget: b });
    this.syncControls();
  }

  private onState(s: Readonly<UiState>, changed: ReadonlySet<StateKey>): void {
    this.host.setState(this.store.persisted());
    if (changed.has('budget')) {
      if (this.budgetStart === null) this.budgetStart = performance.now();
      this.scheduleReruns();
      this.reportBudget();
      this.syncControls();
    }
    if (changed.has('view')) this.showView(s.view);
    if (changed.has('view') || changed.has('method')) this.scheduleReruns();
    if (changed.has('theme') && this.host.mode === 'static') {
      applyStaticTheme(s.theme);
      this.themeCache = null;
      this.syncControls();
    }
    for (const k of changed) this.invalidate(k);
  }

  private syncControls(): void {
    const b = String(this.store.state.budget);
    if (this.budgetRange.value !== b) this.budgetRange.value = b;
    if (this.budgetNumber.value !== b) this.budgetNumber.value = b;
    if (this.themeButton) this.themeButton.textContent = `Theme: ${this.store.state.theme}`;
  }

  private showView(id: ViewId): void {
    for (const v of this.views) {
      const active = v.id === id;
      const panel = this.panels.get(v.id);
      const tab = this.tabs.get(v.id);
      if (panel) panel.hidden = !active;
      if (tab) {
        tab.setAttribute('aria-selected', String(active));
        tab.tabIndex = active ? 0 : -1;
      }
      if (!active) v.onHide?.();
    }
    this.tooltip.hide();
    this.dirtySet(id).add('resize');
    this.invalidate('view');
  }

  private renderFrame(): void {
    this.frame = 0;
    const frameStart = performance.now();
    const v = this.activeView();
    const changed = this.dirtySet(v.id);
    if (changed.size > 0) {
      const copy = new Set(changed);
      changed.clear();
      try {
        v.render(copy);
      } catch (err) {
        this.reportError(v, err);
      }
    }
    const pc = this.dirtySet('provenance');
    if (pc.size > 0) {
      const copy = new Set(pc);
      pc.clear();
      this.provenance.render(copy);
    }
    if (this.budgetStart !== null) {
      // Budget input → repaint finished: the latency the user feels (measured by the browser test).
      const end = performance.now();
      performance.measure('pl-budget-repaint', { start: this.budgetStart, end });
      // The drawing work alone (without the wait for the animation frame).
      performance.measure('pl-budget-render', { start: frameStart, end });
      this.budgetStart = null;
    }
  }

  private reportError(v: View, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    v.root.replaceChildren(h('div', { class: 'pl-missing', text: `The ${v.title} view could not be drawn: ${msg}`, attrs: { role: 'alert' } }));
    this.host.post({ type: 'log', level: 'error', message: `${v.id} view: ${msg}` });
  }

  private loadImage(src: string): void {
    const img = new Image();
    img.onload = () => {
      this.image = img;
      document.body.dataset.plImage = 'loaded';
      this.invalidate('data');
    };
    img.onerror = () => {
      document.body.dataset.plImage = 'failed';
      this.announce('The image could not be loaded; views are drawn without it.');
    };
    img.src = src;
  }

  // ------------------------------------------------------------------ input

  private onTabKey(e: KeyboardEvent): void {
    const i = VIEW_IDS.indexOf(this.store.state.view);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % VIEW_IDS.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + VIEW_IDS.length) % VIEW_IDS.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = VIEW_IDS.length - 1;
    if (next < 0) return;
    e.preventDefault();
    e.stopPropagation();
    this.store.set({ view: VIEW_IDS[next] });
    this.tabs.get(VIEW_IDS[next])?.focus();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const inField = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
    if (e.key === 'Escape') {
      if (this.store.state.locked !== null) this.lock(null, null);
      this.tooltip.hide();
      return;
    }
    if (inField) return;
    const step = e.shiftKey ? 10 : 1;
    if (e.key === '+' || e.key === '=') {
      this.setBudget(this.store.state.budget + step);
      e.preventDefault();
      return;
    }
    if (e.key === '-' || e.key === '_') {
      this.setBudget(this.store.state.budget - step);
      e.preventDefault();
      return;
    }
    const onGrid = t instanceof HTMLCanvasElement || t === document.body || t === document.documentElement;
    if (onGrid && this.activeView().onKey?.(e)) e.preventDefault();
  }

  // ------------------------------------------------------------------ export

  private async exportAs(format: 'png' | 'svg' | 'json'): Promise<void> {
    const v = this.activeView();
    const st = this.store.state;
    const m = this.currentMethod();
    const stem = `prunelens-${v.id}${m ? `-${m.id}` : ''}-k${st.budget}`;
    try {
      if (format === 'json') {
        const a = this.model.analysis;
        const results: AnalysisEntry[] = [...this.model.methods.map((x) => x.entry), ...this.model.unavailable.map((u) => ({ method: u.id, status: u.status, reason: u.reason }))];
        const blob = new Blob([JSON.stringify({ ...a, results }, null, 1)], { type: 'application/json' });
        await deliver(this.host, 'json', safeFileName(`prunelens-analysis-k${a.budget}`, 'json'), blob);
      } else if (format === 'svg') {
        const svg = v.svgForExport();
        if (!svg) {
          this.announce(`The ${v.title} view has no chart to export as SVG.`);
          return;
        }
        const theme = this.theme();
        await deliver(this.host, 'svg', safeFileName(stem, 'svg'), new Blob([svgToString(svg, theme.background)], { type: 'image/svg+xml' }));
      } else {
        const theme = this.theme();
        const a = this.model.analysis;
        const captions = [
          `PruneLens · ${v.title} · ${panelHeading(a).name} · “${a.question}”`,
          `${a.model.name} (${a.model.weightsKind}) · ${m ? `${m.id} ` : ''}budget ${st.budget} of ${this.model.n}`,
        ];
        const canvas = await composeView(v.root, theme.background, theme.foreground, captions);
        await deliver(this.host, 'png', safeFileName(stem, 'png'), await canvasToBlob(canvas));
      }
      this.announce(`Exported ${format.toUpperCase()}.`);
    } catch (err) {
      this.announce(`Export failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The running app (one per page); `start` replaces it when the host sends a new analysis. */
export const app: { current: App | null; start(host: Host, analysis: Analysis, imageSrc: string | null): void } = {
  current: null,
  start(host, analysis, imageSrc) {
    this.current?.dispose();
    this.current = new App(host, analysis, imageSrc);
  },
};

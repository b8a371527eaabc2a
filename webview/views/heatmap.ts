/**
 * View 1 — the image with its token grid: one method's score heatmap (perceptual colormap), the kept
 * mask at the current budget, opacity, hover tooltip, click-to-lock, keyboard cursor.
 */
import { COLORMAPS, lut, type ColormapId } from '../colormap.ts';
import { clear, fmt, h, labelled, pct } from '../dom.ts';
import { moveCursor } from '../layout.ts';
import type { MethodModel } from '../model.ts';
import type { ShowMode } from '../state.ts';
import { GridCanvas, heatRgba, veilRgba } from './grid-canvas.ts';
import { colorbar } from './legend.ts';
import { tokenLines } from './token-info.ts';
import { availableWidth, missingNotice, type AppContext, type Change, type View } from './view.ts';

export class HeatmapView implements View {
  readonly id = 'heatmap' as const;
  readonly title = 'Heatmap';
  readonly root: HTMLElement;
  private readonly grid: GridCanvas;
  private readonly methodSelect: HTMLSelectElement;
  private readonly showSelect: HTMLSelectElement;
  private readonly opacity: HTMLInputElement;
  private readonly cmapSelect: HTMLSelectElement;
  private readonly statusEl: HTMLElement;
  private readonly legendBox: HTMLElement;
  private readonly lockedBox: HTMLElement;
  private readonly notesBox: HTMLElement;
  private readonly canvasWrap: HTMLElement;
  private heat: Uint8ClampedArray | null = null;
  private heatKey = '';
  private veil: Uint8ClampedArray | undefined;

  constructor(private readonly ctx: AppContext) {
    const { model } = ctx;
    this.grid = new GridCanvas(model.layout, 'Token grid: score heatmap and kept mask; arrow keys move the token cursor, Enter locks a token');
    this.grid.canvas.tabIndex = 0;
    this.grid.canvas.dataset.testid = 'heatmap-canvas';

    this.methodSelect = h('select', { attrs: { 'aria-label': 'Method', 'data-testid': 'method-select' } });
    for (const m of model.methods) this.methodSelect.append(h('option', { text: m.label === m.id ? m.id : `${m.label} (${m.id})`, attrs: { value: m.id } }));
    for (const u of model.unavailable) this.methodSelect.append(h('option', { text: `${u.id} — ${u.status}`, attrs: { value: u.id, disabled: true } }));
    this.methodSelect.addEventListener('change', () => ctx.store.set({ method: this.methodSelect.value }));

    this.showSelect = h('select', { attrs: { 'aria-label': 'Show' } });
    for (const [v, t] of [['both', 'scores + kept mask'], ['scores', 'scores only'], ['kept', 'kept mask only']]) this.showSelect.append(h('option', { text: t, attrs: { value: v } }));
    this.showSelect.addEventListener('change', () => ctx.store.set({ show: this.showSelect.value as ShowMode }));

    this.opacity = h('input', { attrs: { type: 'range', min: 0, max: 1, step: 0.05, 'aria-label': 'Heatmap opacity' } });
    this.opacity.addEventListener('input', () => ctx.store.set({ opacity: Number(this.opacity.value) }));

    this.cmapSelect = h('select', { attrs: { 'aria-label': 'Colormap' } });
    for (const c of COLORMAPS) this.cmapSelect.append(h('option', { text: c, attrs: { value: c } }));
    this.cmapSelect.addEventListener('change', () => ctx.store.set({ colormap: this.cmapSelect.value as ColormapId }));

    this.statusEl = h('p', { class: 'pl-status-line', attrs: { 'data-testid': 'heatmap-status', 'aria-live': 'polite' } });
    this.legendBox = h('div', { class: 'pl-legend-box' });
    this.lockedBox = h('div', { class: 'pl-locked', attrs: { 'data-testid': 'locked-token', 'aria-live': 'polite' } });
    this.notesBox = h('div', { class: 'pl-notes' });
    this.canvasWrap = h('div', { class: 'pl-canvas-wrap' }, this.grid.canvas);

    this.root = h(
      'section',
      { class: 'pl-view', attrs: { 'aria-label': 'Heatmap view' } },
      h('div', { class: 'pl-controls' }, labelled('Method', this.methodSelect), labelled('Show', this.showSelect), labelled('Opacity', this.opacity), labelled('Colormap', this.cmapSelect)),
      this.statusEl,
      h('div', { class: 'pl-main' }, this.canvasWrap, h('aside', { class: 'pl-side' }, this.legendBox, this.lockedBox, this.notesBox)),
    );
    if (model.methods.length === 0) {
      this.root.append(missingNotice(document, 'No method produced a result.', model.unavailable.map((u) => `${u.id}: ${u.reason}`)));
    }
    this.bindPointer();
  }

  private method(): MethodModel | undefined {
    return this.ctx.model.get(this.ctx.store.state.method) ?? this.ctx.model.methods[0];
  }

  methodsShown(): string[] {
    const m = this.method();
    return m ? [m.id] : [];
  }

  svgForExport(): SVGSVGElement | null {
    return this.legendBox.querySelector('svg');
  }

  private bindPointer(): void {
    const c = this.grid.canvas;
    c.addEventListener('mousemove', (e) => {
      const [x, y] = this.grid.eventPoint(e);
      const i = this.grid.hit(x, y);
      if (i === null) {
        this.ctx.tooltip.hide();
        this.ctx.store.set({ cursor: null });
        return;
      }
      this.ctx.store.set({ cursor: i });
      this.ctx.tooltip.show(e.clientX, e.clientY, this.lines(i));
    });
    c.addEventListener('mouseleave', () => {
      this.ctx.tooltip.hide();
      this.ctx.store.set({ cursor: null });
    });
    c.addEventListener('click', (e) => {
      const [x, y] = this.grid.eventPoint(e);
      const i = this.grid.hit(x, y);
      if (i === null) return;
      this.ctx.lock(this.ctx.store.state.locked === i ? null : i, this.method()?.id ?? null);
    });
    c.addEventListener('blur', () => this.ctx.tooltip.hide());
  }

  private lines(i: number): string[] {
    const m = this.method();
    const kept = m ? this.ctx.keptAt(m, this.ctx.store.state.budget).mask : null;
    return tokenLines(this.ctx.model, i, m ?? null, kept);
  }

  onKey(e: KeyboardEvent): boolean {
    const st = this.ctx.store.state;
    const L = this.ctx.model.layout;
    if (L.n === 0) return false;
    const at = st.cursor ?? st.locked ?? 0;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const mv = moves[e.key];
    if (mv) {
      const next = st.cursor === null ? at : moveCursor(L, at, mv[0], mv[1]);
      this.ctx.store.set({ cursor: next });
      this.showKeyboardTooltip(next);
      return true;
    }
    if (e.key === 'Enter' || e.key === ' ') {
      this.ctx.lock(st.locked === at ? null : at, this.method()?.id ?? null);
      return true;
    }
    return false;
  }

  private showKeyboardTooltip(i: number): void {
    const r = this.grid.cellRect(i);
    const b = this.grid.canvas.getBoundingClientRect();
    const sx = b.width / Math.max(1, this.grid.width);
    this.ctx.tooltip.show(b.left + (r.x + r.size) * sx, b.top + (r.y + r.size) * sx, this.lines(i));
  }

  render(changed: ReadonlySet<Change>): void {
    const st = this.ctx.store.state;
    const m = this.method();
    if (this.methodSelect.value !== (m?.id ?? '')) this.methodSelect.value = m?.id ?? '';
    this.showSelect.value = st.show;
    this.opacity.value = String(st.opacity);
    this.cmapSelect.value = st.colormap;
    if (changed.has('resize') || changed.has('data') || this.grid.width === 0) {
      const avail = availableWidth(this.root);
      this.grid.fit(Math.min(avail, 900), Math.max(260, Math.min(640, window.innerHeight - 250)));
    }
    const theme = this.ctx.theme();
    const table = lut(st.colormap);
    const key = `${m?.id}|${st.colormap}`;
    if (m?.scores && (key !== this.heatKey || changed.has('data'))) {
      this.heat = heatRgba(m.scores, m.scoreRange.min, m.scoreRange.max, table, this.heat ?? undefined);
      this.heatKey = key;
    }
    const kept = m ? this.ctx.keptAt(m, st.budget) : null;

    this.grid.begin(theme.background);
    if (this.ctx.image) this.grid.drawImage(this.ctx.image);
    if (m?.scores && this.heat && st.show !== 'kept') this.grid.drawCells(this.heat, this.ctx.image ? st.opacity : 1);
    if (kept && st.show !== 'scores') {
      this.veil = veilRgba(kept.mask, theme.veil, theme.veilAlpha, this.veil);
      this.grid.drawCells(this.veil);
    }
    this.grid.drawGridLines(theme.kind === 'light' ? 'rgba(0,0,0,0.12)' : 'rgba(255,255,255,0.10)');
    this.grid.drawPanelLabels(theme.foreground, '11px sans-serif');
    if (st.locked !== null && st.locked < this.ctx.model.n) this.grid.outline(st.locked, theme.accent, 2.5);
    if (st.cursor !== null && st.cursor < this.ctx.model.n) this.grid.outline(st.cursor, theme.focus, 2, true);

    this.renderStatus(m, kept);
    if (changed.has('data') || changed.has('method') || changed.has('colormap') || !this.legendBox.firstChild) {
      clear(this.legendBox);
      if (m?.scores) this.legendBox.append(colorbar(table, m.scoreRange.min, m.scoreRange.max, `${m.label}: ${m.scoreName}`));
      else if (m) this.legendBox.append(h('p', { class: 'pl-muted', text: `${m.label} has no per-token scores; only its kept mask is shown.` }));
      clear(this.notesBox);
      if (m) {
        for (const note of m.notes) this.notesBox.append(h('p', { class: 'pl-note', text: note }));
        if (!m.rerankable && m.whyNotRerankable) this.notesBox.append(h('p', { class: 'pl-muted', text: `Budget changes re-run this method in the host: ${m.whyNotRerankable}.` }));
      }
      if (this.ctx.model.layout.note) this.notesBox.append(h('p', { class: 'pl-muted', text: this.ctx.model.layout.note }));
    }
    this.renderLocked(m, kept?.mask ?? null);
  }

  private renderStatus(m: MethodModel | undefined, kept: ReturnType<AppContext['keptAt']> | null): void {
    clear(this.statusEl);
    if (!m || !kept) return;
    const n = this.ctx.model.n;
    this.statusEl.append(
      'Kept ',
      h('strong', { text: String(kept.count), attrs: { 'data-testid': 'kept-count' } }),
      ` / ${n} tokens (${pct(kept.count / Math.max(1, n))}) · budget `,
      h('strong', { text: String(this.ctx.store.state.budget), attrs: { 'data-testid': 'budget-shown' } }),
      ` · ${kept.source === 'rerank' ? 're-ranked in the view' : `computed by ${m.id}`}`,
    );
    const stale = this.ctx.staleNote(m, kept);
    if (stale) this.statusEl.append(h('span', { class: 'pl-warn', text: ` — ${stale}`, attrs: { 'data-testid': 'stale-note' } }));
  }

  private renderLocked(m: MethodModel | undefined, kept: Uint8Array | null): void {
    const i = this.ctx.store.state.locked;
    clear(this.lockedBox);
    if (i === null || i >= this.ctx.model.n) {
      this.lockedBox.append(h('p', { class: 'pl-muted', text: 'Click a token (or press Enter on the grid) to lock it.' }));
      return;
    }
    const lines = tokenLines(this.ctx.model, i, m ?? null, kept);
    this.lockedBox.append(h('h3', { text: `Locked: ${lines[0]}` }), ...lines.slice(1).map((l) => h('div', { text: l })));
    const others = this.ctx.model.methods.filter((x) => x !== m);
    if (others.length > 0) {
      const list = h('ul', { class: 'pl-compact-list', attrs: { 'aria-label': 'Other methods on this token' } });
      for (const o of others) {
        const k = this.ctx.keptAt(o, this.ctx.store.state.budget);
        list.append(h('li', { text: `${o.id}: ${k.mask[i] ? 'kept' : 'pruned'}${o.scores ? ` · ${fmt(o.scores[i])}` : ''}` }));
      }
      this.lockedBox.append(list);
    }
  }
}

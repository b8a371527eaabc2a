/**
 * View 2 — every method at the same budget: small multiples of the kept masks, the Jaccard overlap
 * matrix (SVG), and a disagreement map (how many methods keep each token).
 */
import { lut, lutCss } from '../colormap.ts';
import { clear, fmt, h, s } from '../dom.ts';
import type { MethodModel } from '../model.ts';
import { jaccard, keepCounts } from '../rerank.ts';
import { GridCanvas, heatRgba, veilRgba } from './grid-canvas.ts';
import { swatches } from './legend.ts';
import { positionText } from './token-info.ts';
import { missingNotice, type AppContext, type Change, type View } from './view.ts';

interface Multiple {
  m: MethodModel;
  grid: GridCanvas;
  caption: HTMLElement;
  veil?: Uint8ClampedArray;
}

export class CompareView implements View {
  readonly id = 'compare' as const;
  readonly title = 'Compare';
  readonly root: HTMLElement;
  private multiples: Multiple[] = [];
  private readonly multiplesBox: HTMLElement;
  private readonly matrixBox: HTMLElement;
  private readonly disagreement: GridCanvas;
  private readonly disLegend: HTMLElement;
  private readonly disWrap: HTMLElement;
  private counts: Uint8Array | null = null;
  private masks: Uint8Array[] = [];

  constructor(private readonly ctx: AppContext) {
    this.multiplesBox = h('div', { class: 'pl-multiples', attrs: { 'data-testid': 'compare-multiples' } });
    this.matrixBox = h('div', { class: 'pl-matrix', attrs: { 'data-testid': 'jaccard' } });
    this.disagreement = new GridCanvas(ctx.model.layout, 'Disagreement map: number of methods keeping each token');
    this.disagreement.canvas.dataset.testid = 'disagreement-canvas';
    this.disLegend = h('div', { class: 'pl-legend-box' });
    this.disWrap = h('div', { class: 'pl-canvas-wrap pl-canvas-medium' }, this.disagreement.canvas);
    this.root = h(
      'section',
      { class: 'pl-view', attrs: { 'aria-label': 'Compare view' } },
      h('h2', { text: 'Kept tokens per method at the same budget' }),
      this.multiplesBox,
      h(
        'div',
        { class: 'pl-row' },
        h('div', { class: 'pl-card' }, h('h2', { text: 'Jaccard overlap of kept sets' }), this.matrixBox),
        h('div', { class: 'pl-card' }, h('h2', { text: 'Disagreement: how many methods keep each token' }), this.disWrap, this.disLegend),
      ),
    );
    if (ctx.model.methods.length === 0) this.root.append(missingNotice(document, 'Nothing to compare.', ['No method produced a result in this analysis.']));
    this.buildMultiples();
    this.hover(this.disagreement, (i) => {
      const c = this.counts ? this.counts[i] : 0;
      const keepers = this.multiples.filter((_, k) => this.masks[k]?.[i]).map((x) => x.m.id);
      return [`Token #${i}`, positionText(ctx.model, i), `kept by ${c} / ${this.multiples.length}`, keepers.join(', ') || 'no method'];
    });
  }

  private buildMultiples(): void {
    clear(this.multiplesBox);
    this.multiples = this.ctx.model.methods.map((m) => {
      const grid = new GridCanvas(this.ctx.model.layout, `${m.label}: kept tokens`, 'pl-grid-canvas pl-small');
      const caption = h('figcaption', {});
      this.multiplesBox.append(h('figure', { class: 'pl-multiple', attrs: { 'data-method': m.id } }, grid.canvas, caption));
      this.hover(grid, (i) => {
        const kept = this.ctx.keptAt(m, this.ctx.store.state.budget).mask;
        return [`Token #${i}`, positionText(this.ctx.model, i), `${m.id}: ${kept[i] ? 'kept' : 'pruned'}`];
      });
      return { m, grid, caption };
    });
    for (const u of this.ctx.model.unavailable) {
      this.multiplesBox.append(h('figure', { class: 'pl-multiple pl-unavailable' }, h('figcaption', { text: `${u.id}: ${u.status} — ${u.reason}` })));
    }
  }

  private hover(grid: GridCanvas, lines: (i: number) => string[]): void {
    grid.canvas.addEventListener('mousemove', (e) => {
      const [x, y] = grid.eventPoint(e);
      const i = grid.hit(x, y);
      if (i === null) this.ctx.tooltip.hide();
      else this.ctx.tooltip.show(e.clientX, e.clientY, lines(i));
    });
    grid.canvas.addEventListener('mouseleave', () => this.ctx.tooltip.hide());
  }

  methodsShown(): string[] {
    return this.ctx.model.methods.map((m) => m.id);
  }

  svgForExport(): SVGSVGElement | null {
    return this.matrixBox.querySelector('svg');
  }

  render(changed: ReadonlySet<Change>): void {
    if (changed.has('data') && this.multiples.map((x) => x.m.id).join() !== this.ctx.model.methods.map((m) => m.id).join()) this.buildMultiples();
    const st = this.ctx.store.state;
    const theme = this.ctx.theme();
    const refit = changed.has('resize') || changed.has('data');
    this.masks = [];
    for (const mu of this.multiples) {
      const m = this.ctx.model.get(mu.m.id) ?? mu.m;
      mu.m = m;
      if (refit || mu.grid.width === 0) mu.grid.fit(200, 200);
      const kept = this.ctx.keptAt(m, st.budget);
      this.masks.push(kept.mask.slice());
      mu.grid.begin(theme.background);
      if (this.ctx.image) mu.grid.drawImage(this.ctx.image);
      mu.veil = veilRgba(kept.mask, theme.veil, theme.veilAlpha, mu.veil);
      mu.grid.drawCells(mu.veil);
      clear(mu.caption);
      const stale = this.ctx.staleNote(m, kept);
      mu.caption.append(h('strong', { text: m.label }), ' ', h('span', { text: `${kept.count} kept`, attrs: { 'data-testid': 'multiple-count' } }));
      if (stale) mu.caption.append(h('div', { class: 'pl-warn', text: stale }));
    }
    this.renderMatrix();
    const n = this.ctx.model.n;
    this.counts = keepCounts(this.masks, n);
    const M = Math.max(1, this.multiples.length);
    const table = lut('inferno');
    if (refit || this.disagreement.width === 0) this.disagreement.fit(420, 420);
    this.disagreement.begin(theme.background);
    if (this.ctx.image) this.disagreement.drawImage(this.ctx.image, 0.35);
    this.disagreement.drawCells(heatRgba(this.counts, 0, M, table), 0.85);
    clear(this.disLegend);
    const items = [];
    for (let c = 0; c <= M; c++) items.push({ color: lutCss(table, c / M), label: `${c} method${c === 1 ? '' : 's'}` });
    this.disLegend.append(swatches(items, 'methods keeping the token'));
  }

  private renderMatrix(): void {
    clear(this.matrixBox);
    const ms = this.multiples;
    if (ms.length < 2) {
      this.matrixBox.append(h('p', { class: 'pl-muted', text: 'Needs at least two methods with results.' }));
      return;
    }
    const cell = 34;
    const labelW = 96;
    const size = labelW + cell * ms.length;
    const width = size + 48; // room for the last rotated column label
    const table = lut('viridis');
    const svg = s('svg', { width, height: size, viewBox: `0 0 ${width} ${size}`, role: 'img', 'aria-label': 'Jaccard overlap matrix of kept token sets' });
    ms.forEach((a, r) => {
      svg.append(s('text', { x: labelW - 6, y: labelW + r * cell + cell / 2 + 4, 'text-anchor': 'end', class: 'pl-svg-text pl-svg-small' }, a.m.id));
      svg.append(s('text', { x: 0, y: 0, transform: `translate(${labelW + r * cell + cell / 2 + 4},${labelW - 6}) rotate(-60)`, class: 'pl-svg-text pl-svg-small' }, a.m.id));
      ms.forEach((_, c) => {
        const j = jaccard(this.masks[r], this.masks[c]);
        const g = s('g', { 'data-row': a.m.id, 'data-col': ms[c].m.id });
        g.append(s('rect', { x: labelW + c * cell, y: labelW + r * cell, width: cell - 1, height: cell - 1, fill: lutCss(table, j) }, s('title', {}, `${a.m.id} vs ${ms[c].m.id}: ${fmt(j, 3)}`)));
        g.append(
          s('text', { x: labelW + c * cell + cell / 2, y: labelW + r * cell + cell / 2 + 4, 'text-anchor': 'middle', class: 'pl-svg-small', fill: j > 0.6 ? '#000000' : '#ffffff' }, j.toFixed(2)),
        );
        svg.append(g);
      });
    });
    this.matrixBox.append(svg);
  }
}

/**
 * View 4 — F³A stages: the per-stage budget split (stacked bar), the cell grid with odours and quotas,
 * the mean-shift refinement paths, kept tokens coloured by stage, and coverage before / after recovery.
 * F³A has no public code: this is PruneLens' reconstruction, and the view says so.
 */
import { lut, STAGE_COLORS, STAGE_NAMES } from '../colormap.ts';
import { clear, fmt, h, labelled, s } from '../dom.ts';
import type { MethodModel } from '../model.ts';
import { finiteRange } from '../rerank.ts';
import { intArray, isRec, num, numArray, pick, readTrajectories, type Trajectory } from '../trace.ts';
import { GridCanvas, heatRgba } from './grid-canvas.ts';
import { colorbar, swatches } from './legend.ts';
import { positionText } from './token-info.ts';
import { availableWidth, missingNotice, type AppContext, type Change, type View } from './view.ts';

const STAGES = ['loc', 'comp', 'rec'] as const;
type Stage = (typeof STAGES)[number];
const BUDGET_KEYS: Record<Stage, string> = { loc: 'B_loc', comp: 'B_comp', rec: 'B_rec' };

export const RECONSTRUCTION_TEXT =
  'F³A here is a reconstruction from the paper’s description (ALGORITHMS.md §4.3, [PROPOSED]): the paper has no public code, so stage rules and constants are PruneLens’ reading, not the authors’ implementation.';

interface F3aData {
  budgets: Record<Stage, number> | null;
  stageOf: Map<number, Stage>;
  g: number | null;
  quotas: Float64Array | null;
  cellOdour: Float64Array | null;
  cellOf: Int32Array | null;
  odour: Float64Array | null;
  trajectories: Trajectory[] | null;
  coverBefore: Float64Array | null;
  coverAfter: Float64Array | null;
  flat: boolean | null;
  kappa: number | null;
  missing: string[];
}

function readF3a(m: MethodModel, n: number, grid: readonly [number, number] | null): F3aData {
  const e = m.entry;
  const trace = e.display?.trace;
  const missing: string[] = [];
  const b = pick([e, trace], ['budgets']);
  let budgets: F3aData['budgets'] = null;
  if (isRec(b) && STAGES.every((st) => num(b[BUDGET_KEYS[st]]) !== null)) {
    budgets = { loc: num(b.B_loc) as number, comp: num(b.B_comp) as number, rec: num(b.B_rec) as number };
  } else missing.push('budgets {B_loc, B_comp, B_rec}');
  const labels = pick([e], ['labels']);
  const stageOf = new Map<number, Stage>();
  if (Array.isArray(labels) && labels.length === e.keep.length) {
    e.keep.forEach((t, k) => {
      const l = labels[k];
      if (l === 'loc' || l === 'comp' || l === 'rec') stageOf.set(t, l);
    });
  } else missing.push('labels (stage per kept token)');
  const g = num(pick([e, trace], ['g', 'cell_size']));
  if (g === null) missing.push('g (cell size)');
  const quotas = numArray(pick([e, trace], ['quotas']));
  if (!quotas) missing.push('quotas');
  const cellOdour = numArray(pick([e, trace], ['cell_odour', 'cellOdour']));
  if (!cellOdour) missing.push('cell_odour');
  let cellOf: Int32Array | null = null;
  const co = intArray(pick([trace, e], ['cellOf', 'cell_of']));
  if (co && co.length === n) cellOf = Int32Array.from(co);
  else if (g && grid && grid[0] * grid[1] === n) {
    // cell(i) = ⌊r/g⌋·⌈w/g⌉ + ⌊c/g⌋ (§4.3 stage 1).
    cellOf = new Int32Array(n);
    const per = Math.ceil(grid[1] / g);
    for (let i = 0; i < n; i++) cellOf[i] = Math.floor(Math.floor(i / grid[1]) / g) * per + Math.floor((i % grid[1]) / g);
  }
  const odour = numArray(pick([e, trace], ['odour']), n) ?? m.scores;
  if (!odour) missing.push('odour');
  const refinement = pick([trace], ['refinement', 'trajectories', 'paths']);
  const trajectories = readTrajectories(refinement);
  if (!trajectories) missing.push('refinement trajectories (trace.refinement[].path)');
  const coverBefore = numArray(pick([trace], ['coverageBefore', 'coverage_before', 'cover_before']), n);
  const coverAfter = numArray(pick([trace], ['coverageAfter', 'coverage_after', 'cover_after']), n);
  if (!coverBefore || !coverAfter) missing.push('coverage before/after recovery (trace.coverageBefore/After)');
  const flat = pick([e], ['flat']);
  return {
    budgets,
    stageOf,
    g,
    quotas,
    cellOdour,
    cellOf,
    odour,
    trajectories,
    coverBefore,
    coverAfter,
    flat: typeof flat === 'boolean' ? flat : null,
    kappa: num(pick([e], ['kappa'])),
    missing,
  };
}

export class F3aStagesView implements View {
  readonly id = 'f3a' as const;
  readonly title = 'F³A stages';
  readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private readonly barBox: HTMLElement;
  private readonly grid: GridCanvas;
  private readonly coverB: GridCanvas;
  private readonly coverA: GridCanvas;
  private readonly coverCaptions: [HTMLElement, HTMLElement];
  private readonly status: HTMLElement;
  private readonly notes: HTMLElement;
  private readonly legendBox: HTMLElement;
  private readonly colorBy: HTMLSelectElement;
  private readonly showPaths: HTMLInputElement;
  private readonly showQuotas: HTMLInputElement;
  private readonly canvasWrap: HTMLElement;
  private data: F3aData | null = null;
  private dataFor: MethodModel | null = null;

  constructor(private readonly ctx: AppContext) {
    const L = ctx.model.layout;
    this.grid = new GridCanvas(L, 'F³A cells: odour, quotas, refinement paths and kept tokens coloured by stage');
    this.grid.canvas.dataset.testid = 'f3a-canvas';
    this.coverB = new GridCanvas(L, 'Coverage before recovery', 'pl-grid-canvas pl-small');
    this.coverA = new GridCanvas(L, 'Coverage after recovery', 'pl-grid-canvas pl-small');
    this.coverCaptions = [h('figcaption', {}), h('figcaption', {})];
    this.barBox = h('div', { class: 'pl-stagebar', attrs: { 'data-testid': 'f3a-bar' } });
    this.status = h('p', { class: 'pl-status-line', attrs: { 'aria-live': 'polite' } });
    this.notes = h('div', { class: 'pl-notes' });
    this.legendBox = h('div', { class: 'pl-legend-box' });
    this.colorBy = h('select', { attrs: { 'aria-label': 'Colour cells by' } });
    for (const [v, t] of [['token', 'token odour'], ['cell', 'cell odour O_c']]) this.colorBy.append(h('option', { text: t, attrs: { value: v } }));
    this.colorBy.addEventListener('change', () => ctx.invalidate('data'));
    this.showPaths = h('input', { attrs: { type: 'checkbox', checked: true } });
    this.showPaths.addEventListener('change', () => ctx.invalidate('data'));
    this.showQuotas = h('input', { attrs: { type: 'checkbox', checked: true } });
    this.showQuotas.addEventListener('change', () => ctx.invalidate('data'));
    this.canvasWrap = h('div', { class: 'pl-canvas-wrap' }, this.grid.canvas);
    this.body = h(
      'div',
      {},
      h('p', { class: 'pl-banner', text: RECONSTRUCTION_TEXT, attrs: { 'data-testid': 'f3a-note', role: 'note' } }),
      this.barBox,
      this.status,
      h(
        'div',
        { class: 'pl-controls' },
        labelled('Colour by', this.colorBy),
        labelled('Refinement paths', this.showPaths, 'pl-field pl-check'),
        labelled('Cells and quotas', this.showQuotas, 'pl-field pl-check'),
      ),
      h(
        'div',
        { class: 'pl-main' },
        this.canvasWrap,
        h(
          'aside',
          { class: 'pl-side' },
          this.legendBox,
          h('h3', { text: 'Coverage (max centred cosine to the kept set)' }),
          h('p', { class: 'pl-muted', text: 'Same colour scale for both maps (cividis).' }),
          h('div', { class: 'pl-row' }, h('figure', { class: 'pl-multiple' }, this.coverB.canvas, this.coverCaptions[0]), h('figure', { class: 'pl-multiple' }, this.coverA.canvas, this.coverCaptions[1])),
          this.notes,
        ),
      ),
    );
    this.root = h('section', { class: 'pl-view', attrs: { 'aria-label': 'F3A stages view' } }, this.body);
    this.grid.canvas.addEventListener('mousemove', (e) => {
      const [x, y] = this.grid.eventPoint(e);
      const i = this.grid.hit(x, y);
      const d = this.data;
      if (i === null || !d) return this.ctx.tooltip.hide();
      const lines = [`Token #${i}`, positionText(this.ctx.model, i)];
      if (d.odour) lines.push(`odour ${fmt(d.odour[i])}`);
      if (d.cellOf) {
        const c = d.cellOf[i];
        lines.push(`cell ${c}${d.quotas ? ` · quota ${d.quotas[c]}` : ''}${d.cellOdour ? ` · O_c ${fmt(d.cellOdour[c])}` : ''}`);
      }
      const stg = d.stageOf.get(i);
      lines.push(stg ? `kept in ${STAGE_NAMES[stg]}` : 'pruned');
      this.ctx.tooltip.show(e.clientX, e.clientY, lines);
    });
    this.grid.canvas.addEventListener('mouseleave', () => this.ctx.tooltip.hide());
  }

  private method(): MethodModel | undefined {
    const f = this.ctx.model.find('f3a');
    return f && 'entry' in f ? f : undefined;
  }

  methodsShown(): string[] {
    const m = this.method();
    return m ? [m.id] : [];
  }

  svgForExport(): SVGSVGElement | null {
    return this.barBox.querySelector('svg');
  }

  render(changed: ReadonlySet<Change>): void {
    const m = this.method();
    if (!m) {
      const u = this.ctx.model.find('f3a');
      this.root.replaceChildren(
        h('p', { class: 'pl-banner', text: RECONSTRUCTION_TEXT, attrs: { 'data-testid': 'f3a-note', role: 'note' } }),
        missingNotice(document, 'F³A did not run in this analysis.', [u && 'reason' in u ? u.reason : 'No f3a result in the analysis.']),
      );
      return;
    }
    if (!this.root.contains(this.body)) this.root.replaceChildren(this.body);
    if (this.dataFor !== m) {
      this.data = readF3a(m, this.ctx.model.n, this.ctx.model.analysis.grid);
      this.dataFor = m;
      clear(this.notes);
      if (this.data.missing.length > 0) this.notes.append(h('p', { class: 'pl-warn', text: `Missing from this F³A result: ${this.data.missing.join('; ')}.` }));
      for (const line of m.notes) this.notes.append(h('p', { class: 'pl-note', text: line }));
    }
    const d = this.data as F3aData;
    const kept = this.ctx.keptAt(m, this.ctx.store.state.budget);
    this.renderBar(m, d);
    clear(this.status);
    this.status.append(`${kept.count} kept`);
    if (d.flat !== null) this.status.append(` · odour ${d.flat ? 'flat (κ < 0.1: larger competition/recovery shares)' : 'peaked'}${d.kappa !== null ? ` (κ = ${fmt(d.kappa)})` : ''}`);
    const stale = this.ctx.staleNote(m, kept);
    if (stale) this.status.append(h('span', { class: 'pl-warn', text: ` — ${stale}`, attrs: { 'data-testid': 'stale-note' } }));
    if (changed.has('resize') || changed.has('data') || this.grid.width === 0) {
      this.grid.fit(Math.min(availableWidth(this.root), 800), Math.max(260, Math.min(600, window.innerHeight - 320)));
      this.coverB.fit(170, 170);
      this.coverA.fit(170, 170);
    }
    this.drawMain(m, d);
    this.drawCoverage(d);
    if (!this.legendBox.firstChild || changed.has('data')) {
      clear(this.legendBox);
      this.legendBox.append(swatches(STAGES.map((st) => ({ color: STAGE_COLORS[st], label: STAGE_NAMES[st] })), 'kept tokens by stage'));
      const o = d.odour ? finiteRange(d.odour) : { min: 0, max: 1 };
      this.legendBox.append(colorbar(lut('viridis'), o.min, o.max, 'odour'));
    }
  }

  private renderBar(m: MethodModel, d: F3aData): void {
    clear(this.barBox);
    if (!d.budgets) {
      this.barBox.append(h('p', { class: 'pl-warn', text: 'This F³A result has no per-stage budgets (budgets.B_loc/B_comp/B_rec).' }));
      return;
    }
    const b = d.budgets;
    const total = b.loc + b.comp + b.rec;
    const width = 560;
    const svg = s('svg', { width, height: 58, viewBox: `0 0 ${width} 58`, role: 'img', 'aria-label': `Stage budgets: localization ${b.loc}, competition ${b.comp}, recovery ${b.rec}, total ${total}` });
    let x = 0;
    for (const st of STAGES) {
      const w = total > 0 ? (b[st] / total) * width : 0;
      svg.append(s('rect', { x, y: 0, width: Math.max(0, w), height: 26, fill: STAGE_COLORS[st] }, s('title', {}, `${STAGE_NAMES[st]}: ${b[st]}`)));
      if (w > 28) svg.append(s('text', { x: x + w / 2, y: 17, 'text-anchor': 'middle', fill: '#000000', class: 'pl-svg-small' }, String(b[st])));
      x += w;
    }
    svg.append(s('text', { x: 0, y: 46, class: 'pl-svg-text pl-svg-small' }, 'localization + refinement · competition · recovery (each token kept by exactly one stage)'));
    const budgetParam = num(m.entry.params.B) ?? num(m.entry.params.budget) ?? m.computedCount;
    const counts: Record<Stage, number> = { loc: 0, comp: 0, rec: 0 };
    for (const st of d.stageOf.values()) counts[st]++;
    const legend = h(
      'p',
      { class: 'pl-stage-numbers' },
      ...STAGES.flatMap((st, k) => [
        k > 0 ? ' + ' : '',
        h('span', { class: `pl-stage-chip pl-stage-${st}`, text: `${BUDGET_KEYS[st]} ` }),
        h('strong', { text: String(b[st]), attrs: { 'data-testid': `f3a-${BUDGET_KEYS[st]}` } }),
      ]),
      ' = ',
      h('strong', { text: String(total), attrs: { 'data-testid': 'f3a-total' } }),
      ' · budget B = ',
      h('strong', { text: String(budgetParam), attrs: { 'data-testid': 'f3a-budget' } }),
      ` · kept per stage label: loc ${counts.loc}, comp ${counts.comp}, rec ${counts.rec}`,
    );
    this.barBox.append(svg, legend);
  }

  private drawMain(m: MethodModel, d: F3aData): void {
    const theme = this.ctx.theme();
    const n = this.ctx.model.n;
    const ctx = this.grid.begin(theme.background);
    if (this.ctx.image) this.grid.drawImage(this.ctx.image);
    const table = lut('viridis');
    const byCell = this.colorBy.value === 'cell' && d.cellOdour && d.cellOf;
    let values: Float64Array | null = d.odour;
    if (byCell && d.cellOdour && d.cellOf) {
      const co = d.cellOdour;
      values = Float64Array.from(d.cellOf, (c) => co[c] ?? NaN);
    }
    if (values) {
      const r = finiteRange(values);
      this.grid.drawCells(heatRgba(values, r.min, r.max, table), this.ctx.image ? 0.55 : 1);
    }
    // Kept tokens, coloured by the stage that picked them: an inset square per cell.
    const geom = this.grid.geom;
    for (let i = 0; i < n; i++) {
      const st = d.stageOf.get(i);
      if (!st && !m.computedMask[i]) continue;
      const rc = this.grid.cellRect(i);
      const inset = Math.max(1, rc.size * 0.18);
      ctx.fillStyle = st ? STAGE_COLORS[st] : theme.foreground;
      ctx.fillRect(rc.x + inset, rc.y + inset, rc.size - 2 * inset, rc.size - 2 * inset);
      ctx.strokeStyle = '#000000';
      ctx.lineWidth = 0.8;
      ctx.strokeRect(rc.x + inset, rc.y + inset, rc.size - 2 * inset, rc.size - 2 * inset);
    }
    const grid = this.ctx.model.analysis.grid;
    if (this.showQuotas.checked && d.g && grid && geom.length > 0) {
      const g0 = geom[0];
      const [rows, cols] = grid;
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 1.2;
      ctx.globalAlpha = 0.8;
      ctx.beginPath();
      for (let c = 0; c <= cols; c += d.g) {
        ctx.moveTo(g0.x + c * g0.cell, g0.y);
        ctx.lineTo(g0.x + c * g0.cell, g0.y + rows * g0.cell);
      }
      for (let r = 0; r <= rows; r += d.g) {
        ctx.moveTo(g0.x, g0.y + r * g0.cell);
        ctx.lineTo(g0.x + cols * g0.cell, g0.y + r * g0.cell);
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
      if (d.quotas) {
        const per = Math.ceil(cols / d.g);
        ctx.font = `bold ${Math.max(9, Math.min(14, g0.cell * 0.9))}px sans-serif`;
        ctx.textBaseline = 'top';
        for (let c = 0; c < d.quotas.length; c++) {
          const x = g0.x + (c % per) * d.g * g0.cell + 2;
          const y = g0.y + Math.floor(c / per) * d.g * g0.cell + 1;
          const label = `q${fmt(d.quotas[c])}`;
          const w = ctx.measureText(label).width;
          ctx.fillStyle = 'rgba(0,0,0,0.65)';
          ctx.fillRect(x - 1, y, w + 3, Math.max(10, g0.cell * 0.9) + 2);
          ctx.fillStyle = '#ffffff';
          ctx.fillText(label, x, y + 1);
        }
      }
    }
    if (this.showPaths.checked && d.trajectories && geom.length > 0) {
      const g0 = geom[0];
      const at = (p: [number, number]): [number, number] => [g0.x + (p[1] + 0.5) * g0.cell, g0.y + (p[0] + 0.5) * g0.cell];
      for (const tr of d.trajectories) {
        for (const [color, width] of [['#000000', 3.5], ['#ffffff', 1.6]] as const) {
          ctx.strokeStyle = color;
          ctx.lineWidth = width;
          ctx.beginPath();
          tr.points.forEach((p, k) => {
            const [x, y] = at(p);
            if (k === 0) ctx.moveTo(x, y);
            else ctx.lineTo(x, y);
          });
          ctx.stroke();
        }
        const [sx, sy] = at(tr.points[0]);
        const [ex, ey] = at(tr.points[tr.points.length - 1]);
        ctx.fillStyle = '#ffffff';
        ctx.beginPath();
        ctx.arc(sx, sy, 2.5, 0, 2 * Math.PI);
        ctx.fill();
        ctx.fillStyle = STAGE_COLORS.loc;
        ctx.beginPath();
        ctx.arc(ex, ey, 3.5, 0, 2 * Math.PI);
        ctx.fill();
        ctx.strokeStyle = '#000000';
        ctx.lineWidth = 1;
        ctx.stroke();
      }
    }
  }

  private drawCoverage(d: F3aData): void {
    const theme = this.ctx.theme();
    const table = lut('cividis');
    // One scale for both maps, so the gain from recovery is visible as a colour change.
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of [d.coverBefore, d.coverAfter]) {
      if (!v) continue;
      const r = finiteRange(v);
      lo = Math.min(lo, r.min);
      hi = Math.max(hi, r.max);
    }
    const pairs: [GridCanvas, Float64Array | null, HTMLElement, string][] = [
      [this.coverB, d.coverBefore, this.coverCaptions[0], 'before recovery'],
      [this.coverA, d.coverAfter, this.coverCaptions[1], 'after recovery'],
    ];
    for (const [grid, values, cap, label] of pairs) {
      grid.begin(theme.background);
      clear(cap);
      if (!values) {
        cap.textContent = `${label}: not in the trace`;
        continue;
      }
      grid.drawCells(heatRgba(values, lo, hi, table));
      let sum = 0;
      let cnt = 0;
      for (const v of values) {
        if (Number.isFinite(v)) {
          sum += v;
          cnt++;
        }
      }
      cap.append(`${label}: mean `, h('strong', { text: fmt(cnt ? sum / cnt : NaN, 3), attrs: { 'data-testid': `f3a-coverage-${label.startsWith('before') ? 'before' : 'after'}` } }));
    }
  }
}


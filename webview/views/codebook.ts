/**
 * View 5 — redundancy codebook: per-token max similarity r_i to the codebook, a live τ with the kept
 * count (same rule as the method), and the nearest prototype per token. Without a codebook the view says
 * how to load one (it never fabricates one from the image: the method's premise is a fixed codebook).
 */
import { categoricalRgb, lut } from '../colormap.ts';
import { clear, fmt, h, labelled } from '../dom.ts';
import type { MethodModel } from '../model.ts';
import { codebookMask, countKept, finiteRange } from '../rerank.ts';
import { intArray, num, numArray, pick } from '../trace.ts';
import { GridCanvas, heatRgba, veilRgba } from './grid-canvas.ts';
import { colorbar } from './legend.ts';
import { positionText } from './token-info.ts';
import { missingNotice, type AppContext, type Change, type View } from './view.ts';

interface CodebookData {
  r: Float64Array;
  proto: number[] | null;
  mode: string;
  tau: number;
}

function readCodebook(m: MethodModel, n: number): CodebookData | string {
  const e = m.entry;
  const trace = e.display?.trace;
  let r = numArray(pick([e], ['r']), n);
  if (!r && m.scores) r = m.scores.map((v) => -v); // scores are −r (higher = keep-worthy)
  if (!r) return 'The codebook result has neither r (max similarity) nor scores.';
  const proto = intArray(pick([e, trace], ['argmax_prototype', 'prototype']));
  const mode = String(pick([e.params, trace], ['mode']) ?? 'A');
  const tau = num(pick([e.params], ['tau'])) ?? (mode === 'A' ? finiteRange(r).max : 1);
  return { r, proto: proto && proto.length === n ? proto : null, mode, tau };
}

export class CodebookView implements View {
  readonly id = 'codebook' as const;
  readonly title = 'Codebook';
  readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private readonly heat: GridCanvas;
  private readonly protoGrid: GridCanvas;
  private readonly tau: HTMLInputElement;
  private readonly tauOut: HTMLElement;
  private readonly count: HTMLElement;
  private readonly legendBox: HTMLElement;
  private readonly notes: HTMLElement;
  private data: CodebookData | null = null;
  private dataFor: MethodModel | null = null;
  private mask: Uint8Array | null = null;

  constructor(private readonly ctx: AppContext) {
    const L = ctx.model.layout;
    this.heat = new GridCanvas(L, 'Max similarity of each token to the codebook, with the kept mask at τ');
    this.heat.canvas.dataset.testid = 'codebook-canvas';
    this.protoGrid = new GridCanvas(L, 'Nearest prototype per token');
    this.tau = h('input', { attrs: { type: 'range', 'aria-label': 'Codebook threshold τ', 'data-testid': 'codebook-tau' } });
    this.tau.addEventListener('input', () => ctx.store.set({ tau: Number(this.tau.value) }));
    this.tauOut = h('output', { class: 'pl-num' });
    this.count = h('p', { class: 'pl-status-line', attrs: { 'aria-live': 'polite' } });
    this.legendBox = h('div', { class: 'pl-legend-box' });
    this.notes = h('div', { class: 'pl-notes' });
    this.body = h(
      'div',
      {},
      h('div', { class: 'pl-controls' }, labelled('τ', this.tau), this.tauOut),
      this.count,
      h(
        'div',
        { class: 'pl-row' },
        h('figure', { class: 'pl-card' }, h('figcaption', { text: 'r = max cosine to the codebook (pruned tokens veiled)' }), h('div', { class: 'pl-canvas-wrap pl-canvas-medium' }, this.heat.canvas)),
        h('figure', { class: 'pl-card' }, h('figcaption', { text: 'nearest prototype (one colour per prototype)' }), h('div', { class: 'pl-canvas-wrap pl-canvas-medium' }, this.protoGrid.canvas)),
        h('aside', { class: 'pl-side' }, this.legendBox, this.notes),
      ),
    );
    this.root = h('section', { class: 'pl-view', attrs: { 'aria-label': 'Codebook view' } }, this.body);
    for (const g of [this.heat, this.protoGrid]) {
      g.canvas.addEventListener('mousemove', (e) => {
        const [x, y] = g.eventPoint(e);
        const i = g.hit(x, y);
        const d = this.data;
        if (i === null || !d) return this.ctx.tooltip.hide();
        const lines = [`Token #${i}`, positionText(this.ctx.model, i), `r ${fmt(d.r[i])}`];
        if (d.proto) lines.push(`nearest prototype ${d.proto[i]}`);
        if (this.mask) lines.push(this.mask[i] ? 'kept at τ' : 'pruned at τ');
        this.ctx.tooltip.show(e.clientX, e.clientY, lines);
      });
      g.canvas.addEventListener('mouseleave', () => this.ctx.tooltip.hide());
    }
  }

  private method(): MethodModel | undefined {
    const f = this.ctx.model.find('codebook');
    return f && 'entry' in f ? f : undefined;
  }

  methodsShown(): string[] {
    return this.method() ? ['codebook'] : [];
  }

  svgForExport(): SVGSVGElement | null {
    return this.legendBox.querySelector('svg');
  }

  private renderMissing(reason: string): void {
    const lines = [
      reason,
      'The method needs a fixed codebook of redundant prototypes in the same feature space (ALGORITHMS.md §3.3); PruneLens does not invent one from the image.',
      'CLI: prunelens analyze … --codebook <file.npy|.npz> (a [P,d] matrix from the same model and layer), or add it to the bundle as array "codebook" (prune maps one with --input codebook=<array>).',
    ];
    const box = missingNotice(document, 'No codebook loaded.', lines);
    box.dataset.testid = 'codebook-missing';
    if (this.ctx.host.capabilities.loadCodebook) {
      const b = h('button', { class: 'pl-button', text: 'Load codebook…', attrs: { type: 'button' } });
      b.addEventListener('click', () => this.ctx.host.post({ type: 'loadCodebook', requestId: this.ctx.host.nextRequestId() }));
      box.append(b);
    } else {
      box.append(h('p', { text: 'In VS Code, use “Load codebook…” in this view of the PruneLens panel, the “PruneLens: Load Codebook” command, or the prunelens.codebookPath setting.' }));
    }
    this.root.replaceChildren(box);
  }

  render(changed: ReadonlySet<Change>): void {
    const m = this.method();
    if (!m) {
      const u = this.ctx.model.find('codebook');
      this.renderMissing(u && 'reason' in u ? u.reason : 'This analysis has no codebook result.');
      return;
    }
    if (this.dataFor !== m) {
      const d = readCodebook(m, this.ctx.model.n);
      this.dataFor = m;
      if (typeof d === 'string') {
        this.data = null;
        this.renderMissing(d);
        return;
      }
      this.data = d;
      clear(this.notes);
      if (!d.proto) this.notes.append(h('p', { class: 'pl-warn', text: 'The result has no argmax_prototype; the prototype map is empty.' }));
      for (const line of m.notes) this.notes.append(h('p', { class: 'pl-note', text: line }));
    }
    if (!this.data) return;
    if (!this.root.contains(this.body)) this.root.replaceChildren(this.body);
    const d = this.data;
    const rr = finiteRange(d.r);
    const st = this.ctx.store.state;
    if (d.mode === 'A') {
      this.tau.min = String(rr.min);
      this.tau.max = String(rr.max + 1e-9);
      this.tau.step = String(Math.max(1e-6, (rr.max - rr.min) / 500));
    } else {
      this.tau.min = '0';
      this.tau.max = '1';
      this.tau.step = '0.01';
    }
    const tau = st.tau ?? d.tau;
    this.tau.value = String(tau);
    this.tauOut.textContent = `τ = ${fmt(tau)} (${d.mode === 'A' ? 'cosine threshold: keep r < τ' : 'keep fraction'}) · mode ${d.mode}`;
    this.mask = codebookMask(d.r, d.mode, tau);
    const kept = countKept(this.mask);
    clear(this.count);
    this.count.append(
      'Kept at this τ: ',
      h('strong', { text: String(kept), attrs: { 'data-testid': 'codebook-count' } }),
      ` / ${this.ctx.model.n} · the method ran with τ = ${fmt(d.tau)} and kept ${m.computedCount}`,
    );
    if (changed.has('resize') || changed.has('data') || this.heat.width === 0) {
      this.heat.fit(400, 400);
      this.protoGrid.fit(400, 400);
    }
    const theme = this.ctx.theme();
    const table = lut('viridis');
    this.heat.begin(theme.background);
    if (this.ctx.image) this.heat.drawImage(this.ctx.image);
    this.heat.drawCells(heatRgba(d.r, rr.min, rr.max, table), this.ctx.image ? 0.6 : 1);
    this.heat.drawCells(veilRgba(this.mask, theme.veil, theme.veilAlpha));
    this.protoGrid.begin(theme.background);
    if (d.proto) {
      const n = this.ctx.model.n;
      const rgba = new Uint8ClampedArray(n * 4);
      for (let i = 0; i < n; i++) {
        const [r, g, b] = categoricalRgb(d.proto[i]);
        rgba.set([r, g, b, 255], i * 4);
      }
      this.protoGrid.drawCells(rgba);
    }
    if (changed.has('data') || !this.legendBox.firstChild) {
      clear(this.legendBox);
      this.legendBox.append(colorbar(table, rr.min, rr.max, 'r (max similarity to the codebook)'));
      if (d.proto) this.legendBox.append(h('p', { class: 'pl-muted', text: `${new Set(d.proto).size} distinct nearest prototypes` }));
    }
  }
}

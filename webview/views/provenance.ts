/**
 * View 6 — the provenance strip under every view: which model (and whether its weights are real, the
 * probe, or random test weights), provider, timings, parameters, token counts, and a FLOPs-saved
 * estimate (ALGORITHMS.md §7) for a chosen LLM size.
 */
import { clear, h, labelled, pct } from '../dom.ts';
import { flopsSaved, LLMS } from '../flops.ts';
import type { MethodModel } from '../model.ts';
import type { AppContext, Change } from './view.ts';

const WEIGHTS_TEXT: Record<string, string> = {
  real: 'real weights',
  probe: 'built-in probe model (not a real VLM)',
  'random-test': 'random test weights — numbers are not meaningful',
  synthetic: 'synthetic data (no model)',
  unknown: 'weights of unknown origin',
};

export class ProvenanceStrip {
  readonly root: HTMLElement;
  private readonly modelLine: HTMLElement;
  private readonly methodLine: HTMLElement;
  private readonly flopsOut: HTMLElement;
  private readonly llm: HTMLSelectElement;
  private readonly text: HTMLInputElement;
  private readonly fastvLayer: HTMLInputElement;
  private readonly fastvField: HTMLElement;

  constructor(
    private readonly ctx: AppContext,
    private readonly currentMethod: () => MethodModel | undefined,
  ) {
    this.modelLine = h('div', { class: 'pl-prov-line' });
    this.methodLine = h('div', { class: 'pl-prov-line', attrs: { 'data-testid': 'prov-method' } });
    this.llm = h('select', { attrs: { 'aria-label': 'LLM size for the FLOPs estimate' } });
    for (const l of LLMS) this.llm.append(h('option', { text: l.label, attrs: { value: l.id } }));
    this.llm.addEventListener('change', () => ctx.store.set({ llm: this.llm.value }));
    this.text = h('input', { attrs: { type: 'number', min: 0, max: 100000, step: 1, 'aria-label': 'Text tokens in the prompt' } });
    this.text.addEventListener('change', () => ctx.store.set({ textTokens: Math.max(0, Math.round(Number(this.text.value) || 0)) }));
    this.fastvLayer = h('input', { attrs: { type: 'number', min: 0, max: 80, step: 1, value: 2, 'aria-label': 'FastV pruning layer K' } });
    this.fastvLayer.addEventListener('change', () => ctx.invalidate('llm'));
    this.fastvField = labelled('FastV layer K', this.fastvLayer);
    this.flopsOut = h('output', { class: 'pl-flops', attrs: { 'data-testid': 'flops' } });
    this.root = h(
      'footer',
      { class: 'pl-provenance', attrs: { 'aria-label': 'Provenance', 'data-testid': 'provenance' } },
      this.modelLine,
      this.methodLine,
      h('div', { class: 'pl-prov-line pl-controls' }, h('span', { text: 'FLOPs saved (prefill, §7 SwiGLU count):' }), labelled('LLM', this.llm), labelled('text tokens', this.text), this.fastvField, this.flopsOut),
    );
  }

  render(changed: ReadonlySet<Change>): void {
    const a = this.ctx.model.analysis;
    const st = this.ctx.store.state;
    if (changed.has('data') || !this.modelLine.firstChild) {
      clear(this.modelLine);
      const kind = a.model.weightsKind;
      this.modelLine.append(
        h('strong', { text: a.model.name || a.model.id || 'unknown model' }),
        ' · ',
        h('span', { class: kind === 'real' ? 'pl-badge' : 'pl-badge pl-badge-warn', text: WEIGHTS_TEXT[kind] ?? kind, attrs: { 'data-testid': 'weights-kind' } }),
        ` · provider ${a.model.provider || 'n/a'}`,
        a.model.providerNotes.length > 0 ? h('span', { class: 'pl-muted', text: ` (${a.model.providerNotes.join('; ')})` }) : '',
        ` · N = ${this.ctx.model.n} tokens${a.grid ? ` on ${a.grid[0]}×${a.grid[1]}` : ''}`,
        ' · timings ',
        Object.entries(a.timings_ms)
          .map(([k, v]) => `${k} ${Math.round(v)} ms`)
          .join(', ') || 'n/a',
      );
    }
    this.llm.value = st.llm;
    this.text.value = String(st.textTokens);
    const m = this.currentMethod();
    clear(this.methodLine);
    if (!m) {
      this.methodLine.textContent = 'No method selected.';
      this.flopsOut.textContent = '';
      this.fastvField.hidden = true;
      return;
    }
    const kept = this.ctx.keptAt(m, st.budget);
    const params = Object.entries(m.entry.params)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(', ');
    this.methodLine.append(
      h('strong', { text: m.label }),
      ` (${m.id}, ${m.selection}) · params ${params || 'defaults'} · kept ${kept.count} / ${this.ctx.model.n} · ran in ${Math.round(Number(m.entry.time_ms) || 0)} ms${kept.source === 'rerank' ? ' (re-ranked here for this budget)' : ''}`,
    );
    const dims = LLMS.find((l) => l.id === st.llm) ?? LLMS[0];
    const isFastv = m.id === 'fastv';
    this.fastvField.hidden = !isFastv;
    const layer = isFastv ? Math.max(0, Math.round(Number(this.fastvLayer.value) || 0)) : 0;
    const f = flopsSaved(this.ctx.model.n, kept.count, st.textTokens, dims, layer);
    this.flopsOut.textContent = `≈ ${pct(f.saved)} of ${(f.full / 1e12).toFixed(2)} TFLOPs${isFastv ? ` (FastV: layers < ${layer} see all tokens)` : ' (input-level pruning: every layer sees the kept tokens)'}`;
  }
}

/**
 * View 3 — G-Prune information flow: tokens as nodes (grid positions, or a force layout), the strongest
 * edges of the thresholded similarity graph, node size and colour = mass m⁽ᵗ⁾ at iteration t (scrubber
 * with play), and the selected node's incoming / outgoing transition weights.
 */
import { forceLink, forceManyBody, forceSimulation, forceX, forceY, type SimulationNodeDatum } from 'd3-force';
import { lut, lutCss } from '../colormap.ts';
import { clear, fmt, h, labelled, s } from '../dom.ts';
import type { MethodModel } from '../model.ts';
import { isRec, numArray, numRows, pick, readEdges, intArray, type EdgeList } from '../trace.ts';
import { GridCanvas } from './grid-canvas.ts';
import { colorbar } from './legend.ts';
import { positionText } from './token-info.ts';
import { availableWidth, missingNotice, type AppContext, type Change, type View } from './view.ts';

export interface FlowData {
  /** m⁽ᵗ⁾ for t = 0..T over all n tokens (NaN where a token is in no group, e.g. newline tokens). */
  mass: Float64Array[];
  edges: EdgeList | null;
  /** Edge indices per node, strongest first. */
  out: number[][];
  into: number[][];
  maxMass: number;
  missing: string[];
}

/** Collects mass maps and edges from the trace, per group (token_indices map local → global) or flat. */
export function readFlow(m: MethodModel, n: number): FlowData {
  const missing: string[] = [];
  const trace = m.entry.display?.trace;
  const groups = isRec(trace) && Array.isArray(trace.groups) ? (trace.groups as unknown[]).filter(isRec) : [];
  let mass: Float64Array[] = [];
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  const addEdges = (e: EdgeList | null): void => {
    if (!e) return;
    for (let k = 0; k < e.src.length; k++) {
      src.push(e.src[k]);
      dst.push(e.dst[k]);
      w.push(e.w[k]);
    }
  };
  let sawEdges = false;
  if (groups.length > 0) {
    for (const g of groups) {
      const tokens = intArray(g.token_indices) ?? (groups.length === 1 ? Array.from({ length: n }, (_, i) => i) : null);
      const rows = tokens ? numRows(g.mass, tokens.length) : null;
      if (tokens && rows) {
        rows.forEach((row, t) => {
          if (!mass[t]) mass[t] = new Float64Array(n).fill(NaN);
          tokens.forEach((tok, j) => {
            if (tok >= 0 && tok < n) mass[t][tok] = row[j];
          });
        });
      }
      if (g.edges !== undefined) sawEdges = true;
      addEdges(readEdges(g.edges, n));
    }
  } else {
    const rows = numRows(pick([trace, m.entry], ['mass', 'mass_maps', 'masses']), n);
    if (rows) mass = rows;
    const e = pick([trace, m.entry], ['edges', 'edge_list']);
    if (e !== undefined) sawEdges = true;
    addEdges(readEdges(e, n));
  }
  if (mass.length === 0) {
    // Without per-iteration maps the endpoints can still be shown: m⁽⁰⁾ = norms, m⁽ᵀ⁾ = s ⊙ deg.
    const norms = numArray(pick([m.entry], ['norms']), n);
    const scores = numArray(pick([m.entry], ['scores']), n);
    const degree = numArray(pick([m.entry], ['degree']), n);
    const rebuilt: Float64Array[] = [];
    if (norms) rebuilt.push(norms);
    if (scores && degree) rebuilt.push(scores.map((v, i) => v * degree[i]));
    mass = rebuilt;
    missing.push(
      rebuilt.length === 2
        ? 'The trace has no per-iteration mass maps (trace.groups[].mass); only t = 0 (norms) and the final step (score × degree) are shown.'
        : 'The trace has no mass maps (trace.groups[].mass) and no norms/scores to rebuild them; node sizes are uniform.',
    );
  }
  if (!sawEdges) missing.push('The trace has no edge list (trace.groups[].edges); edges are not drawn.');
  const edges = src.length > 0 ? { src: Int32Array.from(src), dst: Int32Array.from(dst), w: Float64Array.from(w) } : null;
  const out: number[][] = Array.from({ length: n }, () => []);
  const into: number[][] = Array.from({ length: n }, () => []);
  if (edges) {
    for (let k = 0; k < edges.src.length; k++) {
      out[edges.src[k]].push(k);
      into[edges.dst[k]].push(k);
    }
    const byW = (a: number, b: number): number => edges.w[b] - edges.w[a] || a - b;
    for (const l of out) l.sort(byW);
    for (const l of into) l.sort(byW);
  }
  let maxMass = 0;
  for (const row of mass) for (const v of row) if (Number.isFinite(v) && v > maxMass) maxMass = v;
  return { mass, edges, out, into, maxMass, missing };
}

interface Node extends SimulationNodeDatum {
  i: number;
}

export class GPruneFlowView implements View {
  readonly id = 'gprune' as const;
  readonly title = 'G-Prune flow';
  readonly root: HTMLElement;
  private readonly grid: GridCanvas;
  private readonly body: HTMLElement;
  private readonly scrub: HTMLInputElement;
  private readonly tLabel: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly topk: HTMLInputElement;
  private readonly force: HTMLInputElement;
  private readonly markKept: HTMLInputElement;
  private readonly readout: HTMLElement;
  private readonly weightsBox: HTMLElement;
  private readonly notes: HTMLElement;
  private readonly legendBox: HTMLElement;
  private readonly canvasWrap: HTMLElement;
  private data: FlowData | null = null;
  private dataFor: MethodModel | null = null;
  private timer: number | null = null;
  private forcePos: Float64Array | null = null;
  private forceRunning = false;

  constructor(private readonly ctx: AppContext) {
    this.grid = new GridCanvas(ctx.model.layout, 'G-Prune graph: nodes are tokens, size and colour show the mass at the chosen iteration');
    this.grid.canvas.tabIndex = 0;
    this.grid.canvas.dataset.testid = 'gprune-canvas';
    this.scrub = h('input', { attrs: { type: 'range', min: 0, max: 5, step: 1, 'aria-label': 'Propagation iteration t', 'data-testid': 'gprune-scrubber' } });
    this.scrub.addEventListener('input', () => ctx.store.set({ gpruneT: Number(this.scrub.value) }));
    this.tLabel = h('output', { class: 'pl-num', attrs: { 'data-testid': 'gprune-t' } });
    this.play = h('button', { class: 'pl-button', text: '▶ Play', attrs: { type: 'button', 'aria-pressed': 'false', 'data-testid': 'gprune-play' } });
    this.play.addEventListener('click', () => this.togglePlay());
    this.topk = h('input', { attrs: { type: 'number', min: 0, max: 8, step: 1, 'aria-label': 'Edges shown per node (strongest first)' } });
    this.topk.addEventListener('change', () => ctx.store.set({ gpruneTopK: Math.max(0, Math.min(8, Math.round(Number(this.topk.value) || 0))) }));
    this.force = h('input', { attrs: { type: 'checkbox', 'aria-label': 'Force layout' } });
    this.force.addEventListener('change', () => ctx.store.set({ gpruneForce: this.force.checked }));
    this.markKept = h('input', { attrs: { type: 'checkbox', checked: true, 'aria-label': 'Outline kept tokens' } });
    this.markKept.addEventListener('change', () => ctx.invalidate('gpruneT'));
    this.readout = h('p', { class: 'pl-status-line', attrs: { 'data-testid': 'gprune-readout', 'aria-live': 'polite' } });
    this.weightsBox = h('div', { class: 'pl-weights', attrs: { 'data-testid': 'gprune-weights' } });
    this.notes = h('div', { class: 'pl-notes' });
    this.legendBox = h('div', { class: 'pl-legend-box' });
    this.canvasWrap = h('div', { class: 'pl-canvas-wrap' }, this.grid.canvas);
    this.body = h(
      'div',
      {},
      h(
        'div',
        { class: 'pl-controls' },
        labelled('Iteration', this.scrub),
        this.tLabel,
        this.play,
        labelled('Edges per node', this.topk),
        labelled('Force layout', this.force, 'pl-field pl-check'),
        labelled('Outline kept', this.markKept, 'pl-field pl-check'),
      ),
      this.readout,
      h('div', { class: 'pl-main' }, this.canvasWrap, h('aside', { class: 'pl-side' }, this.legendBox, this.weightsBox, this.notes)),
    );
    this.root = h('section', { class: 'pl-view', attrs: { 'aria-label': 'G-Prune flow view' } }, this.body);
    this.bindPointer();
  }

  private method(): MethodModel | undefined {
    const f = this.ctx.model.find('gprune');
    return f && 'entry' in f ? f : undefined;
  }

  methodsShown(): string[] {
    return this.method() ? ['gprune'] : [];
  }

  svgForExport(): SVGSVGElement | null {
    return this.weightsBox.querySelector('svg');
  }

  onHide(): void {
    if (this.timer !== null) this.togglePlay();
  }

  private togglePlay(): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    } else {
      const T = Math.max(0, (this.data?.mass.length ?? 1) - 1);
      if (this.ctx.store.state.gpruneT >= T) this.ctx.store.set({ gpruneT: 0 });
      this.timer = window.setInterval(() => {
        const t = this.ctx.store.state.gpruneT;
        if (t >= T) this.togglePlay();
        else this.ctx.store.set({ gpruneT: t + 1 });
      }, 700);
    }
    this.play.textContent = this.timer !== null ? 'Pause' : '▶ Play';
    this.play.setAttribute('aria-pressed', String(this.timer !== null));
  }

  /** One edge as a straight line between its nodes' positions. */
  private strokeEdge(ctx: CanvasRenderingContext2D, e: EdgeList, id: number): void {
    const [x0, y0] = this.pos(e.src[id]);
    const [x1, y1] = this.pos(e.dst[id]);
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  private pos(i: number): [number, number] {
    if (this.forcePos && this.ctx.store.state.gpruneForce) {
      const pad = 10;
      return [pad + this.forcePos[2 * i] * (this.grid.width - 2 * pad), pad + this.forcePos[2 * i + 1] * (this.grid.height - 2 * pad)];
    }
    return this.grid.centre(i);
  }

  private nodeAt(x: number, y: number): number | null {
    if (!(this.forcePos && this.ctx.store.state.gpruneForce)) return this.grid.hit(x, y);
    let best: number | null = null;
    let bestD = 64;
    for (let i = 0; i < this.ctx.model.n; i++) {
      const [px, py] = this.pos(i);
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  private bindPointer(): void {
    const c = this.grid.canvas;
    c.addEventListener('mousemove', (e) => {
      const [x, y] = this.grid.eventPoint(e);
      const i = this.nodeAt(x, y);
      if (i === null || !this.data) return this.ctx.tooltip.hide();
      const t = this.ctx.store.state.gpruneT;
      const mt = this.data.mass[Math.min(t, this.data.mass.length - 1)];
      const lines = [`Token #${i}`, positionText(this.ctx.model, i)];
      if (mt) lines.push(`mass at t=${t}: ${fmt(mt[i])}`);
      lines.push(`${this.data.out[i].length} recorded out-edges`);
      this.ctx.tooltip.show(e.clientX, e.clientY, lines);
    });
    c.addEventListener('mouseleave', () => this.ctx.tooltip.hide());
    c.addEventListener('click', (e) => {
      const [x, y] = this.grid.eventPoint(e);
      const i = this.nodeAt(x, y);
      if (i !== null) this.ctx.lock(this.ctx.store.state.locked === i ? null : i, 'gprune');
    });
  }

  render(changed: ReadonlySet<Change>): void {
    const m = this.method();
    if (!m) {
      const u = this.ctx.model.find('gprune');
      clear(this.root);
      this.root.append(missingNotice(document, 'G-Prune did not run in this analysis.', [u && 'reason' in u ? u.reason : 'No gprune result in the analysis.']));
      return;
    }
    if (!this.root.contains(this.body)) this.root.replaceChildren(this.body);
    const st = this.ctx.store.state;
    if (this.dataFor !== m) {
      this.data = readFlow(m, this.ctx.model.n);
      this.dataFor = m;
      this.forcePos = null;
      clear(this.notes);
      for (const line of this.data.missing) this.notes.append(h('p', { class: 'pl-warn', text: line }));
      for (const line of m.notes) this.notes.append(h('p', { class: 'pl-note', text: line }));
    }
    const data = this.data as FlowData;
    const T = Math.max(0, data.mass.length - 1);
    const t = Math.min(st.gpruneT, T);
    this.scrub.max = String(T);
    this.scrub.value = String(t);
    this.tLabel.textContent = `t = ${t} / ${T}`;
    this.topk.value = String(st.gpruneTopK);
    this.force.checked = st.gpruneForce;
    if (st.gpruneForce && !this.forcePos && !this.forceRunning) this.startForce(data);
    if (changed.has('resize') || changed.has('data') || this.grid.width === 0) {
      this.grid.fit(Math.min(availableWidth(this.root), 900), Math.max(260, Math.min(640, window.innerHeight - 250)));
    }
    this.draw(m, data, t);
    const mt = data.mass[t];
    if (mt) {
      let sum = 0;
      let arg = -1;
      for (let i = 0; i < mt.length; i++) {
        if (!Number.isFinite(mt[i])) continue;
        sum += mt[i];
        if (arg < 0 || mt[i] > mt[arg]) arg = i;
      }
      this.readout.textContent = `t = ${t}: total mass ${fmt(sum, 6)} (conserved by the row-stochastic walk) · largest at token #${arg} (m = ${fmt(mt[arg])})`;
    } else this.readout.textContent = 'No mass maps to show.';
    if (changed.has('data') || changed.has('theme') || !this.legendBox.firstChild) {
      clear(this.legendBox);
      this.legendBox.append(colorbar(lut('viridis'), 0, data.maxMass, 'mass m⁽ᵗ⁾ (size and colour, √-scaled)'));
    }
    this.renderWeights(data, st.locked);
  }

  private draw(m: MethodModel, data: FlowData, t: number): void {
    const theme = this.ctx.theme();
    const st = this.ctx.store.state;
    const ctx = this.grid.begin(theme.background);
    if (this.ctx.image && !st.gpruneForce) this.grid.drawImage(this.ctx.image, 0.25);
    const n = this.ctx.model.n;
    const cell = Math.min(...this.grid.geom.map((g) => g.cell));
    const maxR = Math.max(2, cell * 0.62);
    const mt = data.mass[t];
    const k = st.gpruneTopK;
    if (data.edges && k > 0) {
      const e = data.edges;
      let maxW = 0;
      for (const v of e.w) if (v > maxW) maxW = v;
      ctx.lineWidth = 1;
      ctx.strokeStyle = theme.foreground;
      for (let i = 0; i < n; i++) {
        const list = data.out[i];
        for (let q = 0; q < Math.min(k, list.length); q++) {
          const id = list[q];
          ctx.globalAlpha = 0.08 + 0.5 * (maxW > 0 ? e.w[id] / maxW : 0);
          this.strokeEdge(ctx, e, id);
        }
      }
      ctx.globalAlpha = 1;
    }
    const sel = st.locked;
    if (data.edges && sel !== null && sel < n) {
      const e = data.edges;
      ctx.lineWidth = 2;
      for (const [list, color] of [[data.out[sel], theme.accent], [data.into[sel], theme.focus]] as const) {
        ctx.strokeStyle = color;
        for (const id of list) this.strokeEdge(ctx, e, id);
      }
    }
    const table = lut('viridis');
    const kept = this.markKept.checked ? this.ctx.keptAt(m, st.budget).mask : null;
    for (let i = 0; i < n; i++) {
      const v = mt ? mt[i] : NaN;
      const f = Number.isFinite(v) && data.maxMass > 0 ? Math.sqrt(Math.max(0, v) / data.maxMass) : mt ? 0 : 0.3;
      const r = Math.max(0.8, maxR * f);
      const [x, y] = this.pos(i);
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = Number.isFinite(v) || !mt ? lutCss(table, f) : theme.muted;
      ctx.fill();
      if (kept && kept[i]) {
        ctx.lineWidth = 1.2;
        ctx.strokeStyle = theme.accent;
        ctx.stroke();
      }
    }
    if (sel !== null && sel < n) {
      const [x, y] = this.pos(sel);
      ctx.beginPath();
      ctx.arc(x, y, maxR + 3, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = theme.focus;
      ctx.stroke();
    }
  }

  private renderWeights(data: FlowData, sel: number | null): void {
    clear(this.weightsBox);
    if (sel === null || sel >= this.ctx.model.n) {
      this.weightsBox.append(h('p', { class: 'pl-muted', text: 'Click a node to see where its mass flows (outgoing) and where it comes from (incoming).' }));
      return;
    }
    if (!data.edges) {
      this.weightsBox.append(h('p', { class: 'pl-muted', text: `Token #${sel}: no edge list in the trace.` }));
      return;
    }
    const e = data.edges;
    const top = (list: number[]): number[] => list.slice(0, 8);
    const outs = top(data.out[sel]);
    const ins = top(data.into[sel]);
    const rowH = 16;
    const width = 260;
    const height = 40 + (outs.length + ins.length) * rowH + 20;
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Transition weights of token ${sel}` });
    let y = 12;
    const section = (title: string, ids: number[], other: (id: number) => number, cls: string): void => {
      svg.append(s('text', { x: 0, y, class: 'pl-svg-text' }, title));
      y += 6;
      if (ids.length === 0) {
        y += 12;
        svg.append(s('text', { x: 0, y, class: 'pl-svg-text pl-svg-small' }, 'none recorded'));
        y += 8;
        return;
      }
      for (const id of ids) {
        const w = e.w[id];
        svg.append(s('rect', { x: 56, y, width: Math.max(1, w * (width - 110)), height: rowH - 4, class: cls }, s('title', {}, `P = ${w}`)));
        svg.append(s('text', { x: 0, y: y + rowH - 6, class: 'pl-svg-text pl-svg-small' }, `#${other(id)}`));
        svg.append(s('text', { x: 60 + Math.max(1, w * (width - 110)), y: y + rowH - 6, class: 'pl-svg-text pl-svg-small' }, fmt(w, 3)));
        y += rowH;
      }
      y += 14;
    };
    section(`#${sel} → (outgoing P)`, outs, (id) => e.dst[id], 'pl-bar-out');
    section(`→ #${sel} (incoming P)`, ins, (id) => e.src[id], 'pl-bar-in');
    this.weightsBox.append(svg, h('p', { class: 'pl-muted', text: 'Incoming edges are those among each token’s strongest recorded edges.' }));
  }

  /** Force layout: a few ticks per frame so the UI never blocks; positions normalised to [0,1]². */
  private startForce(data: FlowData): void {
    const n = this.ctx.model.n;
    const nodes: Node[] = [];
    for (let i = 0; i < n; i++) {
      const [x, y] = this.grid.centre(i);
      nodes.push({ i, x, y });
    }
    const links: { source: number; target: number; w: number }[] = [];
    if (data.edges) {
      const k = Math.max(1, this.ctx.store.state.gpruneTopK);
      for (let i = 0; i < n; i++) for (const id of data.out[i].slice(0, k)) links.push({ source: i, target: data.edges.dst[id], w: data.edges.w[id] });
    }
    const sim = forceSimulation(nodes)
      .force('link', forceLink<Node, { source: number; target: number; w: number }>(links).id((d) => d.i).distance(6).strength(0.3))
      .force('charge', forceManyBody<Node>().strength(-4).distanceMax(80))
      .force('x', forceX<Node>((d) => this.grid.centre(d.i)[0]).strength(0.04))
      .force('y', forceY<Node>((d) => this.grid.centre(d.i)[1]).strength(0.04))
      .stop();
    this.forceRunning = true;
    let ticks = 0;
    const step = (): void => {
      for (let q = 0; q < 15; q++) sim.tick();
      ticks += 15;
      let x0 = Infinity;
      let x1 = -Infinity;
      let y0 = Infinity;
      let y1 = -Infinity;
      for (const d of nodes) {
        x0 = Math.min(x0, d.x ?? 0);
        x1 = Math.max(x1, d.x ?? 0);
        y0 = Math.min(y0, d.y ?? 0);
        y1 = Math.max(y1, d.y ?? 0);
      }
      const pos = new Float64Array(2 * n);
      for (const d of nodes) {
        pos[2 * d.i] = ((d.x ?? 0) - x0) / Math.max(1e-9, x1 - x0);
        pos[2 * d.i + 1] = ((d.y ?? 0) - y0) / Math.max(1e-9, y1 - y0);
      }
      this.forcePos = pos;
      this.ctx.invalidate('gpruneForce');
      if (ticks < 300 && sim.alpha() > 0.02 && this.ctx.store.state.gpruneForce) requestAnimationFrame(step);
      else this.forceRunning = false;
    };
    requestAnimationFrame(step);
  }
}

/**
 * The Decisions side view (browser). Renders what the host posts — this window's analyses and, for the
 * locked token, each method's decision — and sends the user's actions back. No data is computed here.
 */
import { validateDecisionsHostMessage, type AnalysisSummary, type DecisionsToHost, type DecisionsViewState, type TokenDecision } from '../extension/protocol.ts';
import { parseTokenInput, tokenLabel } from './decisions-input.ts';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
// Declared by VS Code as a global `const` in webviews (not a property of globalThis).
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

const api: VsCodeApi | null = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;
const post = (m: DecisionsToHost): void => api?.postMessage(m);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(text: string, testId: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = el('button', 'pd-button', text);
  b.type = 'button';
  b.dataset.testid = testId;
  if (title) b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

const fmtScore = (x: number | null): string => (x === null ? '—' : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(3))));

const time = (iso: string): string => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
};

let state: DecisionsViewState | null = null;
const saved = api?.getState();
let tokenText = typeof saved === 'object' && saved !== null && typeof (saved as { tokenText?: unknown }).tokenText === 'string' ? (saved as { tokenText: string }).tokenText : '';

const root = el('div', 'pd-root');
document.body.append(root);

/** The host's PNG data URL (nothing else is ever loaded from a summary), or a placeholder for bundles. */
function thumbnail(a: AnalysisSummary): HTMLElement {
  if (a.thumbnail && /^data:image\/png;base64,[A-Za-z0-9+/=]+$/.test(a.thumbnail)) {
    const img = el('img', 'pd-thumb');
    img.src = a.thumbnail;
    img.alt = '';
    img.dataset.testid = 'analysis-thumbnail';
    return img;
  }
  const none = el('span', 'pd-thumb pd-thumb-none', '▦');
  none.title = 'token bundle: no image';
  none.setAttribute('aria-hidden', 'true');
  return none;
}

function analysesSection(s: DecisionsViewState): HTMLElement {
  const sec = el('section', 'pd-analyses');
  sec.setAttribute('aria-label', 'Analyses in this window');
  if (s.analyses.length === 0) return sec;
  const list = el('ul', 'pd-list');
  for (const a of s.analyses) {
    const li = el('li');
    const b = el('button', a.active ? 'pd-analysis pd-active' : 'pd-analysis');
    b.type = 'button';
    b.dataset.testid = 'analysis-item';
    b.setAttribute('aria-pressed', String(a.active));
    const text = el('span', 'pd-analysis-text');
    text.append(el('span', 'pd-analysis-title', a.source), el('span', 'pd-analysis-q', a.question ? `“${a.question}”` : 'no question'), el('span', 'pd-muted', `${a.model} · ${a.provider} · ${a.n} tokens · ${time(a.time)}`));
    b.append(thumbnail(a), text);
    b.addEventListener('click', () => post({ type: 'select', id: a.id }));
    li.append(b);
    list.append(li);
  }
  sec.append(list);
  return sec;
}

function tokenSection(s: DecisionsViewState): HTMLElement {
  const sec = el('section', 'pd-token');
  const input = el('input', 'pd-input');
  input.type = 'text';
  input.placeholder = s.grid ? 'index or row,col' : 'token index';
  input.setAttribute('aria-label', 'Token to inspect');
  input.dataset.testid = 'token-input';
  input.value = tokenText;
  const error = el('span', 'pd-error');
  error.setAttribute('role', 'status');
  const lock = (): void => {
    tokenText = input.value;
    api?.setState({ tokenText });
    const i = parseTokenInput(input.value, s.n, s.grid);
    if (i === null) {
      error.textContent = s.grid ? `Type an index 0–${s.n - 1} or row,col within ${s.grid[0]}×${s.grid[1]}.` : `Type an index 0–${s.n - 1}.`;
      return;
    }
    error.textContent = '';
    post({ type: 'lock', index: i });
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') lock();
  });
  const row = el('div', 'pd-row');
  row.append(input, button('Lock', 'token-lock', lock), button('Unlock', 'token-unlock', () => post({ type: 'lock', index: null })));
  const dis = el('div', 'pd-row');
  dis.append(
    button('◀', 'disagreement-prev', () => post({ type: 'step', direction: -1 }), 'Previous token the methods disagree on'),
    button('▶', 'disagreement-next', () => post({ type: 'step', direction: 1 }), 'Next token the methods disagree on'),
    el('span', 'pd-muted', `${s.disagreements.count} disagreement${s.disagreements.count === 1 ? '' : 's'}`),
  );
  dis.querySelector('.pd-muted')?.setAttribute('data-testid', 'disagreement-count');
  sec.append(row, error, dis);
  if (s.token !== null) {
    const h = el('h2', 'pd-heading', `Token ${tokenLabel(s.token, s.grid)}${s.budget !== null ? ` at budget ${s.budget}` : ''}`);
    h.dataset.testid = 'token-heading';
    sec.append(h);
    if (s.disagreements.kept.length > 0 && s.disagreements.dropped.length > 0) {
      sec.append(el('p', 'pd-muted', `As computed: kept by ${s.disagreements.kept.join(', ')}; dropped by ${s.disagreements.dropped.join(', ')}.`));
    }
  }
  return sec;
}

/** A body cell; `label` names its column where the narrow layout stacks cells (see decisions.css). */
function cell(cls: string, label: string, text?: string): HTMLTableCellElement {
  const td = el('td', cls, text);
  td.setAttribute('role', 'cell');
  td.dataset.label = label;
  return td;
}

const COLUMNS: readonly (readonly [string, string])[] = [
  ['Method', ''],
  ['Decision', ''],
  ['Score', ''],
  ['Rank', 'Rank by score (score desc, index asc); percentile: 100 = best'],
  ['Keep from', 'Ranked and greedy methods: kept at this budget and every larger one. Staged and merging methods (Find): the smallest budget found that keeps it — a larger budget may drop it again.'],
  ['Why', ''],
];

/**
 * A searched budget is the smallest found, not a threshold: say so, and say when a larger budget (the
 * current one above all) drops the token again. The full sentence is the cell's tooltip.
 */
function searchedCf(td: HTMLElement, budget: number, facts: NonNullable<TokenDecision['counterfactual']['search']>): void {
  const value = el('span', 'pd-cf-budget', String(budget));
  value.dataset.testid = 'cf-budget';
  td.classList.add('pd-cf-searched');
  td.append(value, el('span', 'pd-cf-detail', facts.exact ? ' (smallest)' : ' (smallest found)'));
  const cur = facts.current;
  const tag = (b: number): string => (cur && b === cur.budget ? `${b} (current)` : String(b));
  // As the core's note: a drop above the answer, the current budget joining it when it drops there too.
  const curJoins = facts.droppedAt !== null && cur !== null && !cur.kept && cur.budget > facts.droppedAt;
  if (facts.droppedAt !== null) td.append(el('span', 'pd-cf-warn', `not monotone: dropped at ${tag(facts.droppedAt)}${curJoins && cur ? ` and ${tag(cur.budget)}` : ''}`));
  if (cur && cur.budget !== budget && cur.budget !== facts.droppedAt && !curJoins) td.append(el('span', 'pd-cf-line', `${cur.kept ? 'kept' : 'dropped'} at ${tag(cur.budget)}`));
}

function cfCell(d: TokenDecision, s: DecisionsViewState): HTMLElement {
  const td = cell('pd-num pd-cf', 'Keep from');
  const cf = d.counterfactual;
  if (cf.budget !== null && cf.kind === 'search' && cf.search) searchedCf(td, cf.budget, cf.search);
  else if (cf.budget !== null) td.textContent = String(cf.budget);
  else if (cf.kind === 'always') td.textContent = 'always';
  else if (s.searching.includes(d.method)) td.textContent = '…';
  else if (s.searchable.includes(d.method)) td.append(button('Find', `find-${d.method}`, () => post({ type: 'search', method: d.method }), 'Re-run at other budgets to find the smallest that keeps this token'));
  else td.textContent = '—';
  td.title = cf.note;
  return td;
}

function tableSection(s: DecisionsViewState): HTMLElement {
  const table = el('table', 'pd-table');
  table.dataset.testid = 'decision-table';
  // Explicit roles: the narrow layout restyles rows as cards (display: grid), which would otherwise drop
  // the table semantics screen readers use.
  table.setAttribute('role', 'table');
  table.setAttribute('aria-label', 'Every method’s decision for the token');
  const head = el('tr');
  head.setAttribute('role', 'row');
  for (const [h, tip] of COLUMNS) {
    const th = el('th', undefined, h);
    th.scope = 'col';
    th.setAttribute('role', 'columnheader');
    if (tip) th.title = tip;
    head.append(th);
  }
  const thead = el('thead');
  thead.setAttribute('role', 'rowgroup');
  thead.append(head);
  const tbody = el('tbody');
  tbody.setAttribute('role', 'rowgroup');
  for (const d of s.rows) {
    const tr = el('tr', d.kept ? 'pd-kept' : 'pd-dropped');
    tr.setAttribute('role', 'row');
    tr.dataset.method = d.method;
    tr.dataset.testid = 'decision-row';
    const name = cell('pd-method', 'Method', d.method);
    name.title = d.label;
    const decision = cell('pd-decision', 'Decision', d.kept ? 'kept' : 'dropped');
    const score = cell('pd-num pd-score', 'Score', fmtScore(d.score));
    score.title = d.scoreName;
    const rank = cell('pd-num pd-rank', 'Rank', d.rank === null ? '—' : `${d.rank + 1}/${d.population}`);
    if (d.percentile !== null) rank.title = `percentile ${d.percentile}`;
    tr.append(name, decision, score, rank, cfCell(d, s), cell('pd-reason', 'Why', d.reason));
    tbody.append(tr);
  }
  table.append(thead, tbody);
  const sec = el('section', 'pd-decisions');
  const exportRow = el('div', 'pd-row');
  exportRow.append(button('Export CSV', 'export-csv', () => post({ type: 'export', format: 'csv' })), button('Export JSON', 'export-json', () => post({ type: 'export', format: 'json' })));
  sec.append(table, exportRow);
  return sec;
}

function render(): void {
  const s = state;
  root.replaceChildren();
  if (!s) {
    root.append(el('p', 'pd-muted', 'Loading…'));
    return;
  }
  root.append(analysesSection(s));
  if (s.selected) root.append(tokenSection(s));
  if (s.message) {
    const p = el('p', 'pd-message', s.message);
    p.dataset.testid = 'decisions-message';
    root.append(p);
  }
  if (s.rows.length > 0) root.append(tableSection(s));
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const v = validateDecisionsHostMessage(event.data);
  if (!v.ok) return;
  state = v.message.state;
  if (state.token !== null) tokenText = String(state.token);
  render();
});

render();
post({ type: 'ready' });

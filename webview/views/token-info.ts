/** The tooltip / locked-token text for one token: index, position, score, rank, kept. */
import { isNewline } from '../layout.ts';
import type { MethodModel, Model } from '../model.ts';
import { fmt } from '../dom.ts';

export function positionText(model: Model, i: number): string {
  const L = model.layout;
  const p = L.panels[L.panelOf[i]];
  const where = L.panels.length > 1 ? ` · ${p.label}` : '';
  if (isNewline(L, i)) return `row ${L.row[i]}, newline token${where}`;
  return `row ${L.row[i]}, col ${L.col[i]}${where}`;
}

export function tokenLines(model: Model, i: number, m: MethodModel | null, kept: Uint8Array | null): string[] {
  const lines = [`Token #${i}`, positionText(model, i)];
  if (m?.scores) lines.push(`${m.scoreName} ${fmt(m.scores[i])}`);
  if (m?.rank) lines.push(`rank ${m.rank[i] + 1} / ${model.n}`);
  if (kept) lines.push(kept[i] ? 'kept' : 'pruned');
  return lines;
}

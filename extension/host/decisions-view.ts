/**
 * The "Decisions" webview view in the PruneLens activity-bar container: this window's analyses and, for the
 * locked token, every method's decision. Re-posts its last state whenever it becomes visible.
 */
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { decisionsToCsv } from '../core/decisions/csv.ts';
import { disagreements, stepDisagreement } from '../core/decisions/disagreements.ts';
import { validateDecisionsMessage, type DecisionsToHost, type HostToDecisions } from '../protocol.ts';
import { decisionRows, decisionsState } from './decisions-model.ts';
import { isCancellation, logText, userMessage } from './errors.ts';
import type { Panels } from './panels.ts';
import { assetRoots, webviewPage } from './resources.ts';
import type { Session } from './session.ts';

export const DECISIONS_VIEW_ID = 'prunelens.decisions';

export class DecisionsView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | null = null;
  private selected: string | null = null;
  private message: string | null = null;
  private scheduled = false;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly panels: Panels,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subs.push(
      panels.onDidChange(({ session, reason }) => {
        if (session && reason !== 'data') this.selected = session.id;
        if (session && reason === 'lock') void this.completeOrders(session);
        if (!this.panels.panel(this.selected ?? '')) this.selected = this.panels.active?.session.id ?? this.panels.sessions()[0]?.id ?? null;
        this.message = null;
        this.refresh();
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: assetRoots(this.extensionUri) };
    view.webview.html = webviewPage(view.webview, this.extensionUri, 'decisions.js', ['decisions.css'], 'PruneLens decisions');
    this.subs.push(
      view.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      view.onDidChangeVisibility(() => {
        if (view.visible) this.refresh();
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = null;
      }),
    );
  }

  private session(): Session | null {
    return (this.selected && this.panels.panel(this.selected)?.session) || null;
  }

  /** Coalesces bursts of changes into one post. */
  refresh(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.post();
    });
  }

  private post(): void {
    const view = this.view;
    if (!view?.visible) return;
    let msg: HostToDecisions;
    try {
      msg = { type: 'state', state: decisionsState(this.panels.sessions(), this.selected, this.message) };
    } catch (err) {
      this.log.error(`decisions view: ${logText(err)}`);
      msg = { type: 'state', state: decisionsState([], null, 'The decisions could not be computed; see the PruneLens output.') };
    }
    void view.webview.postMessage(msg);
  }

  /** Greedy methods that did not pick the locked token: find when they would (one full-budget run each). */
  private async completeOrders(s: Session): Promise<void> {
    const token = s.locked;
    if (token === null) return;
    let any = false;
    for (const src of s.sources()) {
      if (src.keep.includes(token)) continue;
      try {
        any = (await s.ensureFullOrder(src.method)) || any;
      } catch (err) {
        this.log.warn(`decisions: full ${src.method} order failed: ${logText(err)}`);
      }
    }
    if (any) this.refresh();
  }

  private receive(raw: unknown): void {
    const v = validateDecisionsMessage(raw);
    if (!v.ok) {
      this.log.warn(`decisions view: ignored an invalid message (${v.reason})`);
      return;
    }
    void this.handle(v.message).catch((err: unknown) => this.log.error(`decisions view: ${v.message.type} failed: ${logText(err)}`));
  }

  private async handle(m: DecisionsToHost): Promise<void> {
    const s = this.session();
    switch (m.type) {
      case 'ready':
        this.refresh();
        return;
      case 'select':
        this.selected = m.id;
        this.panels.focus(m.id);
        this.refresh();
        return;
      case 'lock':
        if (!s) return;
        if (m.index !== null && m.index >= s.n) return;
        this.panels.lock(s.id, m.index);
        return;
      case 'step': {
        if (!s) return;
        const next = stepDisagreement(disagreements(s.sources()), s.locked, m.direction);
        if (next) this.panels.lock(s.id, next.index);
        else {
          this.message = 'Every method keeps the same tokens: nothing to step through.';
          this.refresh();
        }
        return;
      }
      case 'search':
        if (s && s.locked !== null) await this.search(s, m.method, s.locked);
        return;
      case 'export':
        if (s && s.locked !== null) await this.export(s, s.locked, m.format);
        return;
    }
  }

  private async search(s: Session, method: string, token: number): Promise<void> {
    if (!s.canSearch(method) || s.searching.has(method)) return;
    this.refresh();
    try {
      const r = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `PruneLens: smallest budget keeping token ${token} in ${method}`, cancellable: true },
        async (progress, ct) => {
          const ac = new AbortController();
          const sub = ct.onCancellationRequested(() => ac.abort());
          try {
            const p = s.search(method, token, ac.signal, (b, runs) => progress.report({ message: `run ${runs}: budget ${b}` }));
            this.refresh();
            return await p;
          } finally {
            sub.dispose();
          }
        },
      );
      // The row's wording: the search's answer together with the current result.
      const note = decisionRows(s, token).find((d) => d.method === method)?.counterfactual.note ?? r.note;
      this.log.info(`${s.title}: ${method} token ${token}: ${note} (${r.runs} re-runs)`);
    } catch (err) {
      if (!isCancellation(err)) {
        this.log.error(`${s.title}: search for ${method} failed: ${logText(err)}`);
        void vscode.window.showErrorMessage(userMessage(err, `re-run ${method}`));
      }
    }
    this.refresh();
  }

  private async export(s: Session, token: number, format: 'csv' | 'json'): Promise<void> {
    const rows = decisionRows(s, token);
    const text =
      format === 'csv'
        ? decisionsToCsv(token, s.grid, rows)
        : JSON.stringify({ token, grid: s.grid, budget: s.budget, analysis: { source: s.summary.source, question: s.analysis.question, model: s.analysis.model.name }, rows }, null, 1);
    const target = s.request.image ?? s.request.bundlePath;
    const folder = target ? vscode.Uri.file(dirname(target)) : vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `prunelens-decisions-token${token}.${format}`;
    const uri = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: format === 'csv' ? { CSV: ['csv'] } : { JSON: ['json'] } });
    if (!uri) return;
    try {
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
      this.log.info(`decisions for token ${token} exported to ${uri.fsPath}`);
    } catch (err) {
      this.log.error(`decisions export failed: ${logText(err)}`);
      void vscode.window.showErrorMessage(userMessage(err, `write ${uri.fsPath}`));
    }
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
  }
}

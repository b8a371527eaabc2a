/**
 * The window's inspector panels: creates them, saves each analysis for revival, revives them after a
 * window reload (WebviewPanelSerializer), and tells the side view what changed.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisCache } from '../core/analyze/cache.ts';
import type { PruneExecutor } from '../core/analyze/pipeline.ts';
import type { AnalysisOutcome, AnalyzeRequest } from '../core/analyze/types.ts';
import type { Analyzer } from './analyzer.ts';
import { logText } from './errors.ts';
import { InspectorPanel, messageHtml, PANEL_VIEW_TYPE, panelOptions } from './panel.ts';
import { reuseColumn } from './columns.ts';
import { Session } from './session.ts';
import { thumbnailDataUrl } from './thumbnail.ts';
import { addRecord, findRecord, loadSession, outcomeFromSaved, pruneSessions, saveSession, validRecords, type SavedSession } from './store.ts';
import { uniqueTitle } from './titles.ts';

const RECORDS_KEY = 'prunelens.panels';
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export class Panels implements vscode.WebviewPanelSerializer, vscode.Disposable {
  private readonly open = new Map<string, InspectorPanel>();
  /** Open panels' ids, most recently focused last (closing the front one falls back to the one before). */
  private recent: string[] = [];
  private readonly changed = new vscode.EventEmitter<{ session: Session | null; reason: 'list' | 'lock' | 'data' | 'focus' }>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly cache: AnalysisCache,
    private readonly analyzer: Analyzer,
    /** Runs methods for re-runs and searches (the methods worker process when it is built). */
    private readonly execute?: PruneExecutor,
  ) {}

  private get storageRoot(): string {
    return vscode.Uri.joinPath(this.ctx.globalStorageUri, 'analyses').fsPath;
  }

  sessions(): Session[] {
    return [...this.open.values()].map((p) => p.session);
  }

  get active(): InspectorPanel | null {
    const id = this.recent.at(-1);
    return (id && this.open.get(id)) || null;
  }

  panel(id: string): InspectorPanel | undefined {
    return this.open.get(id);
  }

  /** Opens a panel for a fresh analysis and saves it for revival. */
  show(request: AnalyzeRequest, outcome: AnalysisOutcome): InspectorPanel {
    const id = randomBytes(9).toString('base64url');
    const target = request.image ?? request.bundlePath ?? 'analysis';
    const title = uniqueTitle(target, new Set([...this.open.values()].map((p) => p.panel.title)));
    const session = new Session(id, title, request, outcome, new Date().toISOString(), this.cache, this.execute);
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, title, { viewColumn: this.newPanelColumn(), preserveFocus: false }, panelOptions(this.ctx.extensionUri, target));
    const p = this.attach(panel, session);
    void this.persist(session);
    return p;
  }

  /** The first panel opens beside the editor; later ones join the last-active PruneLens panel's column. */
  private newPanelColumn(): vscode.ViewColumn {
    const columns = [...this.recent].reverse().map((id) => this.open.get(id)?.panel.viewColumn);
    return reuseColumn(columns) ?? vscode.ViewColumn.Beside;
  }

  private attach(panel: vscode.WebviewPanel, session: Session): InspectorPanel {
    panel.iconPath = vscode.Uri.joinPath(this.ctx.extensionUri, 'media', 'prunelens-activity.svg');
    const p = new InspectorPanel(panel, session, this.ctx.extensionUri, this.log, {
      locked: (x) => {
        this.touch(x.session.id);
        this.changed.fire({ session: x.session, reason: 'lock' });
      },
      changed: (x) => this.changed.fire({ session: x.session, reason: 'data' }),
      focused: (x) => {
        this.touch(x.session.id);
        this.changed.fire({ session: x.session, reason: 'focus' });
      },
      disposed: (x) => {
        this.open.delete(x.session.id);
        this.recent = this.recent.filter((id) => id !== x.session.id);
        this.changed.fire({ session: null, reason: 'list' });
      },
    });
    this.open.set(session.id, p);
    this.touch(session.id);
    this.changed.fire({ session, reason: 'list' });
    void this.makeThumbnail(session);
    return p;
  }

  private touch(id: string): void {
    this.recent = [...this.recent.filter((x) => x !== id), id];
  }

  /** The side view's thumbnail of the image (sharp, off the host thread); bundles without an image have none. */
  private async makeThumbnail(s: Session): Promise<void> {
    const path = s.analysis.image?.path;
    if (!path) return;
    s.thumbnail = await thumbnailDataUrl(path, s.request.maxMegapixels ?? undefined);
    if (!s.thumbnail) this.log.debug(`no thumbnail for ${s.title} (${path} is unreadable now)`);
    else if (this.open.has(s.id)) this.changed.fire({ session: s, reason: 'data' });
  }

  private async persist(s: Session): Promise<void> {
    const saved: SavedSession = { version: 1, id: s.id, title: s.title, createdAt: s.createdAt, request: s.request, context: s.outcome.context, analysis: s.analysis };
    try {
      await this.ctx.workspaceState.update(RECORDS_KEY, addRecord(this.ctx.workspaceState.get(RECORDS_KEY, []), { title: s.title, id: s.id, createdAt: s.createdAt }));
      const { bundleSaved } = await saveSession(this.storageRoot, saved, s.outcome.bundle);
      this.log.debug(`saved ${s.title} for window reloads${bundleSaved ? '' : ' (bundle too large: a reload re-runs the analysis)'}`);
    } catch (err) {
      this.log.warn(`could not save ${s.title} for window reloads: ${logText(err)}`);
    }
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, _state: unknown): Promise<void> {
    const record = findRecord(this.ctx.workspaceState.get(RECORDS_KEY, []), panel.title);
    const fail = (why: string): void => {
      this.log.warn(`could not restore panel "${panel.title}": ${why}`);
      panel.webview.options = { enableScripts: false, localResourceRoots: [] };
      panel.webview.html = messageHtml(panel.webview.cspSource, `PruneLens could not restore this analysis (${why}). Close this tab and run "Analyze Visual Tokens" again.`);
    };
    if (!record) return fail('it was not saved');
    const loaded = await loadSession(this.storageRoot, record.id);
    if (!loaded) return fail('its saved copy is gone');
    const { saved, bundle } = loaded;
    let outcome: AnalysisOutcome | undefined;
    if (bundle) {
      outcome = outcomeFromSaved(saved, bundle);
      this.log.info(`restored ${saved.title} from the saved analysis and bundle`);
    } else {
      this.log.info(`restoring ${saved.title}: no saved bundle, re-running the analysis`);
      outcome = await this.analyzer.run(saved.request, vscode.ProgressLocation.Window);
      if (!outcome) return fail(`re-running the analysis of ${basename(saved.request.image ?? saved.request.bundlePath ?? '')} failed`);
    }
    this.attach(panel, new Session(saved.id, panel.title, saved.request, outcome, saved.createdAt, this.cache, this.execute));
  }

  /** Removes saved analyses of closed panels after a while (other windows' panels are younger than that). */
  async cleanStorage(): Promise<void> {
    const keep = new Set(validRecords(this.ctx.workspaceState.get(RECORDS_KEY, [])).map((r) => r.id));
    for (const s of this.sessions()) keep.add(s.id);
    const removed = await pruneSessions(this.storageRoot, keep, MAX_AGE_MS);
    if (removed.length > 0) this.log.debug(`removed ${removed.length} old saved analyses`);
  }

  focus(id: string): void {
    const p = this.open.get(id);
    if (!p) return;
    this.touch(id);
    p.panel.reveal(undefined, false);
    this.changed.fire({ session: p.session, reason: 'focus' });
  }

  /** A lock from the side view: to the panel and back to the view. */
  lock(id: string, index: number | null): void {
    const p = this.open.get(id);
    if (!p) return;
    p.lock(index);
    this.changed.fire({ session: p.session, reason: 'lock' });
  }

  dispose(): void {
    this.changed.dispose();
    for (const p of this.open.values()) p.panel.dispose();
  }
}

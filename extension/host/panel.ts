/**
 * One inspector panel: a webview showing one Session. Loads dist/webview.js under a strict CSP, answers the
 * ready handshake with the analysis (scores and image as ArrayBuffers), validates every inbound message,
 * and runs budget re-runs through a debounced queue.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisEntry } from '../core/analysis.ts';
import { readCodebook, withCodebook } from '../core/analyze/inputs.ts';
import { InputError } from '../core/errors.ts';
import { sha256File } from '../core/runtime/cache.ts';
import { sniffImageMime } from '../core/report/html.ts';
import {
  PROTOCOL_VERSION,
  packAnalysis,
  packVector,
  validateWebviewMessage,
  type ExportFormat,
  type HostToWebview,
  type ImagePayload,
  type WebviewToHost,
} from '../protocol.ts';
import { isCancellation, logText, userMessage } from './errors.ts';
import { assetRoots, webviewPage } from './resources.ts';
import { RerunQueue } from './rerun-queue.ts';
import type { Session } from './session.ts';

export const PANEL_VIEW_TYPE = 'prunelens.inspector';
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
export const CODEBOOK_FILTERS = { 'Codebook (.npy, .npz)': ['npy', 'npz'] };

export interface PanelEvents {
  locked(panel: InspectorPanel, index: number | null, method: string | null): void;
  changed(panel: InspectorPanel): void;
  focused(panel: InspectorPanel): void;
  disposed(panel: InspectorPanel): void;
}

/** Options for a panel showing `target` (an image or bundle path): its folder is the only extra resource root. */
export function panelOptions(extensionUri: vscode.Uri, target: string | null): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  const roots = assetRoots(extensionUri);
  if (target) roots.push(vscode.Uri.file(dirname(target)));
  return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: roots };
}

/** An entry for postMessage: its scores travel as an ArrayBuffer, not a JSON number array. */
function packEntry(entry: AnalysisEntry): { entry: AnalysisEntry; scores: ArrayBuffer | null } {
  if (entry.status !== 'ok' || !entry.display.scores) return { entry, scores: null };
  return { entry: { ...entry, display: { ...entry.display, scores: null } }, scores: packVector(entry.display.scores) };
}

export class InspectorPanel {
  private readonly queue: RerunQueue<{ entry: AnalysisEntry }>;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly session: Session,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly events: PanelEvents,
  ) {
    const target = session.request.image ?? session.request.bundlePath;
    panel.webview.options = panelOptions(extensionUri, target);
    panel.webview.html = webviewPage(panel.webview, extensionUri, 'webview.js', ['webview.css'], panel.title);
    this.queue = new RerunQueue({
      run: async (job, signal) => {
        const t0 = performance.now();
        const r = await session.runAt(job.method, job.budget, signal);
        const took = r.entry.status === 'ok' ? ` (method ${r.entry.time_ms} ms)` : '';
        this.log.info(`${session.title}: re-ran ${job.method} at budget ${job.budget} in ${Math.round(performance.now() - t0)} ms${took}`);
        return r;
      },
      done: (job, r) => {
        if (r.entry.status !== 'ok') {
          this.post({ type: 'requestFailed', requestId: job.requestId, message: r.entry.reason });
        } else {
          const packed = packEntry(r.entry);
          this.post({ type: 'entry', requestId: job.requestId, budget: job.budget, entry: packed.entry, scores: packed.scores });
        }
        this.events.changed(this);
      },
      failed: (job, err) => {
        this.log.error(`${session.title}: re-run of ${job.method} at budget ${job.budget} failed: ${logText(err)}`);
        this.post({ type: 'requestFailed', requestId: job.requestId, message: userMessage(err, `re-run ${job.method}`) });
      },
      cancelled: (job) => this.post({ type: 'requestCancelled', requestId: job.requestId }),
    });
    panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m));
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) this.events.focused(this);
    });
    panel.onDidDispose(() => {
      this.disposed = true;
      this.queue.dispose();
      this.events.disposed(this);
    });
  }

  post(m: HostToWebview): void {
    if (this.disposed) return;
    void this.panel.webview.postMessage(m).then(undefined, (err: unknown) => this.log.warn(`post to ${this.session.title} failed: ${logText(err)}`));
  }

  /** Lock (or unlock) a token in the panel, e.g. from the side view. */
  lock(index: number | null): void {
    this.session.locked = index;
    this.post({ type: 'lockToken', index });
  }

  private receive(raw: unknown): void {
    const v = validateWebviewMessage(raw);
    if (!v.ok) {
      this.log.warn(`${this.session.title}: ignored an invalid panel message (${v.reason})`);
      return;
    }
    void this.handle(v.message).catch((err: unknown) => this.log.error(`${this.session.title}: ${v.message.type} failed: ${logText(err)}`));
  }

  private async handle(m: WebviewToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.sendInit();
        return;
      case 'rerun':
        this.queue.request({ requestId: m.requestId, method: m.method, budget: m.budget });
        return;
      case 'cancel':
        this.queue.cancel(m.requestId);
        return;
      case 'budget':
        // Ranked methods re-rank in the webview without asking the host: this keeps the side view's
        // decisions at the budget the user sees.
        if (this.session.setPanelBudget(m.budget)) this.events.changed(this);
        return;
      case 'tokenLocked':
        this.session.locked = m.index;
        this.events.locked(this, m.index, m.method);
        return;
      case 'export':
        await this.exportFile(m.requestId, m.format, m.fileName, m.data);
        return;
      case 'loadCodebook':
        await this.loadCodebook(m.requestId);
        return;
      case 'log': {
        const line = `${this.session.title} [webview] ${m.message}`;
        if (m.level === 'error') this.log.error(line);
        else if (m.level === 'warn') this.log.warn(line);
        else this.log.info(line);
        return;
      }
    }
  }

  private async imagePayload(): Promise<ImagePayload | null> {
    const path = this.session.analysis.image?.path;
    if (!path) return null;
    try {
      const bytes = await readFile(path);
      if (bytes.byteLength > MAX_IMAGE_BYTES) {
        this.log.warn(`${this.session.title}: ${path} is over ${MAX_IMAGE_BYTES >> 20} MiB; the panel shows the token grid without it`);
        return null;
      }
      const mime = sniffImageMime(bytes);
      if (!mime) return null;
      return { mime, bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer };
    } catch (err) {
      this.log.warn(`${this.session.title}: cannot read ${path} for display (${(err as NodeJS.ErrnoException).code ?? logText(err)}); showing the grid without it`);
      return null;
    }
  }

  private async sendInit(): Promise<void> {
    const { analysis, scores } = packAnalysis(this.session.analysis);
    const image = await this.imagePayload();
    this.post({ type: 'init', protocol: PROTOCOL_VERSION, analysis, scores, image, capabilities: { rerun: true, loadCodebook: true, save: true } });
  }

  private defaultFolder(): vscode.Uri | undefined {
    const target = this.session.request.image ?? this.session.request.bundlePath;
    if (target) return vscode.Uri.file(dirname(target));
    return vscode.workspace.workspaceFolders?.[0]?.uri;
  }

  private async exportFile(requestId: number, format: ExportFormat, fileName: string, data: ArrayBuffer): Promise<void> {
    const folder = this.defaultFolder();
    const filters: Record<ExportFormat, Record<string, string[]>> = { png: { 'PNG image': ['png'] }, svg: { 'SVG image': ['svg'] }, json: { JSON: ['json'] } };
    const uri = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, fileName) : undefined, filters: filters[format], title: `Export ${format.toUpperCase()}` });
    if (!uri) {
      this.post({ type: 'exported', requestId, path: null });
      return;
    }
    try {
      await vscode.workspace.fs.writeFile(uri, new Uint8Array(data));
      this.log.info(`${this.session.title}: exported ${uri.fsPath} (${data.byteLength} bytes)`);
      this.post({ type: 'exported', requestId, path: uri.fsPath });
    } catch (err) {
      this.log.error(`export to ${uri.fsPath} failed: ${logText(err)}`);
      void vscode.window.showErrorMessage(userMessage(err, `write ${basename(uri.fsPath)}`));
      this.post({ type: 'exported', requestId, path: null });
    }
  }

  /** "Load codebook…" in the panel: pick a file, then apply it. */
  private async loadCodebook(requestId: number): Promise<void> {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: CODEBOOK_FILTERS, title: 'Load a redundancy codebook', defaultUri: this.defaultFolder() });
    const file = picked?.[0];
    if (!file) {
      this.post({ type: 'requestCancelled', requestId });
      return;
    }
    const r = await this.applyCodebook(file.fsPath, requestId);
    if (!r.ok) void vscode.window.showErrorMessage(r.message);
  }

  /**
   * Adds the codebook at `path` to this analysis and re-runs the codebook method with it; the panel gets
   * the new entry (or the failure) under `requestId` (0: not asked for by the panel, e.g. the command).
   */
  async applyCodebook(path: string, requestId = 0): Promise<{ ok: true; kept: number } | { ok: false; message: string }> {
    const name = basename(path);
    try {
      let bundle;
      try {
        bundle = withCodebook(this.session.outcome.bundle, readCodebook(path));
      } catch (err) {
        // Name the file: "Array "codebook" has width 512 but "features" has width 1024" alone does not say which.
        if (err instanceof InputError) throw new InputError(`Codebook ${name} does not fit this analysis: ${err.message}`);
        throw err;
      }
      const sha = await sha256File(path);
      const r = await this.session.withBundle(bundle, `codebook:${sha}`, 'codebook');
      this.log.info(`${this.session.title}: codebook ${path} loaded; codebook ${r.entry.status === 'ok' ? `kept ${r.entry.keep.length}` : `${r.entry.status}: ${r.entry.reason}`}`);
      if (r.entry.status !== 'ok') {
        const message = `Codebook ${name} loaded, but the codebook method did not run: ${r.entry.reason}`;
        this.post({ type: 'requestFailed', requestId, message });
        return { ok: false, message };
      }
      const packed = packEntry(r.entry);
      this.post({ type: 'entry', requestId, budget: this.session.budget, entry: packed.entry, scores: packed.scores });
      this.events.changed(this);
      return { ok: true, kept: r.entry.keep.length };
    } catch (err) {
      if (isCancellation(err)) {
        this.post({ type: 'requestCancelled', requestId });
        return { ok: false, message: 'Loading the codebook was cancelled.' };
      }
      this.log.error(`${this.session.title}: loading codebook ${path} failed: ${logText(err)}`);
      const message = userMessage(err, `load ${name}`);
      this.post({ type: 'requestFailed', requestId, message });
      return { ok: false, message };
    }
  }
}

/** A panel that could not be restored: a static page that says why (no scripts). */
export function messageHtml(cspSource: string, text: string): string {
  const esc = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource}"><title>PruneLens</title></head><body><p role="alert">${esc}</p></body></html>`;
}


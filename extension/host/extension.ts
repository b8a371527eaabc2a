/**
 * Activation: the output log, the runtime worker (started on first encode), the analyzer, the inspector
 * panels with their serializer, the Decisions side view, and the commands.
 */
import * as vscode from 'vscode';
import { AnalysisCache } from '../core/analyze/cache.ts';
import { defaultPruneWorkerEntry, PruneWorker } from '../core/analyze/prune-worker.ts';
import { WorkerClient } from '../core/runtime/worker/client.ts';
import { Analyzer } from './analyzer.ts';
import { registerCommands } from './commands.ts';
import { DECISIONS_VIEW_ID, DecisionsView } from './decisions-view.ts';
import { logText } from './errors.ts';
import { PANEL_VIEW_TYPE } from './panel.ts';
import { Panels } from './panels.ts';

let worker: WorkerClient | null = null;
let methodsWorker: PruneWorker | null = null;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('PruneLens', { log: true });
  const cache = new AnalysisCache();
  const getWorker = (): WorkerClient => {
    worker ??= new WorkerClient({ onLog: (line) => log.trace(`[worker] ${line}`) });
    return worker;
  };
  const analyzer = new Analyzer(log, cache, getWorker);
  // Method re-runs and counterfactual searches run in a child process (same kernels as this thread), never on
  // the extension host's thread.
  const entry = defaultPruneWorkerEntry();
  methodsWorker = entry ? new PruneWorker(entry, (line) => log.info(line)) : null;
  if (!methodsWorker) log.warn('dist/methods-worker.cjs not found: method re-runs run on the extension host thread');
  const panels = new Panels(context, log, cache, analyzer, methodsWorker?.execute);
  const decisions = new DecisionsView(context.extensionUri, panels, log);
  context.subscriptions.push(
    log,
    panels,
    decisions,
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, panels),
    vscode.window.registerWebviewViewProvider(DECISIONS_VIEW_ID, decisions),
    ...registerCommands(context, analyzer, panels),
  );
  log.info(`PruneLens ${String(context.extension.packageJSON.version)} activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'restricted: model, provider and codebook settings come from user settings only'})`);
  void panels.cleanStorage().catch((err: unknown) => log.warn(`cleaning saved analyses failed: ${logText(err)}`));
}

export async function deactivate(): Promise<void> {
  const w = worker;
  const m = methodsWorker;
  worker = null;
  methodsWorker = null;
  await Promise.all([w?.dispose(), m?.dispose()]);
}

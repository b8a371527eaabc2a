/** The commands: Analyze Visual Tokens (Explorer, image preview, palette), Open Token Bundle, Load Codebook. */
import { basename, extname } from 'node:path';
import * as vscode from 'vscode';
import type { Analyzer } from './analyzer.ts';
import { currentSettings, workspaceBaseDir } from './config.ts';
import { CODEBOOK_FILTERS } from './panel.ts';
import type { Panels } from './panels.ts';
import { questionHistory, rememberQuestion } from './questions.ts';
import { toRequest } from './settings.ts';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp'];
const QUESTIONS_KEY = 'prunelens.questions';
const IMAGE_PREVIEW = 'imagePreview.previewEditor';

/** The image open in VS Code's image preview (the active tab), if any. */
function activePreviewUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType === IMAGE_PREVIEW) return input.uri;
  return undefined;
}

async function pickFile(title: string, filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters, title, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
  return picked?.[0];
}

/** Local file path of a target, or a message for the user. */
function localPath(uri: vscode.Uri, kinds: readonly string[], what: string): { path: string } | { error: string } {
  if (uri.scheme !== 'file') return { error: `PruneLens analyses files on disk; ${uri.toString(true)} is not one. Save it to a folder first.` };
  const ext = extname(uri.fsPath).slice(1).toLowerCase();
  if (!kinds.includes(ext)) return { error: `${basename(uri.fsPath)} is not ${what} (${kinds.map((k) => `.${k}`).join(', ')}).` };
  return { path: uri.fsPath };
}

interface QuestionItem extends vscode.QuickPickItem {
  question: string;
}

/** The question box: recent questions, or type a new one; Enter on "No question" = question-agnostic. */
async function askQuestion(ctx: vscode.ExtensionContext, name: string): Promise<string | undefined> {
  const history = questionHistory(ctx.globalState.get(QUESTIONS_KEY));
  const none: QuestionItem = { label: '$(circle-slash) No question', description: 'question-agnostic analysis', question: '', alwaysShow: true };
  const recent: QuestionItem[] = history.map((q) => ({ label: q, description: 'recent', question: q }));
  const qp = vscode.window.createQuickPick<QuestionItem>();
  qp.title = `PruneLens: analyse ${name}`;
  qp.placeholder = 'Ask about the image (e.g. "what colour is the car?"), pick a recent question, or leave empty';
  qp.matchOnDescription = false;
  qp.items = [none, ...recent];
  qp.onDidChangeValue((v) => {
    const typed = v.trim();
    qp.items = typed && !history.includes(typed) ? [{ label: typed, description: 'ask this', question: typed, alwaysShow: true }, none, ...recent] : [none, ...recent];
  });
  const answer = await new Promise<string | undefined>((resolve) => {
    let settled = false;
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0] ?? qp.activeItems[0];
      settled = true;
      resolve(item ? item.question : qp.value.trim());
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!settled) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
  if (answer !== undefined && answer !== '') await ctx.globalState.update(QUESTIONS_KEY, rememberQuestion(history, answer));
  return answer;
}

export function registerCommands(ctx: vscode.ExtensionContext, analyzer: Analyzer, panels: Panels): vscode.Disposable[] {
  const analyzeImage = async (arg?: unknown): Promise<void> => {
    const uri = (arg instanceof vscode.Uri ? arg : undefined) ?? activePreviewUri() ?? (await pickFile('Analyze Visual Tokens: choose an image', { Images: IMAGE_EXTENSIONS }));
    if (!uri) return;
    const target = localPath(uri, IMAGE_EXTENSIONS, 'an image PruneLens reads');
    if ('error' in target) return void vscode.window.showErrorMessage(target.error);
    const question = await askQuestion(ctx, basename(target.path));
    if (question === undefined) return;
    const request = toRequest(currentSettings(), { kind: 'image', path: target.path, question, baseDir: workspaceBaseDir() });
    const outcome = await analyzer.run(request);
    if (outcome) panels.show(request, outcome);
  };

  const openBundle = async (arg?: unknown): Promise<void> => {
    const uri = (arg instanceof vscode.Uri ? arg : undefined) ?? (await pickFile('PruneLens: open a token bundle', { 'Token bundles': ['npz'] }));
    if (!uri) return;
    const target = localPath(uri, ['npz'], 'a token bundle');
    if ('error' in target) return void vscode.window.showErrorMessage(target.error);
    // A bundle's text arrays are fixed when it is dumped, so there is no question to ask here.
    const request = toRequest(currentSettings(), { kind: 'bundle', path: target.path, question: '', baseDir: workspaceBaseDir() });
    const outcome = await analyzer.run(request);
    if (outcome) panels.show(request, outcome);
  };

  /** Load Codebook: adds a codebook to the panel in front (or the only one) and re-runs the codebook method. */
  const loadCodebook = async (arg?: unknown): Promise<void> => {
    const only = panels.sessions().length === 1 ? panels.panel(panels.sessions()[0].id) : undefined;
    const target = panels.active ?? only;
    if (!target) {
      void vscode.window.showErrorMessage('PruneLens: open an analysis first ("Analyze Visual Tokens" or "Open Token Bundle"), then load a codebook for it.');
      return;
    }
    const uri = (arg instanceof vscode.Uri ? arg : undefined) ?? (await pickFile(`PruneLens: load a codebook for ${target.session.title}`, CODEBOOK_FILTERS));
    if (!uri) return;
    const file = localPath(uri, ['npy', 'npz'], 'a codebook');
    if ('error' in file) return void vscode.window.showErrorMessage(file.error);
    const r = await target.applyCodebook(file.path);
    if (!r.ok) return void vscode.window.showErrorMessage(r.message);
    void vscode.window.showInformationMessage(
      `PruneLens: codebook ${basename(file.path)} loaded for ${target.session.title}; the codebook method keeps ${r.kept} of ${target.session.n} tokens. Set prunelens.codebookPath to use it in every analysis.`,
    );
  };

  return [
    vscode.commands.registerCommand('prunelens.analyzeImage', analyzeImage),
    vscode.commands.registerCommand('prunelens.openBundle', openBundle),
    vscode.commands.registerCommand('prunelens.loadCodebook', loadCodebook),
  ];
}

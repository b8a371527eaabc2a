import * as vscode from 'vscode';

/** Activation: register commands. The panels behind them arrive with the inspector issue. */
export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('PruneLens');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('prunelens.analyzeImage', async (uri?: vscode.Uri) => {
      const target = uri ?? (await pickFile({ Images: ['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp'] }));
      if (!target) return;
      output.appendLine(`analyze requested: ${target.fsPath}`);
      void vscode.window.showInformationMessage('PruneLens: the inspector panel is not built yet; use `prunelens analyze` from a terminal.');
    }),
    vscode.commands.registerCommand('prunelens.openBundle', async (uri?: vscode.Uri) => {
      const target = uri ?? (await pickFile({ 'Token bundles': ['npz'] }));
      if (!target) return;
      output.appendLine(`open bundle requested: ${target.fsPath}`);
      void vscode.window.showInformationMessage('PruneLens: the inspector panel is not built yet; use `prunelens prune` from a terminal.');
    }),
  );
}

async function pickFile(filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters });
  return picked?.[0];
}

export function deactivate(): void {}

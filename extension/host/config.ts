import * as vscode from 'vscode';
import { readSettings, type Settings } from './settings.ts';

/** Current settings, read through inspect() so untrusted workspace values of restricted keys are ignored. */
export function currentSettings(): Settings {
  const cfg = vscode.workspace.getConfiguration('prunelens');
  return readSettings((key) => cfg.inspect(key), vscode.workspace.isTrusted);
}

export function workspaceBaseDir(): string | null {
  const f = vscode.workspace.workspaceFolders?.[0];
  return f && f.uri.scheme === 'file' ? f.uri.fsPath : null;
}

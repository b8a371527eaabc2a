import * as vscode from 'vscode';
import { makeNonce, pageHtml } from './html.ts';

/** The extension's own webview assets: dist/ (bundles) and media/ (css). */
export function assetRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
}

/** A page loading dist/<script> and media/<styles> under the strict CSP of html.ts. */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, script: string, styles: readonly string[], title: string): string {
  const uri = (...p: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  return pageHtml({
    cspSource: webview.cspSource,
    script: uri('dist', script),
    styles: styles.map((s) => uri('media', s)),
    nonce: makeNonce(),
    title,
  });
}

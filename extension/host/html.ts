/** Webview page shells with a strict CSP (no inline code but the nonce'd bundle, no eval). Pure. */
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, (c) => ({ '+': '-', '/': '_', '=': '' })[c] ?? '');
}

export interface PageSpec {
  /** webview.cspSource */
  cspSource: string;
  /** asWebviewUri of the script and stylesheet. */
  script: string;
  styles: readonly string[];
  nonce: string;
  title: string;
}

const escapeAttr = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} blob: data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function pageHtml(p: PageSpec): string {
  const links = p.styles.map((s) => `<link rel="stylesheet" href="${escapeAttr(s)}">`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(p.cspSource, p.nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${links}
    <title>${escapeAttr(p.title)}</title>
  </head>
  <body>
    <script nonce="${escapeAttr(p.nonce)}" src="${escapeAttr(p.script)}"></script>
  </body>
</html>
`;
}

// A local HTTP server for one webview page as the host writes it (its CSP and nonce), with
// `acquireVsCodeApi` declared the way VS Code declares it (a top-level const in a nonce'd script).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pageHtml } from '../../extension/host/html.ts';

export interface PageSpec {
  /** URL path of the bundle (a key of `files`). */
  script: string;
  /** URL paths of the stylesheets, in order (keys of `files`). */
  styles: string[];
  /** Script run before the bundle: defines acquireVsCodeApi. */
  api: string;
  nonce: string;
  title: string;
  /** URL path → a file to send, or { css } text. Anything else is answered 204 (no 404 noise in the console). */
  files: Record<string, string | { css: string }>;
}

export interface PageServer {
  /** http://127.0.0.1:port — the page is at `${origin}/`. */
  origin: string;
  close(): Promise<void>;
}

export async function servePage(spec: PageSpec): Promise<PageServer> {
  let origin = '';
  const server = createServer((rq, res) => {
    const url = rq.url ?? '/';
    if (url === '/') {
      const page = pageHtml({ cspSource: origin, script: `${origin}${spec.script}`, styles: spec.styles.map((s) => `${origin}${s}`), nonce: spec.nonce, title: spec.title });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page.replace('<body>', `<body>\n    <script nonce="${spec.nonce}">${spec.api}</script>`));
      return;
    }
    const file = spec.files[url];
    if (file === undefined) {
      res.writeHead(204).end();
      return;
    }
    const css = typeof file === 'object' || file.endsWith('.css');
    res.writeHead(200, { 'content-type': css ? 'text/css' : 'text/javascript' });
    res.end(typeof file === 'object' ? file.css : readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise<void>((r) => server.close(() => r())) };
}

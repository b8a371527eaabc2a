/**
 * Standalone HTML report: the webview bundle, its stylesheet, the analysis and the image inlined into one
 * file that opens in any browser without a network or a server. Strict CSP: scripts and styles carry a
 * per-file nonce; no 'unsafe-inline', no eval. The data sits in a non-executed application/json block.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Analysis } from '../analysis.ts';
import { InputError } from '../errors.ts';

export interface ReportAssets {
  /** dist/webview.js */
  js: string;
  /** media/webview.css */
  css: string;
}

export type ReportImageMime = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/bmp';

/** Image type from its first bytes (the file extension is not trusted). */
export function sniffImageMime(b: Uint8Array): ReportImageMime | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'image/gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return 'image/webp';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  return null;
}

function candidateDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.PRUNELENS_DIST) dirs.push(resolve(process.env.PRUNELENS_DIST));
  // In the bundled CLI (dist/cli.cjs) __dirname is dist/; under tsx (ESM) it is undefined.
  if (typeof __dirname === 'string') dirs.push(__dirname, join(__dirname, '..', 'dist'));
  if (process.argv[1]) dirs.push(dirname(resolve(process.argv[1])));
  dirs.push(join(process.cwd(), 'dist'));
  return dirs;
}

/** Finds dist/webview.js and media/webview.css next to the running CLI (or the repo in development). */
export function locateReportAssets(): ReportAssets {
  for (const dir of candidateDirs()) {
    const js = join(dir, 'webview.js');
    if (!existsSync(js)) continue;
    for (const css of [join(dir, 'webview.css'), join(dir, '..', 'media', 'webview.css')]) {
      if (existsSync(css)) return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
    }
  }
  throw new InputError('The webview bundle (dist/webview.js with media/webview.css) was not found; run `npm run build` first.');
}

/** Text safe inside <script>/<style>: no early `</script`, no `<!--` (script data escape states). */
function inlineSafe(code: string): string {
  return code
    .replace(/\n\/\/# sourceMappingURL=.*$/gm, '')
    .replace(/<\/(script|style)/gi, '<\\/$1')
    .replace(/<!--/g, '<\\!--');
}

function jsonForScript(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderHtmlReport(analysis: Analysis, image: Uint8Array | null, assets: ReportAssets, nonce = randomBytes(18).toString('base64')): string {
  let embeddedImage: { mime: ReportImageMime; base64: string } | null = null;
  if (image) {
    const mime = sniffImageMime(image);
    if (!mime) throw new InputError('The report image is not a PNG, JPEG, GIF, WebP or BMP file.');
    embeddedImage = { mime, base64: Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('base64') };
  }
  const csp = [
    "default-src 'none'",
    'img-src data: blob:',
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "font-src 'none'",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = `PruneLens report — ${analysis.image ? basename(analysis.image.path) : 'token bundle'}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="dark light">',
    `<title>${escapeHtml(title)}</title>`,
    `<style nonce="${nonce}">${inlineSafe(assets.css)}</style>`,
    '</head>',
    '<body>',
    '<noscript>This PruneLens report needs JavaScript to draw its views.</noscript>',
    `<script type="application/json" id="prunelens-data">${jsonForScript({ analysis, image: embeddedImage })}</script>`,
    `<script nonce="${nonce}">${inlineSafe(assets.js)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes the self-contained report atomically (temp file + rename). */
export function writeHtmlReport(analysis: Analysis, image: Uint8Array | null, outPath: string, assets: ReportAssets = locateReportAssets()): void {
  const html = renderHtmlReport(analysis, image, assets);
  const tmp = `${outPath}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, outPath);
}

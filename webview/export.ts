/**
 * Export: PNG of a whole view (its canvases and SVG charts composed at their on-screen positions), SVG of
 * a chart (computed styles inlined so it renders the same outside the page), JSON of the analysis.
 * In a plain browser files are downloaded; inside VS Code the bytes go to the host, which saves them.
 */
import type { ExportFormat } from '../extension/protocol.ts';
import type { Host } from './host.ts';

const STYLE_PROPS = ['fill', 'stroke', 'stroke-width', 'opacity', 'fill-opacity', 'stroke-opacity', 'font-family', 'font-size', 'font-weight', 'text-anchor', 'dominant-baseline'];

/** A standalone SVG string: classes resolved to presentation attributes, since the stylesheet stays behind. */
export function svgToString(svg: SVGSVGElement, background: string | null): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const src = [svg, ...Array.from(svg.querySelectorAll('*'))];
  const dst = [clone, ...Array.from(clone.querySelectorAll('*'))];
  src.forEach((el, k) => {
    const cs = getComputedStyle(el);
    const target = dst[k];
    for (const p of STYLE_PROPS) {
      if (target.hasAttribute(p)) continue;
      const v = cs.getPropertyValue(p);
      if (v && v !== 'normal' && v !== 'auto') target.setAttribute(p, v);
    }
    target.removeAttribute('class');
  });
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  if (background) {
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    rect.setAttribute('width', '100%');
    rect.setAttribute('height', '100%');
    rect.setAttribute('fill', background);
    clone.insertBefore(rect, clone.firstChild);
  }
  return new XMLSerializer().serializeToString(clone);
}

function loadSvgImage(markup: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([markup], { type: 'image/svg+xml' }));
    const img = new Image();
    img.onload = () => {
      URL.revokeObjectURL(url);
      resolve(img);
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('SVG could not be rasterised'));
    };
    img.src = url;
  });
}

/** Greedy word wrap to a pixel width (canvas text does not wrap by itself). */
function wrap(ctx: CanvasRenderingContext2D, text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/)) {
      const next = line ? `${line} ${word}` : word;
      if (line && ctx.measureText(next).width > width) {
        out.push(line);
        line = word;
      } else line = next;
    }
    out.push(line);
  }
  return out;
}

const visible = (el: Element): boolean => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};

/** The view's canvases and charts drawn into one canvas, plus caption lines underneath. */
export async function composeView(root: HTMLElement, background: string, foreground: string, captions: string[]): Promise<HTMLCanvasElement> {
  const base = root.getBoundingClientRect();
  const items = Array.from(root.querySelectorAll('canvas, svg')).filter((el) => visible(el) && !(el instanceof SVGElement && el.ownerSVGElement));
  let right = 1;
  let bottom = 1;
  for (const el of [...items, ...Array.from(root.querySelectorAll('h2, h3, figcaption, .pl-status-line'))].filter(visible)) {
    const r = el.getBoundingClientRect();
    right = Math.max(right, r.right - base.left);
    bottom = Math.max(bottom, r.bottom - base.top);
  }
  const scale = Math.max(1, Math.min(2, window.devicePixelRatio || 1));
  const lineH = 16;
  const out = document.createElement('canvas');
  out.width = Math.ceil((right + 16) * scale);
  out.height = Math.ceil((bottom + 16 + captions.length * lineH) * scale);
  const ctx = out.getContext('2d');
  if (!ctx) throw new Error('canvas 2d context unavailable');
  ctx.scale(scale, scale);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, out.width, out.height);
  for (const el of items) {
    const r = el.getBoundingClientRect();
    const x = r.left - base.left + 8;
    const y = r.top - base.top + 8;
    if (el instanceof HTMLCanvasElement) ctx.drawImage(el, x, y, r.width, r.height);
    else if (el instanceof SVGSVGElement) {
      try {
        ctx.drawImage(await loadSvgImage(svgToString(el, null)), x, y, r.width, r.height);
      } catch {
        // A chart that cannot be rasterised is left out rather than failing the whole export.
      }
    }
  }
  ctx.fillStyle = foreground;
  ctx.font = '12px sans-serif';
  ctx.textBaseline = 'top';
  // Headings and captions, so the multiples and charts stay labelled outside the page.
  for (const el of Array.from(root.querySelectorAll('h2, h3, figcaption, .pl-status-line, .pl-stage-numbers'))) {
    if (!visible(el) || !(el instanceof HTMLElement)) continue;
    const r = el.getBoundingClientRect();
    wrap(ctx, el.innerText, Math.max(60, r.width)).forEach((line, k) => ctx.fillText(line, r.left - base.left + 8, r.top - base.top + 8 + k * 14));
  }
  captions.forEach((c, k) => ctx.fillText(c, 8, bottom + 12 + k * lineH));
  return out;
}

export function canvasToBlob(c: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}

/** A file name safe for the host's validator: letters, digits, dot, dash, underscore. */
export function safeFileName(stem: string, ext: ExportFormat): string {
  const clean = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100) || 'prunelens';
  return `${clean}.${ext}`;
}

/** Save bytes: through the host inside VS Code, as a download in a browser. */
export async function deliver(host: Host, format: ExportFormat, fileName: string, blob: Blob): Promise<void> {
  if (host.mode === 'vscode' && host.capabilities.save) {
    host.post({ type: 'export', requestId: host.nextRequestId(), format, fileName, data: await blob.arrayBuffer() });
    return;
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A token grid on a <canvas>: one panel per token group, each cell one token. Per-token colours are
 * written into a (stride × rows)-pixel ImageData and scaled up with smoothing off, so a full repaint is a
 * handful of drawImage calls whatever the token count (smooth at 2880 tokens).
 */
import type { Layout } from '../layout.ts';
import { tokenAt } from '../layout.ts';

export interface PanelGeom {
  x: number;
  y: number;
  cell: number;
}

const GAP = 14;

export class GridCanvas {
  readonly canvas: HTMLCanvasElement;
  readonly layout: Layout;
  geom: PanelGeom[] = [];
  width = 0;
  height = 0;
  private dpr = 1;
  private readonly labelH: number;
  private readonly offscreen: { canvas: HTMLCanvasElement; data: ImageData }[];

  constructor(layout: Layout, ariaLabel: string, className = 'pl-grid-canvas') {
    this.layout = layout;
    this.canvas = document.createElement('canvas');
    this.canvas.className = className;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', ariaLabel);
    this.labelH = layout.panels.length > 1 ? 16 : 0;
    this.offscreen = layout.panels.map((p) => {
      const c = document.createElement('canvas');
      c.width = p.stride;
      c.height = p.rows;
      const ctx = c.getContext('2d');
      if (!ctx) throw new Error('canvas 2d context unavailable');
      return { canvas: c, data: ctx.createImageData(p.stride, p.rows) };
    });
  }

  /** Lay the panels side by side at equal height, within maxW × maxH CSS pixels. */
  fit(maxW: number, maxH: number): void {
    const ps = this.layout.panels;
    const widthPerHeight = ps.reduce((acc, p) => acc + p.stride / p.rows, 0);
    const gaps = GAP * (ps.length - 1);
    const H = Math.max(20, Math.min(maxH - this.labelH, (maxW - gaps) / widthPerHeight));
    let x = 0;
    this.geom = ps.map((p) => {
      const cell = H / p.rows;
      const g = { x, y: this.labelH, cell };
      x += p.stride * cell + GAP;
      return g;
    });
    this.width = Math.ceil(x - GAP);
    this.height = Math.ceil(H + this.labelH);
    this.dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    this.canvas.width = Math.round(this.width * this.dpr);
    this.canvas.height = Math.round(this.height * this.dpr);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
  }

  /** Clear and return a context in CSS-pixel coordinates. */
  begin(background: string | null): CanvasRenderingContext2D {
    const ctx = this.ctx();
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.globalAlpha = 1;
    ctx.clearRect(0, 0, this.width, this.height);
    if (background) {
      ctx.fillStyle = background;
      ctx.fillRect(0, 0, this.width, this.height);
    }
    return ctx;
  }

  ctx(): CanvasRenderingContext2D {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2d context unavailable');
    return ctx;
  }

  /** The image under each panel, cropped to the panel's aspect (centre crop, as CLIP preprocessing does). */
  drawImage(img: CanvasImageSource & { width: number; height: number }, alpha = 1): void {
    const ctx = this.ctx();
    ctx.globalAlpha = alpha;
    ctx.imageSmoothingEnabled = true;
    this.layout.panels.forEach((p, pi) => {
      const g = this.geom[pi];
      const w = p.cols * g.cell;
      const h = p.rows * g.cell;
      const target = w / h;
      let sw = img.width;
      let sh = img.height;
      if (sw / sh > target) sw = sh * target;
      else sh = sw / target;
      ctx.drawImage(img, (img.width - sw) / 2, (img.height - sh) / 2, sw, sh, g.x, g.y, w, h);
    });
    ctx.globalAlpha = 1;
  }

  /** Per-token RGBA (n·4 bytes) drawn as cells. */
  drawCells(rgba: Uint8ClampedArray, alpha = 1): void {
    const ctx = this.ctx();
    ctx.globalAlpha = alpha;
    ctx.imageSmoothingEnabled = false;
    this.layout.panels.forEach((p, pi) => {
      const off = this.offscreen[pi];
      const px = off.data.data;
      px.fill(0);
      px.set(rgba.subarray(p.start * 4, (p.start + p.count) * 4));
      off.canvas.getContext('2d')?.putImageData(off.data, 0, 0);
      const g = this.geom[pi];
      ctx.drawImage(off.canvas, g.x, g.y, p.stride * g.cell, p.rows * g.cell);
    });
    ctx.globalAlpha = 1;
  }

  drawPanelLabels(color: string, font: string): void {
    if (this.layout.panels.length < 2) return;
    const ctx = this.ctx();
    ctx.fillStyle = color;
    ctx.font = font;
    ctx.textBaseline = 'top';
    this.layout.panels.forEach((p, pi) => {
      ctx.fillText(`${p.label} ${p.rows}×${p.cols}${p.newline ? ' + newline' : ''}`, this.geom[pi].x, 1);
    });
  }

  /** Faint cell borders when cells are large enough to read them. */
  drawGridLines(color: string, minCell = 9): void {
    const ctx = this.ctx();
    ctx.strokeStyle = color;
    ctx.lineWidth = 1 / this.dpr;
    ctx.beginPath();
    this.layout.panels.forEach((p, pi) => {
      const g = this.geom[pi];
      if (g.cell < minCell) return;
      for (let c = 0; c <= p.stride; c++) {
        ctx.moveTo(g.x + c * g.cell, g.y);
        ctx.lineTo(g.x + c * g.cell, g.y + p.rows * g.cell);
      }
      for (let r = 0; r <= p.rows; r++) {
        ctx.moveTo(g.x, g.y + r * g.cell);
        ctx.lineTo(g.x + p.stride * g.cell, g.y + r * g.cell);
      }
    });
    ctx.stroke();
  }

  cellRect(i: number): { x: number; y: number; size: number } {
    const pi = this.layout.panelOf[i];
    const g = this.geom[pi];
    return { x: g.x + this.layout.col[i] * g.cell, y: g.y + this.layout.row[i] * g.cell, size: g.cell };
  }

  centre(i: number): [number, number] {
    const r = this.cellRect(i);
    return [r.x + r.size / 2, r.y + r.size / 2];
  }

  outline(i: number, color: string, width: number, dashed = false): void {
    const ctx = this.ctx();
    const r = this.cellRect(i);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    if (dashed) ctx.setLineDash([3, 2]);
    const inset = width / 2;
    ctx.strokeRect(r.x + inset, r.y + inset, Math.max(1, r.size - width), Math.max(1, r.size - width));
    ctx.restore();
  }

  /** Token under a point in CSS pixels relative to the canvas, or null. */
  hit(x: number, y: number): number | null {
    for (let pi = 0; pi < this.geom.length; pi++) {
      const g = this.geom[pi];
      const p = this.layout.panels[pi];
      if (x < g.x || y < g.y || x >= g.x + p.stride * g.cell || y >= g.y + p.rows * g.cell) continue;
      return tokenAt(this.layout, pi, Math.floor((y - g.y) / g.cell), Math.floor((x - g.x) / g.cell));
    }
    return null;
  }

  /** Convert a pointer event to canvas CSS pixels. */
  eventPoint(e: MouseEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.width) / Math.max(1, r.width), ((e.clientY - r.top) * this.height) / Math.max(1, r.height)];
  }
}

/** Per-token RGBA from normalised values through a LUT; NaN/out-of-panel tokens are transparent. */
export function heatRgba(values: ArrayLike<number>, min: number, max: number, table: Uint8Array, out?: Uint8ClampedArray): Uint8ClampedArray {
  const n = values.length;
  const rgba = out && out.length === n * 4 ? out : new Uint8ClampedArray(n * 4);
  const span = max - min;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const o = i * 4;
    if (!Number.isFinite(v)) {
      rgba[o + 3] = 0;
      continue;
    }
    const t = span > 0 ? (v - min) / span : 0.5;
    const k = (t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255)) * 3;
    rgba[o] = table[k];
    rgba[o + 1] = table[k + 1];
    rgba[o + 2] = table[k + 2];
    rgba[o + 3] = 255;
  }
  return rgba;
}

/** Veil over tokens NOT in the mask (pruned), transparent over kept ones. */
export function veilRgba(mask: Uint8Array, rgb: readonly [number, number, number], alpha: number, out?: Uint8ClampedArray): Uint8ClampedArray {
  const n = mask.length;
  const rgba = out && out.length === n * 4 ? out : new Uint8ClampedArray(n * 4);
  const a = Math.round(alpha * 255);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    rgba[o] = rgb[0];
    rgba[o + 1] = rgb[1];
    rgba[o + 2] = rgb[2];
    rgba[o + 3] = mask[i] ? 0 : a;
  }
  return rgba;
}

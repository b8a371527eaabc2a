/** A colormap legend as a small SVG (exportable with the chart). */
import { s } from '../dom.ts';
import { lutCss, type Lut } from '../colormap.ts';
import { fmt } from '../dom.ts';

let gradientCounter = 0;

export function colorbar(table: Lut, min: number, max: number, title: string, width = 220): SVGSVGElement {
  const id = `pl-grad-${gradientCounter++}`;
  const stops = [];
  for (let k = 0; k <= 10; k++) stops.push(s('stop', { offset: `${k * 10}%`, 'stop-color': lutCss(table, k / 10) }));
  return s(
    'svg',
    { class: 'pl-legend', width, height: 44, viewBox: `0 0 ${width} 44`, role: 'img', 'aria-label': `${title}: colour scale from ${fmt(min)} to ${fmt(max)}` },
    s('defs', {}, s('linearGradient', { id, x1: '0', x2: '1', y1: '0', y2: '0' }, ...stops)),
    s('text', { x: 0, y: 11, class: 'pl-svg-text' }, title),
    s('rect', { x: 0, y: 16, width, height: 12, fill: `url(#${id})`, class: 'pl-legend-bar' }),
    s('text', { x: 0, y: 41, class: 'pl-svg-text pl-svg-small' }, fmt(min)),
    s('text', { x: width, y: 41, 'text-anchor': 'end', class: 'pl-svg-text pl-svg-small' }, fmt(max)),
  );
}

/** Discrete swatches (stages, counts). */
export function swatches(items: { color: string; label: string }[], title: string): SVGSVGElement {
  const rowH = 18;
  const height = 16 + items.length * rowH;
  return s(
    'svg',
    { class: 'pl-legend', width: 240, height, viewBox: `0 0 240 ${height}`, role: 'img', 'aria-label': title },
    s('text', { x: 0, y: 11, class: 'pl-svg-text' }, title),
    ...items.flatMap((it, k) => [
      s('rect', { x: 0, y: 16 + k * rowH + 3, width: 12, height: 12, fill: it.color, class: 'pl-swatch' }),
      s('text', { x: 18, y: 16 + k * rowH + 13, class: 'pl-svg-text pl-svg-small' }, it.label),
    ]),
  );
}

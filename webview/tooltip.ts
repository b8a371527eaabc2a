/** One floating tooltip for all canvases, positioned through the CSSOM (CSP forbids style attributes). */
export class Tooltip {
  readonly el: HTMLDivElement;

  constructor() {
    this.el = document.createElement('div');
    this.el.className = 'pl-tooltip';
    this.el.setAttribute('role', 'tooltip');
    this.el.id = 'pl-tooltip';
    this.el.hidden = true;
    document.body.append(this.el);
  }

  /** Show lines of text near page coordinates (clientX/Y), kept inside the window. */
  show(clientX: number, clientY: number, lines: string[]): void {
    this.el.replaceChildren(
      ...lines.map((l, k) => {
        const d = document.createElement('div');
        d.textContent = l;
        if (k === 0) d.className = 'pl-tooltip-title';
        return d;
      }),
    );
    this.el.hidden = false;
    const pad = 12;
    const w = this.el.offsetWidth;
    const h = this.el.offsetHeight;
    let x = clientX + pad;
    let y = clientY + pad;
    if (x + w > window.innerWidth - 4) x = Math.max(4, clientX - w - pad);
    if (y + h > window.innerHeight - 4) y = Math.max(4, clientY - h - pad);
    this.el.style.left = `${x + window.scrollX}px`;
    this.el.style.top = `${y + window.scrollY}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}

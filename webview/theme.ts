/**
 * Theme colours for canvas drawing, read from the same CSS variables the chrome uses (VS Code injects
 * --vscode-*; the standalone report defines them per theme class) and refreshed when the theme changes.
 */
import type { ThemeKind } from './state.ts';

export interface ThemeColors {
  kind: ThemeKind | 'high-contrast-light';
  background: string;
  foreground: string;
  muted: string;
  border: string;
  focus: string;
  accent: string;
  /** Colour laid over pruned tokens. */
  veil: [number, number, number];
  veilAlpha: number;
}

const THEME_CLASSES = ['vscode-dark', 'vscode-light', 'vscode-high-contrast', 'vscode-high-contrast-light'];

function parseColor(css: string): [number, number, number] | null {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = /^#([0-9a-f]{6})/i.exec(css.trim());
  if (h) return [parseInt(h[1].slice(0, 2), 16), parseInt(h[1].slice(2, 4), 16), parseInt(h[1].slice(4, 6), 16)];
  return null;
}

export function currentThemeKind(): ThemeColors['kind'] {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(): ThemeColors {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  const kind = currentThemeKind();
  const background = v('--pl-bg', kind === 'light' || kind === 'high-contrast-light' ? '#ffffff' : '#1e1e1e');
  const bgRgb = parseColor(getComputedStyle(document.body).backgroundColor) ?? parseColor(background) ?? [30, 30, 30];
  return {
    kind,
    background,
    foreground: v('--pl-fg', kind === 'light' ? '#333333' : '#cccccc'),
    muted: v('--pl-muted', '#888888'),
    border: v('--pl-border', '#555555'),
    focus: v('--pl-focus', '#007fd4'),
    accent: v('--pl-accent', '#ff4081'),
    veil: bgRgb,
    veilAlpha: kind.startsWith('high-contrast') ? 0.85 : 0.72,
  };
}

/** Standalone report only: set the theme class VS Code would set. */
export function applyStaticTheme(kind: ThemeKind): void {
  const b = document.body.classList;
  for (const c of THEME_CLASSES) b.remove(c);
  b.add(kind === 'dark' ? 'vscode-dark' : kind === 'light' ? 'vscode-light' : 'vscode-high-contrast');
}

export function onThemeChange(cb: () => void): MutationObserver {
  let last = document.body.className;
  const observer = new MutationObserver(() => {
    if (document.body.className !== last) {
      last = document.body.className;
      cb();
    }
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  return observer;
}

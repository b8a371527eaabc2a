/** What the panel's heading names: the image, or — for a token bundle — the bundle's file and that there is no image. */
import type { Analysis } from '../extension/protocol.ts';

const BUNDLE_FILE = /\.(npz|npy)$/i;

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

export interface PanelHeading {
  /** The file the panel is about (image or bundle). */
  name: string;
  /** Shown after the name when there is no image ("token bundle, no image"). */
  note: string | null;
}

export function panelHeading(analysis: Analysis): PanelHeading {
  if (analysis.image) return { name: fileName(analysis.image.path), note: null };
  const prov: { [key: string]: unknown } = analysis.model?.provenance ?? {};
  // bundle_path since the analysis carries it; older analyses only have the bundle's meta.source, which is the
  // bundle's file name unless its writer set another source (e.g. the image it was encoded from).
  const path = typeof prov.bundle_path === 'string' && prov.bundle_path !== '' ? prov.bundle_path : null;
  const source = path ?? (typeof prov.source === 'string' && BUNDLE_FILE.test(prov.source) ? prov.source : null);
  return { name: source ? fileName(source) : 'token bundle', note: source ? 'token bundle, no image' : 'no image' };
}

import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** ../shared beside the project root (read-only test material). */
export const SHARED = resolve(REPO, '..', 'shared');
export const ORACLE_DIR = resolve(SHARED, 'fixtures', 'oracle');
export const PHOTOS_DIR = resolve(SHARED, 'images', 'photos');

// Copies chosen end-to-end screenshots (test-output/e2e/, written by `npm run e2e`) to media/screenshots/
// for the README, re-encoded as palette PNGs to keep the repository and the VSIX small. The README's images
// come only from here: regenerate them with `npm run e2e && npm run readme:screenshots`, never by hand.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FROM = join(ROOT, 'test-output', 'e2e');
const TO = join(ROOT, 'media', 'screenshots');

// README name ← the scenario step it shows (file names are `<scenario>-<nn>-<step>.png`).
const CHOSEN = {
  'explorer-context-menu.png': /^s1-\d+-context-menu\.png$/,
  'inspector-heatmap.png': /^s1-\d+-panel\.png$/,
  'gprune-flow.png': /^s3-\d+-gprune-t[1-9]\d*\.png$/,
  'f3a-stages.png': /^s3-\d+-f3a-48\.png$/,
  'decisions.png': /^s4-\d+-decisions\.png$/,
  'image-preview-action.png': /^s5-\d+-image-preview\.png$/,
  'token-bundle.png': /^s8-\d+-bundle\.png$/,
};

if (!existsSync(FROM)) {
  console.error(`readme-screenshots: ${FROM} is missing: run \`npm run e2e\` first`);
  process.exit(1);
}
const shots = readdirSync(FROM);
const missing = Object.entries(CHOSEN).filter(([, re]) => !shots.some((f) => re.test(f)));
if (missing.length) {
  console.error(`readme-screenshots: no screenshot for ${missing.map(([n, re]) => `${n} (${re})`).join(', ')}: did every scenario pass?`);
  process.exit(1);
}
mkdirSync(TO, { recursive: true });
for (const [name, re] of Object.entries(CHOSEN)) {
  const src = shots.find((f) => re.test(f));
  const info = await sharp(join(FROM, src)).png({ palette: true, quality: 90, compressionLevel: 9, effort: 8 }).toFile(join(TO, name));
  console.log(`media/screenshots/${name} ← ${src} (${info.width}×${info.height}, ${(info.size / 1024).toFixed(0)} KiB)`);
}

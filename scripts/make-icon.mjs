// Renders media/icon.svg to media/icon.png (128×128, the Marketplace size) with sharp.
//   node scripts/make-icon.mjs
import sharp from 'sharp';

const info = await sharp('media/icon.svg', { density: 144 }).resize(128, 128).png({ compressionLevel: 9 }).toFile('media/icon.png');
console.log(`media/icon.png ${info.width}×${info.height}, ${info.size} bytes`);

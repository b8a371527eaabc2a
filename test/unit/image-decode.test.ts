// Decoding: the shared edge files, size limits checked from the header, clear errors, EXIF orientation
// left alone (as Pillow/transformers do), and Pillow's alpha-on-white and CMYK arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { InputError } from '../../extension/core/errors.ts';
import { cmykToRgb, overWhite, toRgb } from '../../extension/core/runtime/image/channels.ts';
import { decodeImage } from '../../extension/core/runtime/image/decode.ts';
import { PHOTOS_DIR, SHARED } from '../helpers/paths.ts';

const EDGE = join(SHARED, 'images', 'edge');

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof InputError && pattern.test(e.message) && !e.message.includes('\n'));
}

test('truncated.jpg gives a clear InputError, not a crash or a grey-filled image', async () => {
  await rejects(decodeImage(join(EDGE, 'truncated.jpg')), /^truncated\.jpg is truncated or corrupt/);
});

test('animated GIF: first frame only; smaller than a 32-px patch is refused', async () => {
  const gif = await decodeImage(join(EDGE, 'no_time_for_that_tiny.gif'), { minSide: 14 });
  assert.deepEqual([gif.width, gif.height, gif.rgb.length, gif.format], [14, 25, 14 * 25 * 3, 'gif']);
  await rejects(decodeImage(join(EDGE, 'no_time_for_that_tiny.gif'), { minSide: 32 }), /14×25 pixels, smaller than one 32-pixel patch/);
});

test('palette PNG expands to RGB; 10×10 is below the default 14-px patch', async () => {
  await rejects(decodeImage(join(EDGE, 'palette_color.png')), /smaller than one 14-pixel patch/);
  const p = await decodeImage(join(EDGE, 'palette_color.png'), { minSide: 1 });
  assert.equal(p.rgb.length, 300);
  assert.ok(new Set(Array.from({ length: 100 }, (_, i) => p.rgb.slice(i * 3, i * 3 + 3).join())).size > 1);
});

test('greyscale photos are replicated to three equal channels', async () => {
  const coins = await decodeImage(join(PHOTOS_DIR, 'coins.png'));
  assert.deepEqual([coins.width, coins.height], [384, 303]);
  for (let i = 0; i < coins.width * coins.height; i += 97) {
    assert.equal(coins.rgb[i * 3], coins.rgb[i * 3 + 1]);
    assert.equal(coins.rgb[i * 3], coins.rgb[i * 3 + 2]);
  }
});

test('the megapixel limit is checked from the header, before any pixel is decoded', async () => {
  // A PNG that only has a header claiming 20000×20000: decoding it would fail, the limit must fire first.
  const fake = Buffer.from(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer());
  fake.writeUInt32BE(20000, 16);
  fake.writeUInt32BE(20000, 20);
  fake.writeUInt32BE(crc32(fake.subarray(12, 29)), 29); // IHDR checksum over type + data
  await rejects(decodeImage(fake, {}, 'huge.png'), /^huge\.png is 20000×20000 \(400\.0 megapixels\), above the 50-megapixel limit/);
  await rejects(decodeImage(join(PHOTOS_DIR, 'astronaut.png'), { maxMegapixels: 0.2 }), /512×512 \(0\.3 megapixels\), above the 0\.2-megapixel limit/);
});

test('unreadable inputs: missing file, empty, not an image, RLE BMP', async () => {
  await rejects(decodeImage('/nonexistent/x.png'), /^Image file not found/);
  await rejects(decodeImage(new Uint8Array(0), {}, 'e.png'), /is empty/);
  await rejects(decodeImage(new TextEncoder().encode('hello, this is not an image at all'), {}, 'x.txt'), /not an image PruneLens can read/);
  const bmp = new Uint8Array(14 + 40 + 64);
  const dv = new DataView(bmp.buffer);
  bmp.set([0x42, 0x4d]);
  dv.setUint32(10, 14 + 40, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, 16, true);
  dv.setInt32(22, 16, true);
  dv.setUint16(28, 8, true);
  dv.setUint32(30, 1, true); // BI_RLE8
  await rejects(decodeImage(bmp, {}, 'rle.bmp'), /RLE-compressed BMP/);
});

test('EXIF orientation is not applied (Pillow open + convert and CLIPImageProcessor ignore it)', async () => {
  const raw = Buffer.alloc(40 * 20 * 3);
  for (let i = 0; i < 40 * 20; i++) raw[i * 3] = i % 40 < 20 ? 250 : 5; // left half red
  const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  assert.equal((await sharp(jpeg).metadata()).orientation, 6);
  const d = await decodeImage(jpeg, {}, 'rotated.jpg');
  assert.deepEqual([d.width, d.height], [40, 20]);
  assert.ok(d.rgb[(10 * 40 + 2) * 3] > 200 && d.rgb[(10 * 40 + 37) * 3] < 50, 'left stays left');
});

test('alpha composited on white with Pillow arithmetic; CMYK with Pillow formula', () => {
  assert.equal(overWhite(17, 0), 255);
  assert.equal(overWhite(17, 255), 17);
  // Pillow: alpha_composite(white, (0,0,0,128)) → 127; (200, a=1) → 255; (0, a=254) → 1.
  assert.equal(overWhite(0, 128), 127);
  assert.equal(overWhite(200, 1), 255);
  assert.equal(overWhite(0, 254), 1);
  assert.deepEqual([...toRgb(Uint8Array.from([9, 255, 9, 0]), 2, 2)], [9, 9, 9, 255, 255, 255]);
  assert.deepEqual([...cmykToRgb(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 255, 255, 128, 0, 0, 100, 100, 100, 100]), 4)], [255, 255, 255, 0, 0, 0, 0, 127, 255, 94, 94, 94]);
});

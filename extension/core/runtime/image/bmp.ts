// Windows BMP reader (sharp/libvips ship no BMP loader). Follows what Pillow's BMP plugin decodes:
// palette 1/4/8-bit, 16-bit 5-5-5 (or 5-6-5 bitfields), 24-bit, 32-bit (alpha only when a bitfield mask
// declares it), bottom-up or top-down rows. RLE-compressed files are refused with a clear message.
import { InputError } from '../../errors.ts';

export interface BmpHeader {
  width: number;
  height: number;
  bits: number;
  compression: number;
  topDown: boolean;
  headerSize: number;
  dataOffset: number;
}

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** Reads the header only, so size limits can be checked before any pixel is decoded. */
export function readBmpHeader(bytes: Uint8Array, name: string): BmpHeader {
  if (bytes.length < 26) throw new InputError(`${name} is a truncated BMP file (header cut off).`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (headerSize === 12) {
    return { width: dv.getUint16(18, true), height: dv.getUint16(20, true), bits: dv.getUint16(24, true), compression: 0, topDown: false, headerSize, dataOffset };
  }
  if (![40, 52, 56, 64, 108, 124].includes(headerSize) || bytes.length < 14 + 40) {
    throw new InputError(`${name} has an unsupported BMP header (size ${headerSize}).`);
  }
  const rawHeight = dv.getInt32(22, true);
  return {
    width: dv.getInt32(18, true),
    height: Math.abs(rawHeight),
    bits: dv.getUint16(28, true),
    compression: dv.getUint32(30, true),
    topDown: rawHeight < 0,
    headerSize,
    dataOffset,
  };
}

interface Layout {
  /** Bit masks of r, g, b, a (a = 0: no alpha). */
  masks: [number, number, number, number];
}

function bitfieldLayout(dv: DataView, h: BmpHeader, name: string): Layout {
  // A 40-byte header stores the three masks right after it; V4/V5 headers hold four masks inside.
  const at = 14 + 40;
  if (dv.byteLength < at + 12) throw new InputError(`${name} is a truncated BMP file (bit masks cut off).`);
  const r = dv.getUint32(at, true);
  const g = dv.getUint32(at + 4, true);
  const b = dv.getUint32(at + 8, true);
  const a = h.headerSize >= 56 && dv.byteLength >= at + 16 ? dv.getUint32(at + 12, true) : 0;
  return { masks: [r, g, b, h.bits === 32 ? a : 0] };
}

/** Scale a masked field to 0..255 the way Pillow's unpackers do (integer v·255 / max). */
function field(pixel: number, mask: number): number {
  if (mask === 0) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  const v = (pixel & mask) >>> shift;
  return max === 255 ? v : Math.floor((v * 255) / max);
}

/**
 * Decode a BMP to interleaved samples: 3 channels (RGB) or 4 (RGBA, only when the file declares an
 * alpha mask). Palette entries are expanded.
 */
export function decodeBmp(bytes: Uint8Array, name: string): { width: number; height: number; channels: 3 | 4; data: Uint8Array } {
  const h = readBmpHeader(bytes, name);
  const { width, height, bits } = h;
  if (h.compression === 1 || h.compression === 2) {
    throw new InputError(`${name} is an RLE-compressed BMP, which PruneLens does not read; save it as PNG.`);
  }
  if (h.compression !== 0 && h.compression !== 3) {
    throw new InputError(`${name} uses BMP compression ${h.compression}, which PruneLens does not read; save it as PNG.`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bits)) throw new InputError(`${name} has an unsupported BMP bit depth (${bits}).`);
  if (width <= 0 || height <= 0) throw new InputError(`${name} has an invalid BMP size ${width}×${height}.`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stride = (((width * bits + 31) >> 5) << 2) >>> 0;
  if (h.dataOffset + stride * height > bytes.length) throw new InputError(`${name} is a truncated BMP file (pixel data cut off).`);

  let palette: Uint8Array | undefined;
  if (bits <= 8) {
    const entry = h.headerSize === 12 ? 3 : 4;
    const declared = h.headerSize === 12 ? 0 : dv.getUint32(46, true);
    const colors = declared > 0 ? declared : 1 << bits;
    const at = 14 + h.headerSize + (h.compression === 3 ? 12 : 0);
    palette = new Uint8Array(256 * 3);
    for (let i = 0; i < Math.min(colors, 256) && at + i * entry + 2 < bytes.length; i++) {
      // Entries are stored B, G, R(, reserved).
      palette[i * 3] = bytes[at + i * entry + 2];
      palette[i * 3 + 1] = bytes[at + i * entry + 1];
      palette[i * 3 + 2] = bytes[at + i * entry];
    }
  }
  let masks: [number, number, number, number];
  if (h.compression === 3 && bits >= 16) masks = bitfieldLayout(dv, h, name).masks;
  else if (bits === 16) masks = [0x7c00, 0x3e0, 0x1f, 0];
  else masks = [0xff0000, 0xff00, 0xff, 0]; // 24/32-bit BI_RGB: the 4th byte is not alpha
  const channels: 3 | 4 = masks[3] !== 0 ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + (h.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const bitPos = x * bits;
        const byte = bytes[row + (bitPos >> 3)];
        const idx = bits === 8 ? byte : (byte >> (8 - bits - (bitPos & 7))) & ((1 << bits) - 1);
        out[o] = palette[idx * 3];
        out[o + 1] = palette[idx * 3 + 1];
        out[o + 2] = palette[idx * 3 + 2];
        continue;
      }
      let pixel: number;
      if (bits === 16) pixel = dv.getUint16(row + x * 2, true);
      else if (bits === 24) pixel = bytes[row + x * 3] | (bytes[row + x * 3 + 1] << 8) | (bytes[row + x * 3 + 2] << 16);
      else pixel = dv.getUint32(row + x * 4, true);
      out[o] = field(pixel, masks[0]);
      out[o + 1] = field(pixel, masks[1]);
      out[o + 2] = field(pixel, masks[2]);
      if (channels === 4) out[o + 3] = field(pixel, masks[3]);
    }
  }
  return { width, height, channels, data: out };
}

/** A small PNG of the analysed image for the Decisions view's list (a data URL; the view's CSP allows data:). */
import sharp from 'sharp';

export const THUMBNAIL_SIZE = 64;
const PREFIX = 'data:image/png;base64,';

/** The image scaled to fit THUMBNAIL_SIZE² (never enlarged), or null when it cannot be read. */
export async function thumbnailDataUrl(path: string, maxMegapixels = 50): Promise<string | null> {
  try {
    const png = await sharp(path, { limitInputPixels: Math.ceil(maxMegapixels * 1e6), pages: 1, failOn: 'truncated' })
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .png({ compressionLevel: 9 })
      .toBuffer();
    return PREFIX + png.toString('base64');
  } catch {
    return null;
  }
}


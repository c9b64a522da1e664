import sharp from 'sharp';
import { ReshootError } from '../util/errors.js';
import type { Frame, GrayFrame } from '../video/types.js';

/** Six-digit zero-padded file name: 000000.png. */
export function frameFileName(i: number): string {
  return `${String(i).padStart(6, '0')}.png`;
}

/** Writes RGB (3 channels) or gray (1) as PNG; low compression because these are scratch files. */
export async function writePng(path: string, image: Frame | GrayFrame): Promise<void> {
  const channels = image.data.length / (image.width * image.height);
  if (channels !== 1 && channels !== 3) throw new ReshootError(`cannot write ${path}: ${image.data.length} bytes for ${image.width}x${image.height}`);
  let img = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels },
  });
  // Without this sharp would save one-channel data as an RGB PNG.
  if (channels === 1) img = img.toColourspace('b-w');
  await img.png({ compressionLevel: 1 }).toFile(path);
}

/** Reads an image file (PNG, JPEG, ...) as RGB; alpha is dropped, gray is expanded. */
export async function readRgb(path: string): Promise<Frame> {
  let out;
  try {
    out = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ReshootError(`cannot read image ${path}: ${(err as Error).message}`, { cause: err });
  }
  const { width, height, channels } = out.info;
  if (channels !== 3) throw new ReshootError(`image ${path} has ${channels} channels after conversion, expected 3`);
  return { width, height, data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength) };
}

/** Runs `work` over items with at most `limit` in flight, keeping order of results. */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(runners);
  return results;
}

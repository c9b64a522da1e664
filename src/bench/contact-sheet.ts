/**
 * Contact sheets: rows of input | output | |output - input| (x4) at chosen
 * frames, as one PNG, so a person can see what the pipeline did. The
 * end-to-end bench writes one per clip next to its CSV.
 */
import sharp from 'sharp';
import { decodeFrames, probeVideo, type Frame } from '../video/index.js';

/** Evenly spread frame indices, ends included. */
export function sheetFrames(frameCount: number, n = 6): number[] {
  if (frameCount <= n) return Array.from({ length: frameCount }, (_, i) => i);
  return Array.from({ length: n }, (_, i) => Math.round((i * (frameCount - 1)) / (n - 1)));
}

async function pick(path: string, frames: number[]): Promise<Map<number, Frame>> {
  const want = new Set(frames);
  const got = new Map<number, Frame>();
  const info = await probeVideo(path);
  let t = 0;
  for await (const f of decodeFrames(path, { info })) {
    if (want.has(t)) got.set(t, f);
    t++;
  }
  return got;
}

/** |a - b| * gain, clipped: differences of a few levels become visible. */
export function diffImage(a: Frame, b: Frame, gain = 4): Frame {
  const data = new Uint8Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.abs(a.data[i] - b.data[i]) * gain);
  return { width: a.width, height: a.height, data };
}

/**
 * Writes `png`: one row per frame index, three tiles each (input, output,
 * amplified difference), each tile scaled to `tileWidth`.
 */
export async function writeContactSheet(input: string, output: string, png: string, frames: number[], opts: { tileWidth?: number; gain?: number } = {}): Promise<void> {
  const [a, b] = await Promise.all([pick(input, frames), pick(output, frames)]);
  const tileW = opts.tileWidth ?? 320;
  const tiles: { input: Buffer; top: number; left: number }[] = [];
  let top = 0;
  let tileH = 0;
  const gap = 4;
  for (const t of frames) {
    const fa = a.get(t);
    const fb = b.get(t);
    if (!fa || !fb) continue;
    const row = [fa, fb, fa.width === fb.width && fa.height === fb.height ? diffImage(fa, fb, opts.gain ?? 4) : fb];
    tileH = Math.round((tileW * fa.height) / fa.width);
    for (let k = 0; k < 3; k++) {
      const img = await sharp(Buffer.from(row[k].data.buffer, row[k].data.byteOffset, row[k].data.byteLength), { raw: { width: row[k].width, height: row[k].height, channels: 3 } })
        .resize(tileW, tileH)
        .png()
        .toBuffer();
      tiles.push({ input: img, top, left: k * (tileW + gap) });
    }
    top += tileH + gap;
  }
  await sharp({ create: { width: 3 * tileW + 2 * gap, height: Math.max(1, top - gap), channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(tiles)
    .png()
    .toFile(png);
}

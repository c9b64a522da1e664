/**
 * Several clips of the same size and length next to each other: one mp4
 * (frames stacked left to right) and one contact-sheet PNG (a row per chosen
 * frame, a column per clip). The demo shows the raw generator output next to
 * the pipeline's output this way.
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { decodeFrames, encodeFrames, probeVideo, type Frame, type VideoInfo } from '../video/index.js';

const GAP = 4;

async function sameShape(paths: string[]): Promise<VideoInfo[]> {
  if (paths.length === 0) throw new ReshootError('side by side needs at least one clip');
  const infos = await Promise.all(paths.map((p) => probeVideo(p)));
  const a = infos[0];
  infos.forEach((b, k) => {
    if (b.width !== a.width || b.height !== a.height || b.frameCount !== a.frameCount) {
      throw new ReshootError(`side by side: ${paths[k]} is ${b.width}x${b.height}, ${b.frameCount} frames; ${paths[0]} is ${a.width}x${a.height}, ${a.frameCount} frames`);
    }
  });
  return infos;
}

/** Frames placed left to right with a white gap of 4 px between them. */
export function hstack(frames: Frame[]): Frame {
  const h = frames[0].height;
  const width = frames.reduce((s, f) => s + f.width, 0) + GAP * (frames.length - 1);
  const data = new Uint8Array(width * h * 3).fill(255);
  let x0 = 0;
  for (const f of frames) {
    if (f.height !== h) throw new ReshootError(`hstack: heights differ (${f.height} vs ${h})`);
    for (let y = 0; y < h; y++) data.set(f.data.subarray(y * f.width * 3, (y + 1) * f.width * 3), (y * width + x0) * 3);
    x0 += f.width + GAP;
  }
  return { width, height: h, data };
}

/** Writes `out` (mp4): the clips decoded in lockstep and stacked left to right. */
export async function writeSideBySideVideo(paths: string[], out: string, opts: { crf?: number } = {}): Promise<void> {
  const infos = await sameShape(paths);
  const its = paths.map((p, k) => decodeFrames(p, { info: infos[k] })[Symbol.asyncIterator]());
  async function* frames(): AsyncGenerator<Frame> {
    try {
      for (;;) {
        const next = await Promise.all(its.map((it) => it.next()));
        if (next.some((n) => n.done)) return;
        yield hstack(next.map((n) => n.value as Frame));
      }
    } finally {
      await Promise.all(its.map((it) => it.return?.(undefined)));
    }
  }
  await encodeFrames(frames(), out, { fps: infos[0].fps, crf: opts.crf ?? 18, preset: 'veryfast', overwrite: true });
}

/** Writes `png`: one row per index in `frames`, one tile per clip, each tile `tileWidth` wide. */
export async function writeColumnsSheet(paths: string[], png: string, frames: number[], opts: { tileWidth?: number } = {}): Promise<void> {
  const infos = await sameShape(paths);
  const want = new Set(frames);
  const picked = await Promise.all(
    paths.map(async (p, k) => {
      const got = new Map<number, Frame>();
      let t = 0;
      for await (const f of decodeFrames(p, { info: infos[k] })) {
        if (want.has(t)) got.set(t, f);
        t++;
      }
      return got;
    }),
  );
  const tileW = opts.tileWidth ?? 320;
  const tileH = Math.round((tileW * infos[0].height) / infos[0].width);
  const tiles: { input: Buffer; top: number; left: number }[] = [];
  let top = 0;
  for (const t of frames) {
    if (!picked.every((m) => m.has(t))) continue;
    for (const [k, m] of picked.entries()) {
      const f = m.get(t)!;
      const img = await sharp(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), { raw: { width: f.width, height: f.height, channels: 3 } })
        .resize(tileW, tileH)
        .png()
        .toBuffer();
      tiles.push({ input: img, top, left: k * (tileW + GAP) });
    }
    top += tileH + GAP;
  }
  await sharp({ create: { width: paths.length * tileW + (paths.length - 1) * GAP, height: Math.max(1, top - GAP), channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(tiles)
    .png()
    .toBuffer()
    .then((buf) => writeFileAtomic(png, buf, { overwrite: true }));
}

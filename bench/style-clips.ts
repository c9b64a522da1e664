/**
 * The real clips of the style-flicker benches (bench/temporal-style-sweep.ts, bench/temporal-style-bands.ts):
 * vtest 0.. or Megamind 100.., scaled to `width`, and the same frames through a style: generator (a real
 * per-frame network), cached in the temp folder by style, clip, frame count and working size.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGenerator } from '../src/generate/index.js';
import { cacheDir } from '../src/util/paths.js';
import { decodeFrames, probeVideo, type Frame } from '../src/video/index.js';

export async function styledClip(clip: string, opts: { style: string; frames: number; width: number; genSize?: number }): Promise<{ clean: Frame[]; styled: Frame[]; width: number; height: number }> {
  if (clip !== 'vtest' && clip !== 'megamind') throw new Error(`--clips: vtest or megamind, not ${clip}`);
  const { style, frames: N, width: W, genSize } = opts;
  const path = cacheDir('datasets', clip === 'vtest' ? 'vtest.avi' : 'Megamind.avi');
  const info = await probeVideo(path);
  const H = Math.round((W * info.height) / info.width / 2) * 2;
  const clean: Frame[] = [];
  for await (const f of decodeFrames(path, { start: clip === 'megamind' ? 100 : 0, count: N, scale: { width: W, height: H } })) clean.push(f);
  const cache = join(tmpdir(), `reshoot-styled-${style}-${clip}-${N}-${genSize ?? 'default'}.bin`);
  let styled: Frame[];
  if (existsSync(cache)) {
    const b = readFileSync(cache);
    styled = clean.map((_, t) => ({ width: W, height: H, data: new Uint8Array(b.subarray(t * W * H * 3, (t + 1) * W * H * 3)) }));
  } else {
    const gen = await createGenerator(`style:${style}`, { style: { scope: 'frame', size: genSize } });
    try {
      styled = await gen.generate({ segmentIndex: 0, label: 'seg-0', frames: clean, plate: null, reference: clean[0], fps: { num: 10, den: 1 }, workDir: mkdtempSync(join(tmpdir(), 'st-')) });
    } finally {
      await gen.close();
    }
    writeFileSync(cache, Buffer.concat(styled.map((f) => Buffer.from(f.data))));
  }
  return { clean, styled, width: W, height: H };
}

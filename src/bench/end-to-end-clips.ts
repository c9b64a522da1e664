/**
 * Real-footage clips for the end-to-end checks, at any size: the ordinary
 * case (pedestrians through a handheld camera) and the three bad inputs the
 * pipeline must survive with its passthrough identity (issue 12): a clip that
 * is all cuts, a person who covers the whole frame, and no person at all.
 * Small sizes keep them usable in `npm test`; the bench uses larger ones.
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { datasetPath, fetchDatasets, getSynthPreset, synthesizeClip } from '../datasets/index.js';
import { decodeFrames, encodeFrames, probeVideo } from '../video/index.js';
import type { Frame } from '../video/types.js';

export interface ClipSize {
  width: number;
  height: number;
  frames: number;
}

export type BadInput = 'all-cuts' | 'full-frame-person' | 'no-person';
export const BAD_INPUTS: readonly BadInput[] = ['all-cuts', 'full-frame-person', 'no-person'];

/** vtest.avi's pedestrians through the `vtest-shake` camera, scaled so the frame shows the same view. */
export async function vtestShakeClip(out: string, size: ClipSize): Promise<string> {
  if (existsSync(out)) return out;
  const preset = getSynthPreset('vtest-shake');
  await synthesizeClip({ ...preset, width: size.width, height: size.height, frames: size.frames, sourceScale: (preset.sourceScale ?? 1) * (preset.width / size.width) }, out, { overwrite: true });
  return out;
}

/** Makes one of the bad inputs at `size` (cached at `out`). */
export async function badInputClip(kind: BadInput, out: string, size: ClipSize): Promise<string> {
  if (existsSync(out)) return out;
  if (kind === 'full-frame-person') {
    // basketball1.png (Middlebury): the player on the left, magnified 1.5x (at 320x240) around his chest so
    // that his head, torso and arms fill most of the frame (his mask: 27-30 % of it; closer, the pose model
    // loses him once his head leaves the frame).
    return stillThroughHandheld(out, size, { source: 'basketball1', sourceScale: 0.65 * (320 / size.width), anchor: { x: 115 - 319.5, y: 165 - 239.5 }, shakePx: 2, seed: 1201 });
  }
  // A building photograph: texture everywhere, nobody in it.
  if (kind === 'no-person') return stillThroughHandheld(out, size, { source: 'building', sourceScale: 1, shakePx: 4, seed: 1202 });
  // all-cuts: every frame from another shot, alternating pedestrians (vtest) and an animated film (Megamind).
  await fetchDatasets({ ids: ['vtest', 'megamind'] });
  const picks: { path: string; t: number }[] = [];
  for (let k = 0; k < size.frames; k++) picks.push(k % 2 === 0 ? { path: datasetPath('vtest'), t: 30 + 67 * (k >> 1) } : { path: datasetPath('megamind'), t: [10, 120, 170, 230, 60, 260, 140, 215][(k >> 1) % 8] });
  async function* frames(): AsyncGenerator<Frame> {
    for (const p of picks) yield await frameAt(p.path, p.t, size);
  }
  await encodeFrames(frames(), out, { fps: { num: 10, den: 1 }, crf: 4, preset: 'ultrafast' });
  return out;
}

/** A still photo (a dataset id) seen through a handheld camera at 10 fps. */
async function stillThroughHandheld(
  out: string,
  size: ClipSize,
  o: { source: string; sourceScale: number; anchor?: { x: number; y: number }; shakePx: number; seed: number },
): Promise<string> {
  await fetchDatasets({ ids: [o.source] });
  const shake = { translationRms: o.shakePx, angleRmsDeg: 0.1 * o.shakePx, scaleRms: 0.001 * o.shakePx, cutoffHz: 1.5 };
  const spec = { source: o.source, width: size.width, height: size.height, frames: size.frames, fps: { num: 10, den: 1 }, sourceScale: o.sourceScale, anchor: o.anchor, motion: { type: 'none' as const }, shake, seed: o.seed };
  await synthesizeClip(spec, out, { overwrite: true });
  return out;
}

async function frameAt(path: string, t: number, size: ClipSize): Promise<Frame> {
  const info = await probeVideo(path);
  for await (const f of decodeFrames(path, { info, start: Math.min(t, info.frameCount - 1), count: 1 })) {
    const data = await sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } }).resize(size.width, size.height, { fit: 'cover' }).raw().toBuffer();
    return { width: size.width, height: size.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  }
  throw new Error(`${path} has no frame ${t}`);
}

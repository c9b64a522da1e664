/**
 * Shots: hard-cut detection (ShotDetector, streaming) and detectShots on a
 * video file. A shot is frames [start, end); cuts are the first frames of
 * every shot but the first. See README.md in this folder.
 */
import { decodeFrames, probeVideo, type Frame, type VideoInfo } from '../video/index.js';
import { ShotDetector, resolveShotOptions, type ShotOptions, type ShotResult } from './detect.js';

export { ShotDetector, shotsFromCuts, validateShots, shotIndexAt, resolveShotOptions, type Shot, type ShotOptions, type ShotResult } from './detect.js';

/**
 * Cuts of a video file. ffmpeg decodes straight to the thumbnail size, so this
 * costs about a decode of the file and nothing per pixel here.
 */
export async function detectShots(input: string, opts: { info?: VideoInfo } & ShotOptions = {}): Promise<ShotResult> {
  const { info: given, ...shotOpts } = opts;
  const o = resolveShotOptions(shotOpts);
  const info = given ?? (await probeVideo(input));
  const s = Math.min(1, (2 * o.thumbnailSize) / Math.max(info.width, info.height));
  const scale = s < 1 ? { width: Math.max(2, Math.round(info.width * s)), height: Math.max(2, Math.round(info.height * s)) } : undefined;
  const det = new ShotDetector(o);
  for await (const f of decodeFrames(input, { info, ...(scale && { scale }) }) as AsyncIterable<Frame>) det.push(f);
  return det.result();
}

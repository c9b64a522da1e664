/**
 * Foot lock on video files: contacts from the driving pose, the ankle source
 * (driving pose, or poses re-detected on the clip being locked), the per-frame
 * correction, and the warp of the person layer (mask video) or whole frame.
 */
import { existsSync } from 'node:fs';
import { loadOpenCV } from '../cv/opencv.js';
import type { PoseTrack } from '../pose/types.js';
import { decodeFrames, encodeFrames, probeVideo } from '../video/index.js';
import type { Frame, GrayFrame, ProgressFn } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { assertCanWrite } from '../util/atomic.js';
import { detectContacts, type ContactOptions, type Contacts } from './contacts.js';
import { planFootLock, type LockOptions, type LockPlan } from './lock.js';
import { lockFrameSync } from './apply.js';

export type AnkleSource = 'driving' | 'redetect';

export interface FootLockVideoOptions {
  /** The driving pose track (poses.json of the input the clip was generated from). */
  poses: PoseTrack;
  /** Contacts to use; detected from `poses` when absent. */
  contacts?: Contacts;
  contactOptions?: ContactOptions;
  lock?: LockOptions;
  /** Where the ankles the lock holds come from. Default 'driving'. */
  ankles?: AnkleSource;
  /** For 'redetect': a pose track already detected on the input clip (else the pose estimator runs on it). */
  redetected?: PoseTrack;
  /** Person alpha video (same size and length): only the person moves. Without it the whole frame moves. */
  maskPath?: string;
  /** Background plate (image, same size) shown where the person moved away from; needs maskPath. */
  plate?: Frame;
  overwrite?: boolean;
  crf?: number;
  onProgress?: ProgressFn;
}

export interface FootLockVideoResult {
  contacts: Contacts;
  plan: LockPlan;
  /** The ankle track the lock held. */
  ankleTrack: PoseTrack;
  frames: number;
  /** Seconds spent in contact detection + lock planning, and in warping + compositing (decode/encode excluded). */
  planSeconds: number;
  warpSeconds: number;
}

/**
 * Poses re-detected on a clip with the pose stage's estimator. Throws a clear
 * error when the pose stage is not available in this build.
 */
export async function redetectPoses(path: string, onProgress?: ProgressFn): Promise<PoseTrack> {
  let pose: { trackPoses?: (p: string, o?: { onProgress?: ProgressFn }) => Promise<{ track: PoseTrack }> };
  try {
    pose = (await import('../pose/index.js')) as typeof pose;
  } catch (err) {
    throw new ReshootError(`--ankles redetect needs the pose stage (src/pose), which failed to load: ${(err as Error).message}`, { cause: err });
  }
  if (typeof pose.trackPoses !== 'function') {
    throw new ReshootError('--ankles redetect needs the pose estimator (trackPoses in src/pose), which this build does not have; use --ankles driving');
  }
  return (await pose.trackPoses(path, { onProgress })).track;
}

export async function footLockVideo(input: string, output: string, opts: FootLockVideoOptions): Promise<FootLockVideoResult> {
  if (!existsSync(input)) throw new ReshootError(`input ${input} not found`);
  assertCanWrite(output, { overwrite: opts.overwrite });
  const info = await probeVideo(input);
  const poses = opts.poses;
  if (poses.frames.length !== info.frameCount) {
    throw new ReshootError(`the pose track has ${poses.frames.length} frames but ${input} has ${info.frameCount}`);
  }
  if (poses.source.width !== info.width || poses.source.height !== info.height) {
    throw new ReshootError(`the pose track is for ${poses.source.width}x${poses.source.height} frames but ${input} is ${info.width}x${info.height}`);
  }
  const source = opts.ankles ?? 'driving';
  if (source !== 'driving' && source !== 'redetect') throw new ReshootError(`ankle source must be driving or redetect, got "${String(source)}"`);
  let maskInfo;
  if (opts.maskPath) {
    if (!existsSync(opts.maskPath)) throw new ReshootError(`mask video ${opts.maskPath} not found`);
    maskInfo = await probeVideo(opts.maskPath);
    if (maskInfo.width !== info.width || maskInfo.height !== info.height) {
      throw new ReshootError(`mask video is ${maskInfo.width}x${maskInfo.height} but ${input} is ${info.width}x${info.height}`);
    }
    if (maskInfo.frameCount < info.frameCount) {
      throw new ReshootError(`mask video has ${maskInfo.frameCount} frames but ${input} has ${info.frameCount}`);
    }
  }
  if (opts.plate && !opts.maskPath) throw new ReshootError('a plate needs a mask (--mask): without one the whole frame moves');
  if (opts.plate && (opts.plate.width !== info.width || opts.plate.height !== info.height)) {
    throw new ReshootError(`the plate is ${opts.plate.width}x${opts.plate.height} but ${input} is ${info.width}x${info.height}`);
  }
  const ankleTrack = source === 'redetect' ? opts.redetected ?? (await redetectPoses(input)) : poses;
  const t0 = performance.now();
  const contacts = opts.contacts ?? detectContacts(poses, opts.contactOptions);
  if (contacts.frames !== info.frameCount) throw new ReshootError(`the contacts cover ${contacts.frames} frames but ${input} has ${info.frameCount}`);
  const plan = planFootLock(contacts, ankleTrack, opts.lock);
  const planSeconds = (performance.now() - t0) / 1000;
  const cv = await loadOpenCV();
  let warpMs = 0;
  const masks = opts.maskPath ? decodeFrames(opts.maskPath, { info: maskInfo, gray: true })[Symbol.asyncIterator]() : undefined;
  let index = 0;
  async function* locked(): AsyncGenerator<Frame> {
    for await (const frame of decodeFrames(input, { info })) {
      let mask: GrayFrame | undefined;
      if (masks) {
        const next = await masks.next();
        if (next.done) throw new ReshootError(`mask video ended before frame ${index}`);
        mask = next.value;
      }
      const s = performance.now();
      const out = lockFrameSync(cv, frame, plan.matrices[index], mask, opts.plate);
      warpMs += performance.now() - s;
      index++;
      opts.onProgress?.(index, info.frameCount);
      yield out;
    }
  }
  try {
    await encodeFrames(locked(), output, { fps: info.fps, overwrite: opts.overwrite, audioFrom: input, crf: opts.crf ?? 18 });
  } finally {
    await masks?.return?.(undefined);
  }
  return { contacts, plan, ankleTrack, frames: index, planSeconds, warpSeconds: warpMs / 1000 };
}

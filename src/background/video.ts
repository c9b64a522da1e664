import { FrameStore, probeVideo, type Frame, type GrayFrame, type ProgressFn } from '../video/index.js';
import { loadTransforms, stabilizeFrame } from '../stabilize/index.js';
import { ReshootError } from '../util/errors.js';
import type { PlateSource } from './plate.js';

export interface VideoPlateSource extends PlateSource {
  /** Deletes the temporary frame stores. */
  close(): Promise<void>;
}

/**
 * Decodes a (stabilized) video and, optionally, its gray person-mask video
 * (as `reshoot masks` writes: 255 = person) into disk-backed FrameStores so a
 * plate can read frames by index without holding the clip in memory.
 *
 * With `transforms` (a transforms.json from `reshoot stabilize` for this
 * video) the original video and masks are stabilized on the fly with the same
 * corrections and zoom, so the plate is in stabilized coordinates; with the
 * 'fill' border policy the uncovered border counts as "not observed" (person).
 */
export async function openPlateSource(
  video: string,
  masksVideo?: string,
  opts: { onProgress?: ProgressFn; signal?: AbortSignal; transforms?: string } = {},
): Promise<VideoPlateSource> {
  const info = await probeVideo(video, { signal: opts.signal });
  const minfo = masksVideo ? await probeVideo(masksVideo, { signal: opts.signal }) : undefined;
  if (minfo && (minfo.width !== info.width || minfo.height !== info.height)) {
    throw new ReshootError(`masks ${masksVideo} are ${minfo.width}x${minfo.height}, the video is ${info.width}x${info.height}`);
  }
  const total = info.frameCount + (minfo?.frameCount ?? 0);
  const frames = await FrameStore.fromVideo(video, {
    info,
    signal: opts.signal,
    onProgress: (d) => opts.onProgress?.(d, total),
  });
  let masks: FrameStore | undefined;
  try {
    if (masksVideo && minfo) {
      masks = await FrameStore.fromVideo(masksVideo, {
        info: minfo,
        gray: true,
        signal: opts.signal,
        onProgress: (d) => opts.onProgress?.(frames.length + d, total),
      });
      if (masks.length !== frames.length) {
        throw new ReshootError(`masks ${masksVideo} have ${masks.length} frames, the video has ${frames.length}`);
      }
    }
  } catch (err) {
    await frames.close();
    await masks?.close();
    throw err;
  }
  const m = masks;
  let frame = (i: number): Promise<Frame> => frames.get(i);
  let mask = m ? async (i: number): Promise<GrayFrame | null> => m.get(i) : undefined;
  if (opts.transforms) {
    let t;
    try {
      t = await loadTransforms(opts.transforms, { width: info.width, height: info.height, frameCount: frames.length });
    } catch (err) {
      await frames.close();
      await m?.close();
      throw err;
    }
    const tr = t;
    // The transforms API (crop mode: what `reshoot stabilize` wrote) knows the per-frame zoom rule.
    frame = async (i) => stabilizeFrame(await frames.get(i), tr, i);
    const full: GrayFrame = { width: info.width, height: info.height, data: new Uint8Array(info.width * info.height).fill(255) };
    mask = async (i) => {
      const warped = m ? await stabilizeFrame(await m.get(i), tr, i) : null;
      if (tr.crop.border !== 'fill') return warped;
      // Black border pixels are not observations of the scene: mark them like the person
      // (with the 'fill' policy stabilizeFrame fills uncovered pixels black).
      const covered = await stabilizeFrame(full, tr, i);
      const out = warped ?? { width: info.width, height: info.height, data: new Uint8Array(info.width * info.height) };
      for (let p = 0; p < out.data.length; p++) if (covered.data[p] < 255) out.data[p] = 255;
      return out;
    };
  }
  return {
    width: info.width,
    height: info.height,
    length: frames.length,
    frame,
    mask,
    close: async () => {
      await frames.close();
      await m?.close();
    },
  };
}

/**
 * A PlateSource over FrameStores the caller already has (the pipeline's
 * stabilized frames and masks); the stores stay open and belong to the caller.
 * `masks` must be a gray store (channels 1) of the same size and length.
 */
export function sourceFromStores(frames: FrameStore, masks?: FrameStore): PlateSource {
  if (frames.channels !== 3) throw new ReshootError('plate: the frame store must hold RGB frames');
  if (masks && (masks.channels !== 1 || masks.width !== frames.width || masks.height !== frames.height)) {
    throw new ReshootError(`plate: the mask store must be gray ${frames.width}x${frames.height}`);
  }
  if (masks && masks.length !== frames.length) throw new ReshootError(`plate: ${frames.length} frames but ${masks.length} masks`);
  return {
    width: frames.width,
    height: frames.height,
    length: frames.length,
    frame: (i) => frames.get(i),
    mask: masks ? (i) => masks.get(i) : undefined,
  };
}

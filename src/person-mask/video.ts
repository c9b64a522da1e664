/**
 * Person masks for a whole video: poses (tracked here, or read from a pose
 * track) -> masks, written as a gray mp4 (or raw 8-bit frames) plus a JSON
 * sidecar with the per-frame found flag.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { extname } from 'node:path';
import { createPoseEstimator, type PoseEstimator, type PoseModelName } from '../pose/estimator.js';
import { PoseTracker } from '../pose/track.js';
import type { PoseTrack } from '../pose/types.js';
import { assertCanWrite, withAtomicOutput, writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { rgbToGray } from '../flow/index.js';
import { TemporalMaskFilter } from './stability.js';
import { decodeFrames, encodeFrames, probeVideo } from '../video/index.js';
import type { Frame, GrayFrame, ProgressFn, Rational } from '../video/types.js';
import { createPersonMasker, type MaskModelName, type PersonMasker } from './masker.js';
import { maskCoverage } from './composite.js';

/** The sidecar JSON next to a mask video. */
export interface MaskSidecar {
  schema: 'reshoot.masks/1';
  source: { path: string; width: number; height: number; fps: Rational; frameCount: number };
  /** How the masks are stored: 'mp4' (H.264 gray, lossy: threshold at 128) or 'raw' (width*height bytes per frame, no header). */
  storage: 'mp4' | 'raw';
  model: { id: string; provider: string; margin: number; feather: number };
  pose: { id: string; from: string };
  frames: { index: number; found: boolean; coverage: number }[];
}

/** `masks.mp4` -> `masks.json` (the sidecar's default place). */
export function sidecarPath(outPath: string): string {
  const ext = extname(outPath);
  return `${ext ? outPath.slice(0, -ext.length) : outPath}.json`;
}

export interface MaskVideoOptions {
  model?: MaskModelName;
  margin?: number;
  feather?: number;
  /** Use this pose track (its frames must match the video's) instead of tracking poses. */
  poses?: PoseTrack;
  poseModel?: PoseModelName;
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  /** Sidecar JSON path (default: out path with .json). */
  sidecar?: string;
  overwrite?: boolean;
  /** Only the first `count` frames. */
  count?: number;
  /** Temporal mask filter strength (TemporalMaskFilter; 0 or absent = per-frame masks, the pipeline uses 0.3). */
  temporal?: number;
  onProgress?: ProgressFn;
}

function grayToRgb(g: GrayFrame): Frame {
  const data = new Uint8Array(g.width * g.height * 3);
  for (let i = 0; i < g.data.length; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = g.data[i];
  return { width: g.width, height: g.height, data };
}

export async function maskVideo(videoPath: string, outPath: string, opts: MaskVideoOptions = {}): Promise<{ sidecar: MaskSidecar; sidecarPath: string; seconds: number }> {
  if (!existsSync(videoPath)) throw new ReshootError(`input ${videoPath} not found`);
  const storage = extname(outPath).toLowerCase() === '.mp4' ? 'mp4' : ['.raw', '.u8', '.gray'].includes(extname(outPath).toLowerCase()) ? 'raw' : undefined;
  if (!storage) throw new ReshootError(`mask output must end in .mp4 (gray video) or .raw (8-bit frames); got ${outPath}`);
  const side = opts.sidecar ?? sidecarPath(outPath);
  assertCanWrite(outPath, { overwrite: opts.overwrite });
  assertCanWrite(side, { overwrite: opts.overwrite });
  const started = performance.now();
  const info = await probeVideo(videoPath);
  const total = Math.min(opts.count ?? Infinity, info.frameCount);
  if (opts.poses && (opts.poses.source.width !== info.width || opts.poses.source.height !== info.height)) {
    throw new ReshootError(`pose track is for ${opts.poses.source.width}x${opts.poses.source.height} frames, the video is ${info.width}x${info.height}`);
  }
  let estimator: PoseEstimator | undefined;
  let masker: PersonMasker | undefined;
  const flags: MaskSidecar['frames'] = [];
  try {
    masker = await createPersonMasker({ model: opts.model, margin: opts.margin, feather: opts.feather, provider: opts.provider, threads: opts.threads });
    if (!opts.poses) estimator = await createPoseEstimator({ model: opts.poseModel, provider: opts.provider, threads: opts.threads });
    const tracker = estimator ? new PoseTracker(estimator, { fps: info.fpsValue }) : undefined;
    const poses = opts.poses;
    const m = masker;
    const filter = opts.temporal ? new TemporalMaskFilter({ strength: opts.temporal }) : null;
    async function* masks(): AsyncGenerator<GrayFrame> {
      let i = 0;
      for await (const frame of decodeFrames(videoPath, { info, count: opts.count })) {
        const pose = tracker ? await tracker.next(frame) : (poses!.frames[i] ?? null);
        if (!tracker && !poses!.frames[i]) throw new ReshootError(`pose track has ${poses!.frames.length} frames, the video more`);
        const r = await m.mask(frame, pose);
        const alpha = filter ? ((await filter.push(rgbToGray(frame), r.found ? r.alpha : null)) ?? r.alpha) : r.alpha;
        flags.push({ index: i, found: r.found, coverage: Number(maskCoverage(alpha).toFixed(5)) });
        i++;
        opts.onProgress?.(i, total);
        yield alpha;
      }
    }
    if (storage === 'mp4') {
      async function* rgb(): AsyncGenerator<Frame> {
        for await (const g of masks()) yield grayToRgb(g);
      }
      await encodeFrames(rgb(), outPath, { fps: info.fps, overwrite: opts.overwrite, crf: 10, preset: 'veryfast' });
    } else {
      await withAtomicOutput(
        outPath,
        async (tmp) => {
          const ws = createWriteStream(tmp);
          try {
            for await (const g of masks()) if (!ws.write(g.data)) await once(ws, 'drain');
          } finally {
            ws.end();
            await once(ws, 'close');
          }
        },
        { overwrite: opts.overwrite },
      );
    }
  } finally {
    await masker?.release();
    await estimator?.release();
  }
  const sidecar: MaskSidecar = {
    schema: 'reshoot.masks/1',
    source: { path: videoPath, width: info.width, height: info.height, fps: info.fps, frameCount: flags.length },
    storage,
    model: { id: masker.modelId, provider: masker.provider, margin: masker.margin, feather: opts.feather ?? Math.max(info.width, info.height) * 0.004 },
    pose: { id: opts.poses ? opts.poses.model.id : (estimator?.modelId ?? ''), from: opts.poses ? 'pose track' : 'tracked' },
    frames: flags,
  };
  await writeJsonAtomic(side, sidecar, { overwrite: opts.overwrite });
  return { sidecar, sidecarPath: side, seconds: (performance.now() - started) / 1000 };
}

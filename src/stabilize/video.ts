/**
 * The stage on video files: two streaming passes over the input (motion
 * analysis on gray frames, then warping RGB frames), so memory holds a couple
 * of frames whatever the length. Decoding twice is cheaper than keeping a raw
 * copy (10 min of 720p RGB is about 50 GB).
 */
import { probeVideo, decodeFrames, encodeFrames, type Frame, type GrayFrame, type ProgressFn, type VideoInfo } from '../video/index.js';
import { assertCanWrite, assertWritableDir } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import {
  analyzeMotion,
  downscaleFactor,
  downscaleMap,
  resolveMotionOptions,
  scaledSize,
  videoMotionOptions,
  type MotionOptions,
  type MotionEstimate,
} from './motion.js';
import { compose, invert } from './similarity.js';
import { analyzeMotionParallel } from './parallel.js';
import { planStabilization, type PlanStabilizationOptions, type StabilizationPlan } from './plan.js';
import { applyCorrection, zoomAt } from './correction.js';
import { buildTransforms, loadTransforms, saveTransforms, type TransformsData } from './transforms-file.js';
import { reshakeFrame } from './reshake.js';

export const CREATED_BY = 'reshoot 0.1.0';

/** The smoothing and border options of planStabilization (frame size comes from the video). */
type PlanOptions = Omit<PlanStabilizationOptions, 'width' | 'height'>;

export interface StabilizeVideoOptions extends PlanOptions {
  /** Where to write transforms.json (optional). */
  transformsPath?: string;
  motion?: MotionOptions;
  /** Person mask per frame index (non-zero = not camera motion), e.g. from the masks stage. */
  maskFor?: (index: number) => GrayFrame | undefined | Promise<GrayFrame | undefined>;
  /** Threads for motion analysis (default 1: on 2 cores, workers measured no faster; see bench/motion-speed.ts). */
  workers?: number;
  /** Carry the input's audio into the output (default true). */
  keepAudio?: boolean;
  overwrite?: boolean;
  onAnalyzeProgress?: ProgressFn;
  onRenderProgress?: ProgressFn;
}

export interface StabilizeVideoResult {
  info: VideoInfo;
  transforms: TransformsData;
  stabilization: StabilizationPlan;
  motions: MotionEstimate[];
  /** Seconds spent in motion analysis (decode included) and in warping + encoding. */
  analyzeSeconds: number;
  renderSeconds: number;
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/** Motion analysis + planning only: the first pass. */
export async function analyzeVideo(
  input: string,
  opts: Omit<StabilizeVideoOptions, 'onRenderProgress' | 'keepAudio'> & { info?: VideoInfo } = {},
): Promise<{ info: VideoInfo; motions: MotionEstimate[]; stabilization: StabilizationPlan; transforms: TransformsData; analyzeSeconds: number }> {
  const info = opts.info ?? (await probeVideo(input));
  const started = process.hrtime.bigint();
  const motionOpts = videoMotionOptions(opts.motion ?? {});
  // Let ffmpeg decode straight to the analysis size (4-9x fewer bytes through the pipe than
  // resizing here), then map the motions back to full-size pixels. Masks come at full size,
  // so with a mask the analyzer resizes instead.
  const factor = opts.maskFor ? 1 : downscaleFactor(resolveMotionOptions(motionOpts), info.width, info.height);
  const small = scaledSize(info.width, info.height, factor);
  const gray = decodeFrames(input, {
    info,
    gray: true,
    ...(factor > 1 && { scale: { width: small.w, height: small.h } }),
  }) as AsyncIterable<GrayFrame>;
  const analyzeOpts = {
    ...motionOpts,
    ...(factor > 1 && { downscale: 1 }),
    maskFor: opts.maskFor,
    onProgress: opts.onAnalyzeProgress,
    total: info.frameCount,
  };
  const workers = opts.workers ?? 1;
  const measured =
    workers > 1 ? await analyzeMotionParallel(gray, { ...analyzeOpts, workers }) : await analyzeMotion(gray, analyzeOpts);
  const toFull = downscaleMap(info.width, info.height, small.w, small.h);
  const fromFull = invert(toFull);
  const motions = factor > 1 ? measured.map((m) => ({ ...m, matrix: compose(fromFull, compose(m.matrix, toFull)) })) : measured;
  const analyzeSeconds = seconds(started);
  if (motions.length < 2) throw new ReshootError(`${input} has ${motions.length} frame(s): stabilization needs at least 2`);
  const { smoother, window, sigma, maxCropZoom, border, zoom, maxZoom, adaptiveSigma } = opts;
  const planOpts: PlanStabilizationOptions = { width: info.width, height: info.height, smoother, window, sigma, maxCropZoom, border, zoom, maxZoom, adaptiveSigma };
  const stabilization = planStabilization(
    motions.map((m) => m.matrix),
    planOpts,
  );
  const transforms = buildTransforms({
    source: { path: input, width: info.width, height: info.height, fps: info.fps, frameCount: motions.length },
    params: { ...planOpts, smoother: planOpts.smoother ?? 'l1', motion: motionOpts, analysisScale: factor, workers },
    createdBy: CREATED_BY,
    motions,
    trajectory: stabilization.trajectory,
    smoothed: stabilization.smoothed,
    plan: stabilization.plan,
  });
  return { info, motions, stabilization, transforms, analyzeSeconds };
}

/** Stabilizes `input` into `output` (H.264) and optionally writes transforms.json. Both outputs are atomic. */
export async function stabilizeVideo(input: string, output: string, opts: StabilizeVideoOptions = {}): Promise<StabilizeVideoResult> {
  // Refuse existing outputs before spending minutes on analysis.
  assertCanWrite(output, { overwrite: opts.overwrite });
  await assertWritableDir(output);
  if (opts.transformsPath) {
    assertCanWrite(opts.transformsPath, { overwrite: opts.overwrite });
    await assertWritableDir(opts.transformsPath);
  }
  const analysis = await analyzeVideo(input, opts);
  const { info, transforms } = analysis;
  const started = process.hrtime.bigint();
  const plan = analysis.stabilization.plan;
  const border = transforms.crop.border;
  async function* corrected(): AsyncGenerator<Frame> {
    let t = 0;
    for await (const frame of decodeFrames(input, { info })) {
      if (t >= transforms.frames.length) break;
      yield await applyCorrection(frame, transforms.frames[t].correction, { border, zoom: zoomAt(plan, t) });
      t++;
    }
  }
  await encodeFrames(corrected(), output, {
    fps: info.fps,
    overwrite: true, // existence was checked above; the temp-then-rename write is still atomic
    audioFrom: opts.keepAudio !== false && info.hasAudio ? input : undefined,
    onProgress: opts.onRenderProgress,
    totalFrames: transforms.frames.length,
  });
  const renderSeconds = seconds(started);
  // Written last, so a failed render leaves neither output behind.
  if (opts.transformsPath) await saveTransforms(opts.transformsPath, transforms, { overwrite: opts.overwrite });
  return { ...analysis, renderSeconds };
}

/**
 * Puts the camera motion recorded in transforms.json back into `input` (e.g.
 * the generated clip, which must have the stabilized clip's size and length).
 */
export async function reshakeVideo(
  input: string,
  transformsPath: string,
  output: string,
  opts: { overwrite?: boolean; keepAudio?: boolean; onProgress?: ProgressFn } = {},
): Promise<{ frames: number }> {
  const info = await probeVideo(input);
  const transforms = await loadTransforms(transformsPath, { width: info.width, height: info.height, frameCount: info.frameCount });
  const zoom = transforms.crop.zoom;
  async function* reshaken(): AsyncGenerator<Frame> {
    let t = 0;
    for await (const frame of decodeFrames(input, { info })) {
      const z = typeof zoom === 'number' ? zoom : zoom[t];
      yield await reshakeFrame(frame, transforms.frames[t].correction, transforms.crop.border === 'fill' ? 1 : z);
      t++;
    }
  }
  return encodeFrames(reshaken(), output, {
    fps: info.fps,
    overwrite: opts.overwrite,
    audioFrom: opts.keepAudio !== false && info.hasAudio ? input : undefined,
    onProgress: opts.onProgress,
    totalFrames: info.frameCount,
  });
}

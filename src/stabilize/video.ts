/**
 * The stage on video files: two streaming passes over the input (motion
 * analysis on gray frames, then warping RGB frames), so memory holds a couple
 * of frames whatever the length. Decoding twice is cheaper than keeping a raw
 * copy (10 min of 720p RGB is about 50 GB).
 */
import { probeVideo, decodeFrames, encodeFrames, type GrayFrame, type ProgressFn, type VideoInfo } from '../video/index.js';
import { ShotDetector, validateShots, type Shot, type ShotOptions } from '../shots/index.js';
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
import { compose, identity, invert } from './similarity.js';
import { compose3, toMat3 } from '../geometry/homography.js';
import { analyzeMotionParallel } from './parallel.js';
import { planStabilization, type PlanStabilizationOptions, type StabilizationPlan } from './plan.js';
import { buildTransforms, loadTransforms, saveTransforms, type TransformsData } from './transforms-file.js';
import { reshakeFrames, stabilizeFrames } from './apply.js';

export const CREATED_BY = 'reshoot 0.1.0';

/** The smoothing and border options of planStabilization (frame size comes from the video). */
type PlanOptions = Omit<PlanStabilizationOptions, 'width' | 'height'>;

export interface StabilizeVideoOptions extends PlanOptions {
  /** Where to write transforms.json (optional). */
  transformsPath?: string;
  motion?: MotionOptions;
  /**
   * Subject mask of frame t: gray, the INPUT's full size and coordinates, non-zero = a
   * person (or the union of several) whose motion is not camera motion. Shrunk to the
   * analysis size here; see MotionOptions.maskMargin / backgroundMargin.
   */
  maskFor?: (index: number) => GrayFrame | undefined | Promise<GrayFrame | undefined>;
  /** Shots of the input (tiling it); default: detected in the analysis pass with ShotDetector. */
  shots?: Shot[];
  /** Options of the shot detector when `shots` is not given. */
  shotOptions?: ShotOptions;
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
  // resizing here), then map the motions back to full-size pixels. Masks come at full size in
  // input coordinates and are shrunk here to the analysis size (a cell is excluded when any of
  // its pixels is), so a mask never forces full-size decoding.
  const factor = downscaleFactor(resolveMotionOptions(motionOpts), info.width, info.height);
  const small = scaledSize(info.width, info.height, factor);
  const detector = opts.shots ? undefined : new ShotDetector(opts.shotOptions);
  const decoded = decodeFrames(input, {
    info,
    gray: true,
    ...(factor > 1 && { scale: { width: small.w, height: small.h } }),
  }) as AsyncIterable<GrayFrame>;
  // Shots are detected on the gray frames this pass decodes anyway.
  async function* gray(): AsyncGenerator<GrayFrame> {
    for await (const g of decoded) {
      detector?.push(g);
      yield g;
    }
  }
  let masked = 0;
  const maskFor = opts.maskFor
    ? async (t: number) => {
        const m = await opts.maskFor!(t);
        if (!m) return undefined;
        if (m.width !== info.width || m.height !== info.height || m.data.length !== m.width * m.height) {
          throw new ReshootError(`mask for frame ${t} is ${m.width}x${m.height} (${m.data.length} bytes); masks must be gray ${info.width}x${info.height}, the input's size`);
        }
        masked++;
        return factor > 1 ? shrinkMask(m, small.w, small.h) : m;
      }
    : undefined;
  const analyzeOpts = {
    ...motionOpts,
    ...(factor > 1 && { downscale: 1 }),
    maskFor,
    onProgress: opts.onAnalyzeProgress,
    total: info.frameCount,
  };
  const workers = opts.workers ?? 1;
  const measured =
    workers > 1 ? await analyzeMotionParallel(gray(), { ...analyzeOpts, workers }) : await analyzeMotion(gray(), analyzeOpts);
  const toFull = downscaleMap(info.width, info.height, small.w, small.h);
  const fromFull = invert(toFull);
  const motions: MotionEstimate[] = factor > 1
    ? measured.map((m) => ({
      ...m,
      matrix: compose(fromFull, compose(m.matrix, toFull)),
      ...(m.homography && { homography: compose3(toMat3(fromFull), compose3(m.homography, toMat3(toFull))) }),
    }))
    : measured;
  const analyzeSeconds = seconds(started);
  if (motions.length < 2) throw new ReshootError(`${input} has ${motions.length} frame(s): stabilization needs at least 2`);
  const shots = opts.shots ?? detector!.result().shots;
  validateShots(shots, motions.length, 'shots');
  // The motion across a cut is meaningless: identity, and the next shot starts its own path.
  for (const s of shots.slice(1)) motions[s.start] = { ...motions[s.start], matrix: identity(), homography: undefined, inliers: 0, rmsError: NaN, fallback: 'cut' };
  const { smoother, window, sigma, maxCropZoom, l1Path, border, zoom, maxZoom, adaptiveSigma, minCoverage } = opts;
  const planOpts: PlanStabilizationOptions = { width: info.width, height: info.height, smoother, window, sigma, maxCropZoom, l1Path, border, zoom, maxZoom, adaptiveSigma, minCoverage, shots };
  const homographies = motions.some((m) => m.homography) ? motions.map((m) => m.homography) : undefined;
  const stabilization = planStabilization(
    motions.map((m) => m.matrix),
    { ...planOpts, homographies },
  );
  const transforms = buildTransforms({
    source: { path: input, width: info.width, height: info.height, fps: info.fps, frameCount: motions.length },
    params: { ...planOpts, shots: undefined, smoother: planOpts.smoother ?? 'l1', motion: motionOpts, analysisScale: factor, workers, shotsFrom: opts.shots ? 'caller' : 'detected' },
    createdBy: CREATED_BY,
    motions,
    trajectory: stabilization.trajectory,
    smoothed: stabilization.smoothed,
    plan: stabilization.plan,
    shots,
    notes: analysisNotes(motions, shots, masked, !!opts.shots),
  });
  return { info, motions, stabilization, transforms, analyzeSeconds };
}

/** Human-readable summary for transforms.json's notes. */
function analysisNotes(motions: MotionEstimate[], shots: Shot[], masked: number, given: boolean): string[] {
  const notes: string[] = [];
  const cuts = shots.slice(1).map((s) => s.start);
  notes.push(`${shots.length} shot(s) (${given ? 'given by the caller' : 'detected'})${cuts.length ? `; cuts at frames ${cuts.join(', ')}` : ''}`);
  notes.push(masked ? `subject masks excluded from motion analysis on ${masked} of ${motions.length} frames` : 'no subject masks: every feature could count as camera motion');
  const counts = new Map<string, number>();
  for (const m of motions) if (m.fallback && m.fallback !== 'cut') counts.set(m.fallback, (counts.get(m.fallback) ?? 0) + 1);
  for (const [reason, n] of counts) notes.push(`${n} frame(s) fell back to identity motion: ${reason}`);
  const choices = new Map<string, number>();
  for (const m of motions) if (m.modelChoice && !m.fallback) choices.set(m.modelChoice, (choices.get(m.modelChoice) ?? 0) + 1);
  if (choices.size) notes.push(`motion model per pair: ${[...choices].map(([c, n]) => `${n} ${c}`).join(', ')}`);
  return notes;
}

/** Shrinks a full-size mask to w x h: a cell is excluded (255) when any of its pixels is non-zero. */
export function shrinkMask(m: GrayFrame, w: number, h: number): GrayFrame {
  const out = new Uint8Array(w * h);
  const { width: W, height: H, data } = m;
  for (let j = 0; j < h; j++) {
    const y0 = Math.floor((j * H) / h), y1 = Math.max(y0 + 1, Math.floor(((j + 1) * H) / h));
    for (let i = 0; i < w; i++) {
      const x0 = Math.floor((i * W) / w), x1 = Math.max(x0 + 1, Math.floor(((i + 1) * W) / w));
      let hit = 0;
      for (let y = y0; y < y1 && !hit; y++) for (let x = x0, r = y * W; x < x1; x++) if (data[r + x]) { hit = 255; break; }
      out[j * w + i] = hit;
    }
  }
  return { width: w, height: h, data: out };
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
  await encodeFrames(stabilizeFrames(decodeFrames(input, { info }), transforms), output, {
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
  return encodeFrames(reshakeFrames(decodeFrames(input, { info }), transforms), output, {
    fps: info.fps,
    overwrite: opts.overwrite,
    audioFrom: opts.keepAudio !== false && info.hasAudio ? input : undefined,
    onProgress: opts.onProgress,
    totalFrames: info.frameCount,
  });
}

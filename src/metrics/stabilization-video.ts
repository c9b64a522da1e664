/**
 * Stabilization metrics measured from video files, so any stabilizer's output
 * (reshoot's, vid.stab's, a user's) is judged by the same code: motion between
 * consecutive output frames (jitter, stability), PSNR between them (ITF), and
 * when the input is given, the per-frame input->output map (crop, coverage,
 * distortion, and the ground-truth comparison).
 */
import { decodeFrames, probeVideo, type Frame, type ProgressFn } from '../video/index.js';
import { MotionAnalyzer, accumulatePath, estimateMotion, toGray, type Mat2x3 } from '../stabilize/index.js';
import { ReshootError } from '../util/errors.js';
import type { GroundTruth } from '../datasets/index.js';
import { coverage, croppingRatio, distortion, psnrCentral, residualJitter, stabilityScore, type PxDeg, type Stat } from './stabilization.js';
import { compareWithTruth, type TruthComparison } from './stabilization-gt.js';

export interface StabilizationReport {
  frames: number;
  /** Ground-truth-free: jitter left in the output's own camera path. */
  residualJitter: PxDeg;
  stability: { translation: number; rotation: number; mean: number };
  /** Mean PSNR (dB) between consecutive output frames over the central 80 %. */
  itf: number;
  /** Frames where too few points survived to estimate motion (identity assumed). */
  fallbackFrames: number;
  /** With the input: the input->output map per frame and what follows from it. */
  cropping?: Stat;
  coverage?: Stat;
  distortion?: Stat;
  /** With the input and its ground truth. */
  truth?: Pick<TruthComparison, 'residualShake' | 'intentionalError' | 'highFrequencyShake'>;
}

/** Per-frame input->output similarity, measured from the pixels of two clips of equal length and size. */
export async function measureInputToOutput(input: string, output: string, onProgress?: ProgressFn): Promise<Mat2x3[]> {
  const [a, b] = await Promise.all([probeVideo(input), probeVideo(output)]);
  if (a.width !== b.width || a.height !== b.height || a.frameCount !== b.frameCount) {
    throw new ReshootError(`${output} (${b.width}x${b.height}, ${b.frameCount} frames) does not match its input ${input} (${a.width}x${a.height}, ${a.frameCount} frames)`);
  }
  const ins = decodeFrames(input, { info: a, gray: true });
  const outs = decodeFrames(output, { info: b, gray: true });
  const maps: Mat2x3[] = [];
  try {
    for (;;) {
      const [i, o] = await Promise.all([ins.next(), outs.next()]);
      if (i.done || o.done) break;
      const m = await estimateMotion(i.value, o.value, { maxCorners: 400 });
      if (m.fallback) throw new ReshootError(`cannot relate output frame ${maps.length} to its input frame (${m.fallback})`);
      maps.push(m.matrix);
      onProgress?.(maps.length, a.frameCount);
    }
  } finally {
    await Promise.all([ins.return(undefined), outs.return(undefined)]);
  }
  return maps;
}

/** Measures a stabilized video; `input` (the shaky original) and `gt` (its ground truth) are optional. */
export async function measureStabilization(
  video: string,
  opts: { input?: string; gt?: GroundTruth; onProgress?: ProgressFn } = {},
): Promise<StabilizationReport> {
  const info = await probeVideo(video);
  const analyzer = await MotionAnalyzer.create();
  const motions: Mat2x3[] = [];
  let fallbackFrames = 0;
  let psnrSum = 0;
  let prev: Frame | undefined;
  try {
    for await (const frame of decodeFrames(video, { info })) {
      const m = analyzer.push(await toGray(frame));
      if (m.fallback) fallbackFrames++;
      motions.push(m.matrix);
      if (prev) psnrSum += psnrCentral(prev, frame);
      prev = frame;
      opts.onProgress?.(motions.length, info.frameCount);
    }
  } finally {
    analyzer.dispose();
  }
  if (motions.length < 2) throw new ReshootError(`${video} has fewer than 2 frames`);
  const report: StabilizationReport = {
    frames: motions.length,
    residualJitter: residualJitter(motions, { width: info.width, height: info.height }),
    stability: stabilityScore(accumulatePath(motions, info.width, info.height)),
    itf: psnrSum / (motions.length - 1),
    fallbackFrames,
  };
  if (opts.gt && !opts.input) throw new ReshootError('comparing with a ground truth needs the original (shaky) input too');
  if (opts.input) {
    const maps = await measureInputToOutput(opts.input, video);
    report.cropping = croppingRatio(maps);
    report.coverage = coverage(maps, info.width, info.height);
    report.distortion = distortion(maps);
    if (opts.gt) {
      const { residualShake, intentionalError, highFrequencyShake } = compareWithTruth(maps, opts.gt);
      report.truth = { residualShake, intentionalError, highFrequencyShake };
    }
  }
  return report;
}

/**
 * Glue for the middle of the stage: inter-frame motions -> trajectory ->
 * smoothed path -> corrections and zoom, shot by shot. Pure, no frames involved.
 */
import { ReshootError } from '../util/errors.js';
import { shotsFromCuts, validateShots, type Shot } from '../shots/detect.js';
import { planCorrections, type BorderPolicy, type CorrectionPlan } from './correction.js';
import { accumulatePath, constrained, gaussian, l1, movingAverage, type L1Options, type SmootherName } from './smooth.js';
import type { Mat2x3, PathParams } from './similarity.js';

export interface PlanStabilizationOptions {
  width: number;
  height: number;
  /** Default 'l1' (measured best in bench/stabilization.ts). */
  smoother?: SmootherName;
  /** moving-average window (default 30). */
  window?: number;
  /** gaussian sigma (default 15). */
  sigma?: number;
  /** constrained / l1: crop budget as a zoom (default 1.1 for constrained, 1.2 for l1). */
  maxCropZoom?: number;
  /** l1: which path (default 'hybrid'; 'auto' is the earlier whole-clip still-or-moving choice). */
  l1Path?: L1Options['path'];
  border?: BorderPolicy;
  zoom?: number;
  maxZoom?: number;
  adaptiveSigma?: number;
  /** 'zoom' border: least coverage of every output frame (default 1; see PlanOptions.minCoverage). */
  minCoverage?: number;
  /**
   * Shots (frames [start, end), tiling the clip); default one shot. Every shot
   * is planned on its own: its trajectory restarts at identity on its first
   * frame (the motion across a cut is meaningless) and no smoothing window
   * reaches across a cut.
   */
  shots?: Shot[];
}

export interface StabilizationPlan {
  trajectory: PathParams[];
  smoothed: PathParams[];
  plan: CorrectionPlan;
}

export function planStabilization(motions: Mat2x3[], opts: PlanStabilizationOptions): StabilizationPlan {
  const { width, height } = opts;
  const name = opts.smoother ?? 'l1';
  const smooth = (path: PathParams[]): PathParams[] => {
    if (name === 'moving-average') return movingAverage(path, { window: opts.window });
    if (name === 'gaussian') return gaussian(path, { sigma: opts.sigma });
    if (name === 'constrained') return constrained(path, { width, height, maxZoom: opts.maxCropZoom });
    if (name === 'l1') return l1(path, { width, height, maxZoom: opts.maxCropZoom, path: opts.l1Path });
    throw new ReshootError(`smoother must be moving-average, gaussian, constrained or l1, got '${String(name)}'`);
  };
  const shots = opts.shots ?? shotsFromCuts([], motions.length);
  validateShots(shots, motions.length);
  const trajectory: PathParams[] = [];
  const smoothed: PathParams[] = [];
  for (const s of shots) {
    // accumulatePath ignores its first motion: the shot's first frame is its reference.
    const path = accumulatePath(motions.slice(s.start, s.end), width, height);
    trajectory.push(...path);
    smoothed.push(...smooth(path));
  }
  const plan = planCorrections(trajectory, smoothed, {
    width, height, border: opts.border, zoom: opts.zoom, maxZoom: opts.maxZoom, adaptiveSigma: opts.adaptiveSigma, minCoverage: opts.minCoverage,
  });
  return { trajectory, smoothed, plan };
}

/**
 * Glue for the middle of the stage: inter-frame motions -> trajectory ->
 * smoothed path -> corrections and zoom. Pure, no frames involved.
 */
import { ReshootError } from '../util/errors.js';
import { planCorrections, type BorderPolicy, type CorrectionPlan } from './correction.js';
import { accumulatePath, constrained, gaussian, l1, movingAverage, type SmootherName } from './smooth.js';
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
  border?: BorderPolicy;
  zoom?: number;
  maxZoom?: number;
  adaptiveSigma?: number;
}

export interface StabilizationPlan {
  trajectory: PathParams[];
  smoothed: PathParams[];
  plan: CorrectionPlan;
}

export function planStabilization(motions: Mat2x3[], opts: PlanStabilizationOptions): StabilizationPlan {
  const { width, height } = opts;
  const trajectory = accumulatePath(motions, width, height);
  const name = opts.smoother ?? 'l1';
  let smoothed: PathParams[];
  if (name === 'moving-average') smoothed = movingAverage(trajectory, { window: opts.window });
  else if (name === 'gaussian') smoothed = gaussian(trajectory, { sigma: opts.sigma });
  else if (name === 'constrained') smoothed = constrained(trajectory, { width, height, maxZoom: opts.maxCropZoom });
  else if (name === 'l1') smoothed = l1(trajectory, { width, height, maxZoom: opts.maxCropZoom });
  else throw new ReshootError(`smoother must be moving-average, gaussian, constrained or l1, got '${String(name)}'`);
  const plan = planCorrections(trajectory, smoothed, {
    width, height, border: opts.border, zoom: opts.zoom, maxZoom: opts.maxZoom, adaptiveSigma: opts.adaptiveSigma,
  });
  return { trajectory, smoothed, plan };
}

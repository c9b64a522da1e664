/**
 * Foot metrics, as defined in ../shared/docs/metrics.md ("Feet"): contact
 * precision/recall/F1 against labels, sliding during contact (mean and p95 in
 * px and body heights per second), skate ratio (GMD: share of contact frames
 * faster than 0.1 h/s) and the largest single-frame jump a lock introduces.
 */
import { ReshootError } from '../util/errors.js';

export interface FootPoint {
  x: number;
  y: number;
}

export interface ContactScores {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Frames where the detector made no decision (null); they count as "not in contact". */
  undecided: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Precision, recall and F1 of detected contacts against labels, frame by
 * frame. A null (no decision) counts as a negative, so it costs recall when
 * the foot was planted. Pass several feet/tracks as parallel lists to pool them.
 */
export function contactScores(predicted: (boolean | null)[] | (boolean | null)[][], truth: boolean[] | boolean[][]): ContactScores {
  const P = (Array.isArray(predicted[0]) ? predicted : [predicted]) as (boolean | null)[][];
  const T = (Array.isArray(truth[0]) ? truth : [truth]) as boolean[][];
  if (P.length !== T.length) throw new ReshootError(`contactScores: ${P.length} predicted series but ${T.length} label series`);
  let tp = 0, fp = 0, fn = 0, tn = 0, undecided = 0;
  P.forEach((p, k) => {
    const t = T[k];
    if (p.length !== t.length) throw new ReshootError(`contactScores: series ${k} has ${p.length} predictions but ${t.length} labels`);
    for (let i = 0; i < p.length; i++) {
      if (p[i] === null) undecided++;
      const yes = p[i] === true;
      if (yes && t[i]) tp++;
      else if (yes) fp++;
      else if (t[i]) fn++;
      else tn++;
    }
  });
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 1;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, tn, undecided, precision, recall, f1 };
}

export interface SlidingReport {
  /** Contact frame steps measured (t with t-1 and t both in contact and both positions known). */
  samples: number;
  meanPx: number;
  p95Px: number;
  /** Same in body heights per second. */
  meanHps: number;
  p95Hps: number;
  /** Share of samples faster than skateThreshold h/s (GMD's skate ratio, 0.1 h/s). */
  skateRatio: number;
  skateThreshold: number;
}

/** The p-th percentile (0..100) by linear interpolation between order statistics (numpy's default). */
export function footPercentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r), hi = Math.ceil(r);
  return s[lo] + (s[hi] - s[lo]) * (r - lo);
}

export interface SlidingOptions {
  fps: number;
  /** Body size h in px: one number or one per frame. */
  bodyHeight: number | (number | null)[];
  /** Camera offset per frame (image = world + camera): subtracted, so a planted foot that moves only with the camera does not slide. */
  camera?: FootPoint[];
  /** h/s; default 0.1 (GMD). */
  skateThreshold?: number;
}

/**
 * Per-frame speeds of one or more feet during contact: |p_t - p_{t-1}| for
 * every t where frames t-1 and t are both in contact (the landing step into a
 * contact is not sliding). Returns px per frame and h/s.
 */
export function contactSpeeds(
  feet: { position: FootPoint[]; contact: (boolean | null)[] }[],
  opts: SlidingOptions,
): { px: number[]; hps: number[] } {
  const px: number[] = [], hps: number[] = [];
  for (const { position, contact } of feet) {
    if (position.length !== contact.length) throw new ReshootError(`sliding: ${position.length} positions but ${contact.length} contact flags`);
    for (let t = 1; t < position.length; t++) {
      if (contact[t] !== true || contact[t - 1] !== true) continue;
      const c0 = opts.camera?.[t - 1] ?? { x: 0, y: 0 };
      const c1 = opts.camera?.[t] ?? { x: 0, y: 0 };
      const dx = position[t].x - c1.x - (position[t - 1].x - c0.x);
      const dy = position[t].y - c1.y - (position[t - 1].y - c0.y);
      const d = Math.hypot(dx, dy);
      if (!Number.isFinite(d)) continue;
      const h = typeof opts.bodyHeight === 'number' ? opts.bodyHeight : opts.bodyHeight[t];
      if (!(h && h > 0)) continue;
      px.push(d);
      hps.push((d * opts.fps) / h);
    }
  }
  return { px, hps };
}

/** Foot sliding during contact (see contactSpeeds for which steps count). */
export function footSliding(feet: { position: FootPoint[]; contact: (boolean | null)[] }[], opts: SlidingOptions): SlidingReport {
  const { px, hps } = contactSpeeds(feet, opts);
  const thr = opts.skateThreshold ?? 0.1;
  const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
  return {
    samples: px.length,
    meanPx: mean(px),
    p95Px: footPercentile(px, 95),
    meanHps: mean(hps),
    p95Hps: footPercentile(hps, 95),
    skateRatio: hps.length ? hps.filter((v) => v > thr).length / hps.length : NaN,
    skateThreshold: thr,
  };
}

/** A 2x3 affine, row-major [a, b, c, d, e, f]: (x, y) -> (a x + b y + c, d x + e y + f). */
export type Affine2x3Flat = [number, number, number, number, number, number] | number[];

/**
 * Largest single-frame jump a lock introduces: the largest change between
 * consecutive frames of the correction's displacement M_t(p) - p, over the
 * given points of the person (e.g. its keypoints in frame t), px. With a
 * translation this is |T_t - T_{t-1}| everywhere.
 */
export function lockJump(matrices: Affine2x3Flat[], points: FootPoint[][]): { max: number; frame: number } {
  let max = 0, frame = -1;
  for (let t = 1; t < matrices.length; t++) {
    const a = matrices[t - 1], b = matrices[t];
    for (const p of points[t] ?? []) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      const dx = b[0] * p.x + b[1] * p.y + b[2] - (a[0] * p.x + a[1] * p.y + a[2]);
      const dy = b[3] * p.x + b[4] * p.y + b[5] - (a[3] * p.x + a[4] * p.y + a[5]);
      const d = Math.hypot(dx, dy);
      if (d > max) {
        max = d;
        frame = t;
      }
    }
  }
  return { max, frame };
}

/**
 * Stabilization metrics, as defined in ../shared/docs/metrics.md (the project's metric definitions) ("Stabilization").
 * Paths are PathParams (about the frame centre, angle in radians; see
 * src/stabilize/README.md); results in px and degrees.
 */
import type { Frame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { accumulatePath, gaussianFilter1D } from '../stabilize/smooth.js';
import { coverage as coverageOf } from '../stabilize/correction.js';
import { singularValues, type Mat2x3, type PathParams } from '../stabilize/similarity.js';

const DEG = 180 / Math.PI;

export interface PxDeg {
  /** RMS of the 2-D translation residual vector, px: sqrt(mean(rx² + ry²)). */
  px: number;
  /** RMS of the angle residual, degrees. */
  deg: number;
  /** Per-axis RMS, px. */
  x: number;
  y: number;
}

function rms(a: ArrayLike<number>): number {
  if (!a.length) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s / a.length);
}

function pxDeg(rx: ArrayLike<number>, ry: ArrayLike<number>, ra: ArrayLike<number>): PxDeg {
  const x = rms(rx), y = rms(ry);
  return { px: Math.sqrt(x * x + y * y), deg: rms(ra) * DEG, x, y };
}

const chan = (p: PathParams[], k: 'x' | 'y' | 'angle') => Float64Array.from(p, (v) => v[k]);

/**
 * Residual jitter: integrate the inter-frame motions M_t (between consecutive
 * OUTPUT frames; index 0 ignored) into x, y, angle; subtract each signal's
 * Gaussian low-pass (sigma 15 frames, edges padded by point reflection so a
 * constant-velocity path has zero residual); RMS of what remains.
 */
export function residualJitter(motions: Mat2x3[], opts: { width: number; height: number; sigma?: number }): PxDeg {
  return pathJitter(accumulatePath(motions, opts.width, opts.height), opts.sigma);
}

/** Residual jitter of an already integrated path. */
export function pathJitter(path: PathParams[], sigma = 15): PxDeg {
  const res = (['x', 'y', 'angle'] as const).map((k) => {
    const s = chan(path, k);
    const lp = gaussianFilter1D(s, sigma);
    return s.map((v, i) => v - lp[i]);
  });
  return pxDeg(res[0], res[1], res[2]);
}

/** The motion a stabilizer removed: raw path minus smoothed path, per channel (scale as a ratio). */
export function removedMotion(raw: PathParams[], smoothed: PathParams[]): PathParams[] {
  if (raw.length !== smoothed.length) throw new ReshootError(`paths differ in length: ${raw.length} vs ${smoothed.length}`);
  return raw.map((r, i) => ({ x: r.x - smoothed[i].x, y: r.y - smoothed[i].y, angle: r.angle - smoothed[i].angle, scale: r.scale / smoothed[i].scale }));
}

/**
 * Shake error: RMS difference between the removed motion (removedMotion) and
 * the ground-truth shake. A constant offset counts too (it is a real error
 * in where the frame ends up).
 */
export function shakeError(removed: PathParams[], trueShake: PathParams[]): PxDeg {
  if (removed.length !== trueShake.length) throw new ReshootError(`paths differ in length: ${removed.length} vs ${trueShake.length}`);
  const d = (k: 'x' | 'y' | 'angle') => removed.map((r, i) => r[k] - trueShake[i][k]);
  return pxDeg(d('x'), d('y'), d('angle'));
}

/**
 * Intentional-motion preservation: RMS between the Gaussian low-pass (sigma
 * 15) of the output path and the ground-truth intentional path.
 */
export function intentionalMotionError(outputPath: PathParams[], intentional: PathParams[], sigma = 15): PxDeg {
  if (outputPath.length !== intentional.length) throw new ReshootError(`paths differ in length: ${outputPath.length} vs ${intentional.length}`);
  const d = (k: 'x' | 'y' | 'angle') => {
    const lp = gaussianFilter1D(chan(outputPath, k), sigma);
    return Array.from(lp, (v, i) => v - intentional[i][k]);
  };
  return pxDeg(d('x'), d('y'), d('angle'));
}

/** |DFT|² of a real signal for bins 0..floor(n/2)-1 (direct O(n²) sum; fine for n <= 10k). */
export function halfPowerSpectrum(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const half = Math.floor(n / 2);
  const out = new Float64Array(half);
  const cos = new Float64Array(n), sin = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    cos[j] = Math.cos((2 * Math.PI * j) / n);
    sin[j] = Math.sin((2 * Math.PI * j) / n);
  }
  for (let k = 0; k < half; k++) {
    let re = 0, im = 0, idx = 0;
    for (let t = 0; t < n; t++) {
      re += x[t] * cos[idx];
      im -= x[t] * sin[idx];
      idx += k;
      if (idx >= n) idx -= n;
    }
    out[k] = re * re + im * im;
  }
  return out;
}

/**
 * Low-frequency energy share as in DIFRINT's metrics.py: power spectrum of
 * the full-length signal (no zero padding), first half (bins 0..n/2-1), DC
 * dropped: sum(bins 1..5) / sum(bins 1..n/2-1). A signal with no energy
 * outside DC (perfectly constant) scores 1.
 */
export function lowFrequencyShare(x: ArrayLike<number>, bins = 5): number {
  const p = halfPowerSpectrum(x);
  let low = 0, total = 0;
  for (let k = 1; k < p.length; k++) {
    total += p[k];
    if (k <= bins) low += p[k];
  }
  return total <= 1e-18 * Math.max(1, p[0] ?? 0) ? 1 : low / total;
}

/**
 * Stability score (Liu et al. 2013; DIFRINT's metrics.py): from the path take
 * the translation magnitude sqrt(x² + y²) and the rotation (degrees); score =
 * lowFrequencyShare of each; mean of the two. Higher is steadier (max 1).
 * Difference from DIFRINT: there the translation is the homography's
 * (H02, H12), anchored at the image origin; here it is the frame centre's
 * displacement, which does not mix rotation into translation.
 */
export function stabilityScore(path: PathParams[]): { translation: number; rotation: number; mean: number } {
  if (path.length < 4) throw new ReshootError(`stability score needs at least 4 frames, got ${path.length}`);
  const translation = lowFrequencyShare(path.map((p) => Math.hypot(p.x, p.y)));
  const rotation = lowFrequencyShare(path.map((p) => p.angle * DEG));
  return { translation, rotation, mean: (translation + rotation) / 2 };
}

export interface Stat {
  mean: number;
  min: number;
  perFrame: number[];
}

function stat(v: number[]): Stat {
  return { mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN, min: v.length ? Math.min(...v) : NaN, perFrame: v };
}

/**
 * Cropping ratio: per frame the scale of the input->output transform F_t
 * (correction with its zoom, see outputTransform), sqrt(|det|) of its 2x2
 * part: exactly the similarity's scale (equal to metrics.md's
 * sqrt(|H00 H11|) when there is no rotation; that formula under-reads a
 * rotated similarity by cos(angle)). A zoom of 1.1 reads 1.1.
 */
export function croppingRatio(outputTransforms: Mat2x3[]): Stat {
  return stat(outputTransforms.map((m) => Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]))));
}

/** Coverage: per frame the fraction of output pixels whose source lies inside the source frame (exact polygon clipping). */
export function coverage(outputTransforms: Mat2x3[], width: number, height: number): Stat {
  return stat(outputTransforms.map((m) => coverageOf(m, width, height)));
}

/** Distortion: per frame smaller / larger singular value of the 2x2 linear part (1 = similarity); reports the minimum. */
export function distortion(matrices: Mat2x3[]): Stat {
  return stat(matrices.map((m) => {
    const [s1, s2] = singularValues(m);
    return s1 > 0 ? s2 / s1 : 0;
  }));
}

/** PSNR cap for identical crops (MSE 0): reported as this value instead of Infinity. */
export const PSNR_CAP = 100;

/**
 * PSNR (dB, peak 255) between two frames of the same size over the central
 * `crop` fraction of each dimension (default 0.8, so a 10 % border on each
 * side is ignored), all channels. Identical crops give PSNR_CAP.
 */
export function psnrCentral(a: Frame, b: Frame, crop = 0.8): number {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) {
    throw new ReshootError(`frames differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  const ch = a.data.length / (a.width * a.height);
  const x0 = Math.floor((a.width * (1 - crop)) / 2), x1 = a.width - x0;
  const y0 = Math.floor((a.height * (1 - crop)) / 2), y1 = a.height - y0;
  let se = 0, n = 0;
  for (let y = y0; y < y1; y++) {
    for (let i = (y * a.width + x0) * ch, end = (y * a.width + x1) * ch; i < end; i++) {
      const d = a.data[i] - b.data[i];
      se += d * d;
    }
    n += (x1 - x0) * ch;
  }
  if (se === 0) return PSNR_CAP;
  return Math.min(PSNR_CAP, 10 * Math.log10((255 * 255 * n) / se));
}

/** ITF: mean PSNR between consecutive output frames over a central crop. Streams: keeps one previous frame. */
export async function itf(
  frames: AsyncIterable<Frame> | Iterable<Frame>,
  opts: { crop?: number } = {},
): Promise<{ mean: number; perPair: number[] }> {
  const perPair: number[] = [];
  let prev: Frame | undefined;
  for await (const f of frames as AsyncIterable<Frame>) {
    if (prev) perPair.push(psnrCentral(prev, f, opts.crop));
    prev = f;
  }
  return { mean: perPair.length ? perPair.reduce((a, b) => a + b, 0) / perPair.length : NaN, perPair };
}

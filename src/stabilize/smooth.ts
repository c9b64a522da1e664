/**
 * Phase 2: camera trajectory and smoothers.
 *
 * The trajectory P_t maps pixel coords of frame 0 to pixel coords of frame t:
 * P_0 = I, P_t = M_t ∘ P_{t-1} (M_t the inter-frame motion t-1 -> t). Each
 * P_t is described by PathParams about the frame centre (x, y = where the
 * frame-0 centre went, angle unwrapped over time, scale). Smoothers work on
 * x, y, angle and log(scale) independently.
 */
import { ReshootError } from '../util/errors.js';
import { compose, fromParams, identity, toParams, type Mat2x3, type PathParams } from './similarity.js';

/** One small interface for every smoother: a path in, a path of the same length out. */
export type Smoother<O = Record<string, unknown>> = (path: PathParams[], opts?: O) => PathParams[];

/** Accumulates inter-frame motions (motions[0] is ignored: frame 0 is the reference) into a path. */
export function accumulatePath(motions: Mat2x3[], width: number, height: number): PathParams[] {
  const out: PathParams[] = [];
  let P = identity();
  let prevAngle = 0;
  for (let t = 0; t < motions.length; t++) {
    if (t > 0) P = compose(motions[t], P);
    const p = toParams(P, width, height);
    // unwrap: keep the angle continuous across ±π
    let a = p.angle;
    while (a - prevAngle > Math.PI) a -= 2 * Math.PI;
    while (a - prevAngle < -Math.PI) a += 2 * Math.PI;
    prevAngle = a;
    out.push({ ...p, angle: a });
  }
  return out;
}

/** Matrices (frame 0 -> frame t) of a path. */
export function pathMatrices(path: PathParams[], width: number, height: number): Mat2x3[] {
  return path.map((p) => fromParams(p, width, height));
}

type Channels = [Float64Array, Float64Array, Float64Array, Float64Array];

function split(path: PathParams[]): Channels {
  const n = path.length;
  const c: Channels = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  path.forEach((p, i) => {
    if (!(p.scale > 0)) throw new ReshootError(`path frame ${i} has a non-positive scale ${p.scale}`);
    c[0][i] = p.x;
    c[1][i] = p.y;
    c[2][i] = p.angle;
    c[3][i] = Math.log(p.scale);
  });
  return c;
}

function join(c: ArrayLike<number>[]): PathParams[] {
  const n = c[0].length;
  const out: PathParams[] = [];
  for (let i = 0; i < n; i++) out.push({ x: c[0][i], y: c[1][i], angle: c[2][i], scale: Math.exp(c[3][i]) });
  return out;
}

/**
 * Value of the signal at any integer index, padding by point reflection about
 * the end samples ("odd" reflection: x[-i] = 2 x[0] - x[i], and likewise at
 * the far end, repeated when the window is longer than the clip). A straight
 * line continues as the same straight line, so constant-velocity pans and
 * steady zooms pass through every linear filter unchanged, edges included.
 */
function padded(x: Float64Array, i: number): number {
  const n = x.length;
  if (n === 1) return x[0];
  let sign = 1;
  let offset = 0; // value = offset + sign * x[j]
  let j = i;
  for (let guard = 0; guard < 10000 && (j < 0 || j > n - 1); guard++) {
    if (j < 0) {
      // x[j] = 2 x[0] - x[-j]
      offset += sign * 2 * x[0];
      sign = -sign;
      j = -j;
    } else {
      offset += sign * 2 * x[n - 1];
      sign = -sign;
      j = 2 * (n - 1) - j;
    }
  }
  return offset + sign * x[j];
}

function convolve(x: Float64Array, kernel: Float64Array): Float64Array {
  const r = (kernel.length - 1) / 2;
  const n = x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = -r; k <= r; k++) {
      const j = i + k;
      s += kernel[k + r] * (j >= 0 && j < n ? x[j] : padded(x, j));
    }
    out[i] = s;
  }
  return out;
}

export interface MovingAverageOptions {
  /** Window length in frames (default 30). The window is centred: radius floor(window/2), so an even window uses window+1 taps. */
  window?: number;
}

/** Centred moving average; edges padded by point reflection (keeps linear motion exactly). */
export const movingAverage: Smoother<MovingAverageOptions> = (path, opts = {}) => {
  const window = opts.window ?? 30;
  if (!(Number.isInteger(window) && window >= 1)) throw new ReshootError(`moving-average window must be a whole number >= 1, got ${window}`);
  const r = Math.floor(window / 2);
  const k = new Float64Array(2 * r + 1).fill(1 / (2 * r + 1));
  return join(split(path).map((c) => convolve(c, k)));
};

export interface GaussianOptions {
  /** Standard deviation in frames (default 15). The kernel is truncated at 3 sigma and normalised. */
  sigma?: number;
}

export function gaussianKernel(sigma: number, radius = Math.ceil(3 * sigma)): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let i = -radius; i <= radius; i++) s += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/** Gaussian low-pass of a 1-D signal with the same point-reflection padding. */
export function gaussianFilter1D(x: ArrayLike<number>, sigma: number): Float64Array {
  const a = Float64Array.from(x);
  if (sigma <= 0) return a;
  return convolve(a, gaussianKernel(sigma));
}

/** Gaussian smoother (default sigma 15 frames); edges padded by point reflection. */
export const gaussian: Smoother<GaussianOptions> = (path, opts = {}) => {
  const sigma = opts.sigma ?? 15;
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new ReshootError(`gaussian sigma must be a number >= 0, got ${sigma}`);
  return join(split(path).map((c) => gaussianFilter1D(c, sigma)));
};

export interface ConstrainedOptions {
  /** Frame size; needed for the default margins. */
  width?: number;
  height?: number;
  /**
   * Crop budget: the largest zoom the correction may need (default 1.1, i.e.
   * up to ~9 % of each dimension cropped). Split between translation (3/4)
   * and rotation (1/4) to give the default margins below.
   */
  maxZoom?: number;
  /** Largest |smoothed - raw| per channel; override the budget-derived defaults. */
  marginX?: number;
  marginY?: number;
  /** radians */
  marginAngle?: number;
  /** in log(scale) */
  marginLogScale?: number;
  /** Weight of staying close to the raw path (default 1e-4; small = straighter path). */
  lambda?: number;
  /** ADMM iterations cap (default 3000). */
  iterations?: number;
}

/**
 * Default margins for the constrained smoother from a crop budget. A
 * correction translating by (dx, dy) needs zoom ~ 1 + 2 max(|dx|/W, |dy|/H);
 * rotating by a about the centre needs zoom ~ 1 + |a| (W/H + H/W) / 2 (small
 * angles). 3/4 of the budget goes to translation, 1/4 to rotation, and the
 * scale margin is a quarter of log(maxZoom).
 */
export function constrainedMargins(width: number, height: number, maxZoom = 1.1): Required<Pick<ConstrainedOptions, 'marginX' | 'marginY' | 'marginAngle' | 'marginLogScale'>> {
  const b = maxZoom - 1;
  if (!(b > 0)) throw new ReshootError(`maxZoom must be > 1, got ${maxZoom}`);
  return {
    marginX: (0.75 * b * width) / 2,
    marginY: (0.75 * b * height) / 2,
    marginAngle: (0.25 * b) / ((width / height + height / width) / 2),
    marginLogScale: Math.log(maxZoom) / 4,
  };
}

/**
 * Solves, per channel p (x, y, angle, log scale), the crop-constrained path
 *
 *   minimise   sum_t (s_{t+1} - 2 s_t + s_{t-1})^2  +  lambda * sum_t (s_t - p_t)^2
 *   subject to |s_t - p_t| <= margin            for every t
 *
 * i.e. the smoothest path (least acceleration, so constant velocity costs
 * nothing: pans and steady zooms are kept exactly) that stays within a tube
 * around the raw path whose width is what the crop budget allows. This is the
 * L2 cousin of Grundmann et al. 2011 (L1-optimal camera paths, solved there by
 * an LP): with a small lambda the path is as straight as the crop permits and
 * bends only where the tube forces it. Solved by ADMM with the splitting
 * s = z, z in the box: the s-step is a pentadiagonal SPD system (banded
 * Cholesky, factored once), the z-step a clamp. The returned path is the
 * z iterate, so the constraint holds exactly.
 */
export const constrained: Smoother<ConstrainedOptions> = (path, opts = {}) => {
  const n = path.length;
  if (n < 3) return path.map((p) => ({ ...p }));
  let margins: number[];
  if ([opts.marginX, opts.marginY, opts.marginAngle, opts.marginLogScale].every((v) => v !== undefined)) {
    margins = [opts.marginX!, opts.marginY!, opts.marginAngle!, opts.marginLogScale!];
  } else {
    if (!(opts.width && opts.height)) throw new ReshootError('constrained smoother needs width and height (or all four margins)');
    const d = constrainedMargins(opts.width, opts.height, opts.maxZoom ?? 1.1);
    margins = [opts.marginX ?? d.marginX, opts.marginY ?? d.marginY, opts.marginAngle ?? d.marginAngle, opts.marginLogScale ?? d.marginLogScale];
  }
  margins.forEach((m) => {
    if (!(m >= 0 && Number.isFinite(m))) throw new ReshootError(`constrained smoother margins must be finite and >= 0, got ${m}`);
  });
  const lambda = opts.lambda ?? 1e-4;
  const iterations = opts.iterations ?? 3000;
  const channels = split(path);
  return join(channels.map((p, c) => solveTube(p, margins[c], lambda, iterations)));
};

/** ADMM for min ||D2 s||^2 + lambda ||s - p||^2 s.t. |s - p| <= m. */
export function solveTube(p: Float64Array, m: number, lambda: number, iterations: number): Float64Array {
  const n = p.length;
  // scale-free: work on q = s - p, minimise ||D2 (q + p)||^2 + lambda ||q||^2, |q| <= m
  const rho = 1;
  // A = 2 D2^T D2 + (2 lambda + rho) I, pentadiagonal
  const d0 = new Float64Array(n), d1 = new Float64Array(n), d2 = new Float64Array(n);
  for (let i = 1; i < n - 1; i++) {
    // row of D2: [1, -2, 1] at i-1, i, i+1; D2^T D2 accumulates outer products
    const idx = [i - 1, i, i + 1];
    const w = [1, -2, 1];
    for (let a = 0; a < 3; a++) {
      for (let b = a; b < 3; b++) {
        const v = 2 * w[a] * w[b];
        const off = b - a;
        const r = idx[a];
        if (off === 0) d0[r] += v;
        else if (off === 1) d1[r] += v;
        else d2[r] += v;
      }
    }
  }
  for (let i = 0; i < n; i++) d0[i] += 2 * lambda + rho;
  // banded LDL^T (bandwidth 2)
  const L1 = new Float64Array(n), L2 = new Float64Array(n), D = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let dii = d0[i];
    if (i >= 1) dii -= L1[i - 1] * L1[i - 1] * D[i - 1];
    if (i >= 2) dii -= L2[i - 2] * L2[i - 2] * D[i - 2];
    D[i] = dii;
    if (i + 1 < n) {
      let v = d1[i];
      if (i >= 1) v -= L1[i - 1] * L2[i - 1] * D[i - 1];
      L1[i] = v / dii; // L[i+1][i]
    }
    if (i + 2 < n) L2[i] = d2[i] / dii; // L[i+2][i]
  }
  const solve = (b: Float64Array): Float64Array => {
    const y = Float64Array.from(b);
    for (let i = 0; i < n; i++) {
      if (i >= 1) y[i] -= L1[i - 1] * y[i - 1];
      if (i >= 2) y[i] -= L2[i - 2] * y[i - 2];
    }
    for (let i = 0; i < n; i++) y[i] /= D[i];
    for (let i = n - 1; i >= 0; i--) {
      if (i + 1 < n) y[i] -= L1[i] * y[i + 1];
      if (i + 2 < n) y[i] -= L2[i] * y[i + 2];
    }
    return y;
  };
  // gradient constant term: 2 D2^T D2 p, linear in q; RHS = -2 D2^T D2 p + rho (z - u)
  const g = new Float64Array(n);
  for (let i = 1; i < n - 1; i++) {
    const a = p[i - 1] - 2 * p[i] + p[i + 1];
    g[i - 1] += 2 * a;
    g[i] -= 4 * a;
    g[i + 1] += 2 * a;
  }
  let z = new Float64Array(n);
  const u = new Float64Array(n);
  const b = new Float64Array(n);
  const scale = Math.max(m, 1e-12);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < n; i++) b[i] = -g[i] + rho * (z[i] - u[i]);
    const q = solve(b);
    const zPrev = z;
    z = new Float64Array(n);
    let rp = 0, rd = 0;
    for (let i = 0; i < n; i++) {
      const v = q[i] + u[i];
      z[i] = v > m ? m : v < -m ? -m : v;
      u[i] += q[i] - z[i];
      rp = Math.max(rp, Math.abs(q[i] - z[i]));
      rd = Math.max(rd, Math.abs(z[i] - zPrev[i]));
    }
    if (it > 10 && rp < 1e-7 * scale && rd < 1e-7 * scale) break;
  }
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = p[i] + z[i];
  return s;
}

export type SmootherName = 'moving-average' | 'gaussian' | 'constrained';

/** Look-up by name for configs and the CLI. */
export const smoothers: Record<SmootherName, Smoother<any>> = {
  'moving-average': movingAverage,
  gaussian,
  constrained,
};

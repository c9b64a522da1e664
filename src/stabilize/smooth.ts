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

/** Per-channel tube half-widths; when absent they come from the crop budget (maxZoom). */
export interface TubeMargins {
  /** Largest |smoothed - raw| per channel; override the budget-derived defaults. */
  marginX?: number;
  marginY?: number;
  /** radians */
  marginAngle?: number;
  /** in log(scale) */
  marginLogScale?: number;
}

/**
 * Per-channel tube half-widths [x, y, angle, log-scale]: the explicit margins,
 * with any missing one derived from the crop budget (opts.maxZoom, else
 * defaultZoom) and the frame size.
 */
function tubeMargins(
  smoother: string,
  opts: TubeMargins & { width?: number; height?: number; maxZoom?: number },
  defaultZoom: number,
): number[] {
  const given = [opts.marginX, opts.marginY, opts.marginAngle, opts.marginLogScale];
  if (given.every((v) => v !== undefined)) return given as number[];
  if (!(opts.width && opts.height)) throw new ReshootError(`${smoother} smoother needs width and height (or all four margins)`);
  const d = constrainedMargins(opts.width, opts.height, opts.maxZoom ?? defaultZoom);
  return [opts.marginX ?? d.marginX, opts.marginY ?? d.marginY, opts.marginAngle ?? d.marginAngle, opts.marginLogScale ?? d.marginLogScale];
}

export interface ConstrainedOptions extends TubeMargins {
  /** Frame size; needed for the default margins. */
  width?: number;
  height?: number;
  /**
   * Crop budget: the largest zoom the correction may need (default 1.1, i.e.
   * up to ~9 % of each dimension cropped). Split between translation (3/4)
   * and rotation (1/4) to give the default margins below.
   */
  maxZoom?: number;
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
  const margins = tubeMargins('constrained', opts, 1.1);
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

export interface L1Options extends TubeMargins {
  /** Frame size; needed for the default margins. */
  width?: number;
  height?: number;
  /** Crop budget as a zoom (default 1.2), split into per-channel margins by constrainedMargins. */
  maxZoom?: number;
  /** Weight of |D1 s| (velocity) in the static candidate, in margin units (default 10). */
  w1?: number;
  /** Weight of |D2 s| (acceleration), both candidates (default 1). */
  w2?: number;
  /** Weight of |D3 s| (jerk), both candidates (default 1). */
  w3?: number;
  /** Weight of (1/2) sum (s - p)^2 in margin units: the pull towards the raw path (default 0.01). */
  lambda?: number;
  /**
   * 'auto' (default): per channel, the static candidate when it stays within
   * kappa x the shake level of the moving one, else the moving one.
   * 'static' / 'moving': always that candidate.
   */
  path?: 'auto' | 'static' | 'moving' | 'piecewise' | 'hybrid';
  /** 'piecewise': weights of |D1 s|, |D2 s|, |D3 s| in units of the channel's shake level (defaults in L1_DEFAULTS). */
  pw1?: number;
  pw2?: number;
  pw3?: number;
  /** 'piecewise': weight of (1/2) |s - p|^2 in shake units (default 1). */
  pwLambda?: number;
  /** Threshold of the 'auto' choice, in units of the estimated shake RMS (default 1.3). */
  kappa?: number;
  /**
   * 'auto' takes the static candidate only if it holds still (|s_t - s_{t-1}| ~ 0)
   * on at least this fraction of the frames (default 0.5): where the tube is
   * too narrow for a tripod shot, the static candidate is a lazy staircase
   * version of the motion, not a tripod.
   */
  minStill?: number;
  /**
   * Smooth x / scale and y / scale instead of x and y (default true): during a
   * zoom the frame-0 centre's offset grows with the scale, and dividing it out
   * turns a constant-velocity pan during a dolly into a straight line.
   */
  translationByScale?: boolean;
  /** ADMM iterations cap per solve (default 10000). */
  iterations?: number;
}

export const L1_DEFAULTS = { maxZoom: 1.2, w1: 10, w2: 1, w3: 1, lambda: 0.01, kappa: 1.3, minStill: 0.5, iterations: 10000, pw1: 0, pw2: 100, pw3: 100, pwLambda: 1, pwRho: 30, pwTol: 3e-4, pwIterations: 800 } as const;

/**
 * Robust shake level of one channel: 1.4826 x the median absolute value of
 * the signal minus its Gaussian low-pass (sigma 8 frames, point-reflection
 * padding, so straight pans and steady zooms leave nothing). Sets the unit
 * the piecewise path's weights are measured in.
 */
export function shakeLevel(p: Float64Array, sigma = 8): number {
  const lp = gaussianFilter1D(p, sigma);
  const d = Array.from(p, (v, i) => Math.abs(v - lp[i])).sort((a, b) => a - b);
  return 1.4826 * d[Math.floor(d.length / 2)];
}

/**
 * L1-optimal camera path in a crop tube (after Grundmann, Kwatra, Essa 2011,
 * "Auto-Directed Video Stabilization with Robust L1 Optimal Camera Paths"; the
 * solver is L1 trend filtering, Kim, Koh, Boyd, Gorinevsky 2009, with a box).
 * Per channel (x, y, angle, log scale; x and y divided by the scale, see
 * translationByScale), two candidates solve
 *
 *   minimise   w1 |D1 s|_1 + w2 |D2 s|_1 + w3 |D3 s|_1 + (lambda/2) |s - p|^2
 *   subject to |s_t - p_t| <= margin   for every t            (p, s, margin in margin units)
 *
 * - static: the weights above (w1 large): piecewise constant wherever the
 *   tube allows (a tripod shot).
 * - moving: w1 = 0: piecewise linear / parabolic (a pan, an ease-in), kept
 *   unshrunk; the small lambda only picks the path nearest the raw one among
 *   the equally straight ones.
 * L1 alone cannot tell a slow intentional pan from the slow part of the shake
 * without shrinking the pan (an L1 velocity penalty biases every pan towards
 * zero, and flattens its ends inside the tube), so instead the static
 * candidate is taken when it differs from the moving one (RMS) by at most
 * kappa times the shake level, estimated as the RMS of (raw - moving); else the
 * moving one (and only if it holds still on at least minStill of the frames).
 * The choice is per channel over the whole clip. Returned paths
 * satisfy |S - P| <= margin on every frame and channel exactly.
 */
export const l1: Smoother<L1Options> = (path, opts = {}) => {
  const n = path.length;
  if (n < 3) return path.map((p) => ({ ...p }));
  const margins = tubeMargins('l1', opts, L1_DEFAULTS.maxZoom);
  margins.forEach((m) => {
    if (!(m >= 0 && Number.isFinite(m))) throw new ReshootError(`l1 smoother margins must be finite and >= 0, got ${m}`);
  });
  const w = [opts.w1 ?? L1_DEFAULTS.w1, opts.w2 ?? L1_DEFAULTS.w2, opts.w3 ?? L1_DEFAULTS.w3];
  const lambda = opts.lambda ?? L1_DEFAULTS.lambda;
  const kappa = opts.kappa ?? L1_DEFAULTS.kappa;
  [...w, lambda, kappa].forEach((v) => {
    if (!(v >= 0 && Number.isFinite(v))) throw new ReshootError(`l1 smoother weights and kappa must be finite and >= 0, got ${v}`);
  });
  const minStill = opts.minStill ?? L1_DEFAULTS.minStill;
  if (!(minStill >= 0 && minStill <= 1)) throw new ReshootError(`l1 minStill must be in [0, 1], got ${minStill}`);
  const mode = opts.path ?? 'hybrid';
  if (!['auto', 'static', 'moving', 'piecewise', 'hybrid'].includes(mode)) throw new ReshootError(`l1 path must be auto, static, moving, piecewise or hybrid, got '${mode}'`);
  const pw = [opts.pw1 ?? L1_DEFAULTS.pw1, opts.pw2 ?? L1_DEFAULTS.pw2, opts.pw3 ?? L1_DEFAULTS.pw3, opts.pwLambda ?? L1_DEFAULTS.pwLambda];
  pw.forEach((v) => {
    if (!(v >= 0 && Number.isFinite(v))) throw new ReshootError(`l1 piecewise weights must be finite and >= 0, got ${v}`);
  });
  const iterations = opts.iterations ?? L1_DEFAULTS.iterations;
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new ReshootError(`l1 iterations must be a whole number >= 1, got ${iterations}`);
  const byScale = opts.translationByScale ?? true;
  const raw = split(path);
  const ch = split(path);
  if (byScale) {
    for (let i = 0; i < n; i++) {
      const sc = Math.exp(ch[3][i]);
      ch[0][i] /= sc;
      ch[1][i] /= sc;
    }
  }
  // margins for x / scale: the tube is enforced on x itself at the end, so any
  // margin would do; dividing by the largest scale keeps the solve inside it mostly
  const maxScale = Math.max(...raw[3].map((v) => Math.exp(v)));
  const solveMargins = margins.map((m, c) => (byScale && c < 2 ? m / maxScale : m));
  const out = ch.map((p, c) => {
    const m = solveMargins[c];
    const piecewise = () => {
      const unit = Math.max(shakeLevel(p), 1e-3 * m);
      return solveL1Tube(p, m, [pw[0], pw[1], pw[2]], pw[3], Math.min(iterations, L1_DEFAULTS.pwIterations), L1_DEFAULTS.pwRho, unit, L1_DEFAULTS.pwTol);
    };
    if (mode === 'piecewise') return piecewise();
    const moving = mode === 'static' ? undefined : mode === 'hybrid' ? piecewise() : solveL1Tube(p, m, [0, w[1], w[2]], lambda, iterations, 1);
    if (mode === 'moving') return moving!;
    const still = solveL1Tube(p, m, w, lambda, mode === 'hybrid' ? Math.min(iterations, L1_DEFAULTS.pwIterations * 2.5) : iterations, 0.3);
    if (!moving) return still;
    let r = 0, d = 0;
    for (let i = 0; i < n; i++) {
      r += (p[i] - moving[i]) ** 2;
      d += (still[i] - moving[i]) ** 2;
    }
    let held = 0;
    for (let i = 1; i < n; i++) if (Math.abs(still[i] - still[i - 1]) <= 1e-4 * m) held++;
    return Math.sqrt(d / n) <= kappa * Math.sqrt(r / n) && held >= minStill * (n - 1) ? still : moving;
  });
  if (byScale) {
    for (let i = 0; i < n; i++) {
      const sc = Math.exp(out[3][i]);
      for (let c = 0; c < 2; c++) out[c][i] = Math.min(raw[c][i] + margins[c], Math.max(raw[c][i] - margins[c], out[c][i] * sc));
    }
  }
  return join(out);
};

/** Difference stencils D1, D2, D3. */
const STENCILS = [[-1, 1], [1, -2, 1], [-1, 3, -3, 1]];

function applyD(k: number, x: Float64Array, out: Float64Array): void {
  const st = STENCILS[k];
  for (let i = 0; i + st.length <= x.length; i++) {
    let v = 0;
    for (let j = 0; j < st.length; j++) v += st[j] * x[i + j];
    out[i] = v;
  }
}

/** out += scale * D_k^T y */
function addDT(k: number, y: Float64Array, out: Float64Array, scale: number): void {
  const st = STENCILS[k];
  for (let i = 0; i < y.length; i++) for (let j = 0; j < st.length; j++) out[i + j] += scale * st[j] * y[i];
}

/** Banded symmetric positive definite matrix factored as L D L^T (band[k][i] = A[i][i+k]). */
class BandedLDL {
  /** L[k][i] = L[i+k][i] */
  private readonly L: Float64Array[];
  private readonly D: Float64Array;
  constructor(private readonly n: number, private readonly bw: number, band: Float64Array[]) {
    const L = (this.L = Array.from({ length: bw + 1 }, () => new Float64Array(n)));
    const D = (this.D = new Float64Array(n));
    for (let j = 0; j < n; j++) {
      let d = band[0][j];
      for (let k = 1; k <= bw && j - k >= 0; k++) d -= L[k][j - k] ** 2 * D[j - k];
      D[j] = d;
      for (let r = 1; r <= bw && j + r < n; r++) {
        let v = band[r][j];
        for (let m = Math.max(0, j + r - bw); m < j; m++) v -= L[j + r - m][m] * L[j - m][m] * D[m];
        L[r][j] = v / d;
      }
    }
  }
  solveInPlace(y: Float64Array): void {
    const { L, D, n, bw } = this;
    for (let i = 0; i < n; i++) for (let k = 1; k <= bw && i - k >= 0; k++) y[i] -= L[k][i - k] * y[i - k];
    for (let i = 0; i < n; i++) y[i] /= D[i];
    for (let i = n - 1; i >= 0; i--) for (let k = 1; k <= bw && i + k < n; k++) y[i] -= L[k][i] * y[i + k];
  }
}

/**
 * ADMM for  min  sum_k w_k |D_k s|_1 + (lambda/2) |s - p|^2  s.t. |s - p| <= m
 * on one channel, in margin units (p / m) so the weights mean the same for
 * every channel. Splitting y_k = D_k s (soft-threshold) and z = s (clamp to
 * the tube); the s-step is a banded SPD system (bandwidth 3), factored once.
 * Starts from the raw path; returns the z iterate, so |s - p| <= m holds
 * exactly. A ramp (or a constant) is a fixed point when w1 = 0 (resp. any w).
 */
export function solveL1Tube(raw: Float64Array, m: number, w: number[], lambda: number, iterations: number, rho = 1, unit = m, tol = 1e-6): Float64Array {
  const n = raw.length;
  if (!(m > 0) || !(unit > 0) || n < 3) return Float64Array.from(raw);
  // work in `unit`s (the margin by default) so weights mean the same on every channel; the tube is m / unit
  const tube = m / unit;
  const p = Float64Array.from(raw, (v) => v / unit);
  const ks = [0, 1, 2].filter((k) => w[k] > 0 && n > k + 1);
  const bw = Math.max(1, ...ks.map((k) => k + 1));
  const band = Array.from({ length: bw + 1 }, () => new Float64Array(n));
  band[0].fill(lambda + rho);
  for (const k of ks) {
    const st = STENCILS[k];
    for (let r = 0; r + st.length <= n; r++) {
      for (let a = 0; a < st.length; a++) for (let b = a; b < st.length; b++) band[b - a][r + a] += rho * st[a] * st[b];
    }
  }
  const A = new BandedLDL(n, bw, band);
  const y = ks.map((k) => new Float64Array(n - k - 1));
  const u = ks.map((k) => new Float64Array(n - k - 1));
  const dk = ks.map((k) => new Float64Array(n - k - 1));
  const tmp = ks.map((k) => new Float64Array(n - k - 1));
  const z = Float64Array.from(p);
  const uz = new Float64Array(n);
  ks.forEach((k, j) => applyD(k, p, y[j]));
  const s = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < n; i++) s[i] = lambda * p[i] + rho * (z[i] - uz[i]);
    ks.forEach((k, j) => {
      const t = tmp[j], yj = y[j], uj = u[j];
      for (let i = 0; i < t.length; i++) t[i] = yj[i] - uj[i];
      addDT(k, t, s, rho);
    });
    A.solveInPlace(s);
    let rp = 0, rd = 0;
    ks.forEach((k, j) => {
      applyD(k, s, dk[j]);
      const thr = w[k] / rho;
      const yj = y[j], uj = u[j], d = dk[j];
      for (let i = 0; i < yj.length; i++) {
        const v = d[i] + uj[i];
        const nv = v > thr ? v - thr : v < -thr ? v + thr : 0;
        rd = Math.max(rd, Math.abs(nv - yj[i]));
        yj[i] = nv;
        uj[i] += d[i] - nv;
        rp = Math.max(rp, Math.abs(d[i] - nv));
      }
    });
    for (let i = 0; i < n; i++) {
      const v = s[i] + uz[i];
      const lo = p[i] - tube, hi = p[i] + tube;
      const nz = v > hi ? hi : v < lo ? lo : v;
      rd = Math.max(rd, Math.abs(nz - z[i]));
      z[i] = nz;
      uz[i] += s[i] - nz;
      rp = Math.max(rp, Math.abs(s[i] - nz));
    }
    if (rp < tol && rd < tol) break;
  }
  return Float64Array.from(z, (v) => v * unit);
}

/** Every smoother's name, the default first: configs and the CLI derive their choices from it. */
export const SMOOTHERS = ['l1', 'moving-average', 'gaussian', 'constrained'] as const;
export type SmootherName = (typeof SMOOTHERS)[number];

/** Look-up by name for configs and the CLI. */
export const smoothers: Record<SmootherName, Smoother<any>> = {
  'moving-average': movingAverage,
  gaussian,
  constrained,
  l1,
};

/** A stretch of a smoothed channel: frames [start, end). */
export interface PathPiece {
  start: number;
  end: number;
  /** still: |velocity| <= still; constant: |acceleration| <= constant (a pan, a steady zoom); easing: the rest. */
  kind: 'still' | 'constant' | 'easing';
}

/**
 * The pieces a smoothed channel is made of, for plots and reports (notebook
 * 02): frame t is classified from the forward difference v_t = s_{t+1} - s_t
 * and the second difference around it, in the channel's units per frame
 * (defaults suit px: 0.05 px/frame still, 0.01 px/frame^2 constant), then
 * equal neighbours are merged. The last frame takes its predecessor's kind.
 */
export function pathPieces(values: ArrayLike<number>, tol: { still?: number; constant?: number } = {}): PathPiece[] {
  const n = values.length;
  const still = tol.still ?? 0.05, constant = tol.constant ?? 0.01;
  if (!(still >= 0 && constant >= 0)) throw new ReshootError(`pathPieces tolerances must be >= 0, got ${still} and ${constant}`);
  if (n === 0) return [];
  if (n === 1) return [{ start: 0, end: 1, kind: 'still' }];
  const kinds: PathPiece['kind'][] = [];
  for (let t = 0; t < n - 1; t++) {
    const v = values[t + 1] - values[t];
    // acceleration: the larger of the second differences on either side of this step
    const a = Math.max(t > 0 ? Math.abs(v - (values[t] - values[t - 1])) : 0, t + 2 < n ? Math.abs(values[t + 2] - values[t + 1] - v) : 0);
    kinds.push(Math.abs(v) <= still ? 'still' : a <= constant ? 'constant' : 'easing');
  }
  kinds.push(kinds[n - 2]);
  const pieces: PathPiece[] = [];
  for (let t = 0; t < n; t++) {
    const last = pieces[pieces.length - 1];
    if (last && last.kind === kinds[t]) last.end = t + 1;
    else pieces.push({ start: t, end: t + 1, kind: kinds[t] });
  }
  return pieces;
}

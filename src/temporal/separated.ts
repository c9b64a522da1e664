/**
 * The pieces of the 'separated' consistency method (see README.md), each for
 * one kind of flicker, all measured against W = the previous output warped
 * onto frame t by the guide's flow:
 *
 * - globalColorFit: per-channel gain/offset that matches the generated
 *   frame's mean and spread to W's over reliable pixels (global flicker, A);
 * - lowFrequencyField: the remaining difference W - G, smoothed with a
 *   mask-normalised Gaussian, i.e. a smooth offset field (boiling, B);
 * - blendDetail: per-pixel blend towards W weighted by flow confidence and by
 *   how close W is to the corrected generated pixel (fine texture noise, C),
 *   so that where they disagree (occlusion, flow error, a moving edge) the
 *   generated pixel is kept rather than smeared.
 *
 * Everything statistical runs at the flow size; only the final blend touches
 * every full-size pixel.
 */
import type { Mat } from '@techstark/opencv-js';
import { loadOpenCV } from '../cv/opencv.js';
import type { Frame } from '../video/types.js';
import { gradientMagnitude, rgbToGray } from '../flow/gray.js';
import { ReshootError } from '../util/errors.js';

/** out_c = gain[c] * in_c + offset[c], per RGB channel. */
export interface ChannelAffine {
  gain: [number, number, number];
  offset: [number, number, number];
}

export const IDENTITY_AFFINE: Readonly<ChannelAffine> = Object.freeze({ gain: [1, 1, 1], offset: [0, 0, 0] }) as Readonly<ChannelAffine>;

/**
 * Per-channel gain/offset taking `src`'s mean and standard deviation to
 * `target`'s over the pixels where weight > 0.5 (both images the same size,
 * RGB), then moved a fraction `strength` of the way from the identity.
 * Mean/std matching rather than regression: regression of noisy data onto
 * noisy data shrinks the gain (regression dilution); pass blurred images so
 * that fine noise does not inflate the spread either. Gains are clamped to
 * [0.5, 2]; with fewer than `minPixels` reliable pixels the identity is returned.
 */
export function globalColorFit(src: Uint8Array | Float32Array, target: Uint8Array | Float32Array, weight: Float32Array, strength: number, minPixels = 64): ChannelAffine {
  const s1 = [0, 0, 0], s2 = [0, 0, 0], t1 = [0, 0, 0], t2 = [0, 0, 0];
  let n = 0;
  for (let i = 0, j = 0; i < weight.length; i++, j += 3) {
    if (weight[i] <= 0.5) continue;
    n++;
    for (let c = 0; c < 3; c++) {
      const a = src[j + c], b = target[j + c];
      s1[c] += a;
      s2[c] += a * a;
      t1[c] += b;
      t2[c] += b * b;
    }
  }
  if (n < minPixels) return { gain: [1, 1, 1], offset: [0, 0, 0] };
  const gain: [number, number, number] = [1, 1, 1], offset: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    const ms = s1[c] / n, mt = t1[c] / n;
    const vs = Math.max(0, s2[c] / n - ms * ms), vt = Math.max(0, t2[c] / n - mt * mt);
    // A flat channel (no spread) carries no contrast information: match the mean only.
    const g = vs > 1 ? Math.min(2, Math.max(0.5, Math.sqrt(vt / vs))) : 1;
    const o = mt - g * ms;
    gain[c] = 1 + strength * (g - 1);
    offset[c] = strength * o;
  }
  return { gain, offset };
}

/**
 * Smooth per-channel offset field at the size of the inputs (w x h):
 * F = G_sigma * (weight * (target - affine(src))) / G_sigma * weight, faded
 * to 0 where the local weight mass is below 0.25 (nothing reliable nearby).
 * Pixels whose residual exceeds max(12, 3 x its median) carry no weight.
 * Returns w*h*3 floats.
 */
export async function lowFrequencyField(src: Uint8Array, target: Uint8Array, weight: Float32Array, w: number, h: number, affine: ChannelAffine, sigma: number): Promise<Float32Array> {
  const cv = await loadOpenCV();
  const n = w * h;
  const mats: Mat[] = [];
  const mk = (m: Mat): Mat => {
    mats.push(m);
    return m;
  };
  try {
    const num = mk(new cv.Mat(h, w, cv.CV_32FC3));
    const den = mk(new cv.Mat(h, w, cv.CV_32FC1));
    const N = num.data32F as Float32Array, D = den.data32F as Float32Array;
    const { gain, offset } = affine;
    // Outliers leave the field: a residual far above the frame's typical one is content that moved
    // (a person the flow missed), not flicker, and smoothing it would paint a halo of its colour
    // around the subject. Cut at 3 x the median residual over reliable pixels, at least 12 levels.
    const residual = new Uint8Array(n);
    const histogram = new Uint32Array(256);
    let reliable = 0;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const r = Math.max(
        Math.abs(target[j] - (gain[0] * src[j] + offset[0])),
        Math.abs(target[j + 1] - (gain[1] * src[j + 1] + offset[1])),
        Math.abs(target[j + 2] - (gain[2] * src[j + 2] + offset[2])),
      );
      residual[i] = Math.min(255, Math.round(r));
      if (weight[i] > 0.5) {
        histogram[residual[i]]++;
        reliable++;
      }
    }
    let median = 0;
    for (let acc = 0; median < 255 && (acc += histogram[median]) < reliable / 2; median++);
    const cut = Math.max(12, 3 * median);
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const m = residual[i] > cut ? 0 : weight[i];
      D[i] = m;
      N[j] = m * (target[j] - (gain[0] * src[j] + offset[0]));
      N[j + 1] = m * (target[j + 1] - (gain[1] * src[j + 1] + offset[1]));
      N[j + 2] = m * (target[j + 2] - (gain[2] * src[j + 2] + offset[2]));
    }
    const bn = mk(new cv.Mat()), bd = mk(new cv.Mat());
    const k = new cv.Size(0, 0);
    if (sigma >= 2 && w >= 32 && h >= 32) {
      // A wide Gaussian of a smooth field: blur at half size (area-averaged, sigma / 2) and
      // upsample bilinearly; about 8x less work than the full kernel, and the field is smooth
      // on a far larger scale than the 2 px grid of the half size.
      const hw = Math.round(w / 2), hh = Math.round(h / 2);
      const sn = mk(new cv.Mat()), sd = mk(new cv.Mat()), tn = mk(new cv.Mat()), td = mk(new cv.Mat());
      cv.resize(num, sn, new cv.Size(hw, hh), 0, 0, cv.INTER_AREA);
      cv.resize(den, sd, new cv.Size(hw, hh), 0, 0, cv.INTER_AREA);
      // The area average already smoothed by about half a (half-size) pixel.
      const s2 = Math.sqrt(Math.max(0.25, (sigma / 2) ** 2 - 0.25));
      cv.GaussianBlur(sn, tn, k, s2, s2, cv.BORDER_REFLECT);
      cv.GaussianBlur(sd, td, k, s2, s2, cv.BORDER_REFLECT);
      cv.resize(tn, bn, new cv.Size(w, h), 0, 0, cv.INTER_LINEAR);
      cv.resize(td, bd, new cv.Size(w, h), 0, 0, cv.INTER_LINEAR);
    } else {
      cv.GaussianBlur(num, bn, k, sigma, sigma, cv.BORDER_REFLECT);
      cv.GaussianBlur(den, bd, k, sigma, sigma, cv.BORDER_REFLECT);
    }
    const BN = bn.data32F as Float32Array, BD = bd.data32F as Float32Array;
    const out = new Float32Array(n * 3);
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const d = BD[i];
      if (d < 1e-3) continue;
      const fade = d < 0.25 ? d / 0.25 : 1;
      const f = fade / d;
      out[j] = BN[j] * f;
      out[j + 1] = BN[j + 1] * f;
      out[j + 2] = BN[j + 2] * f;
    }
    return out;
  } finally {
    for (const m of mats) m.delete();
  }
}

/** Bilinear upsampling of a w x h x channels float image to W x H (cv.resize). */
export async function upsampleFloat(data: Float32Array, w: number, h: number, channels: 1 | 3, W: number, H: number): Promise<Float32Array> {
  if (w === W && h === H) return data;
  const cv = await loadOpenCV();
  const src = new cv.Mat(h, w, channels === 1 ? cv.CV_32FC1 : cv.CV_32FC3);
  const dst = new cv.Mat();
  try {
    (src.data32F as Float32Array).set(data);
    cv.resize(src, dst, new cv.Size(W, H), 0, 0, cv.INTER_LINEAR);
    return new Float32Array(dst.data32F as Float32Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Area-averaged downsampling of an RGB frame (cv.resize INTER_AREA). */
export async function downsampleRgb(f: Frame, w: number, h: number): Promise<Uint8Array> {
  if (f.width === w && f.height === h) return f.data;
  const cv = await loadOpenCV();
  const src = new cv.Mat(f.height, f.width, cv.CV_8UC3);
  const dst = new cv.Mat();
  try {
    (src.data as Uint8Array).set(f.data);
    cv.resize(src, dst, new cv.Size(w, h), 0, 0, cv.INTER_AREA);
    return new Uint8Array(dst.data as Uint8Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

/** 3x3 box average of a 0/1 mask (cv.blur, border replicated): soft confidence, so blend weights do not step at mask edges. */
export async function softenMask(mask: Uint8Array, w: number, h: number): Promise<Float32Array> {
  const cv = await loadOpenCV();
  const src = new cv.Mat(h, w, cv.CV_32FC1);
  const dst = new cv.Mat();
  try {
    (src.data32F as Float32Array).set(mask);
    cv.blur(src, dst, new cv.Size(3, 3), new cv.Point(-1, -1), cv.BORDER_REPLICATE);
    return new Float32Array(dst.data32F as Float32Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Parameters of blendDetail. */
export interface DetailBlend {
  /** Largest weight of the warped pixel, in [0, 1). */
  strength: number;
  /**
   * Gaussian tolerance on the distance d (8-bit levels), or 'auto': 2 x the
   * median d over reliable pixels (it follows the residual level), at least 3.
   */
  tolerance: number | 'auto';
  /** d is |box average of (W - M)| over a (2 radius + 1)^2 window (mean over channels): noise averages out, misalignment does not. 0: per pixel. */
  radius: number;
  /** Fractions of the global correction (affine) and of the offset field applied, in [0, 1]. */
  colorStrength: number;
  fieldStrength: number;
}

/**
 * Full-size blend. M = affine(G) + field is the generated frame fully
 * matched to W's colour and low frequencies; C = G + colorStrength (affine(G)
 * - G) + fieldStrength field is what is kept of that match (with both
 * strengths below 1 the output's low frequencies are an exponential moving
 * average of the generated ones along the flow, so the bias of an early
 * frame fades instead of lasting). Detail: out = C + w (W - M), i.e. only
 * the part of W that the match does not explain (fine texture) is blended,
 * so the blend cannot bring W's low frequencies back; w = strength *
 * confidence * exp(-d^2 / (2 tol^2)), where d is the local average of W - M:
 * the generator's texture noise is incoherent and averages away, while a
 * misaligned or occluded edge gives a coherent difference that survives, so
 * noise is blended and moving edges are not smeared.
 * Returns the frame, the mean weight and the tolerance used.
 */
export async function blendDetail(G: Uint8Array, W: Uint8Array, confidence: Float32Array, field: Float32Array | undefined, affine: ChannelAffine, width: number, height: number, p: DetailBlend): Promise<{ data: Uint8Array; meanWeight: number; tolerance: number }> {
  const n = confidence.length;
  const out = new Uint8Array(n * 3);
  const ka = p.colorStrength, kf = field ? p.fieldStrength : 0;
  const [a0, a1, a2] = affine.gain, [b0, b1, b2] = affine.offset;
  const F = field ?? new Float32Array(3);
  const fstep = field ? 3 : 0;
  // Pass 1: e = W - M per channel (kept) and its channel mean, box-averaged by OpenCV.
  const E = new Float32Array(n * 3);
  const cv = await loadOpenCV();
  const em = new cv.Mat(height, width, cv.CV_32FC1);
  const eb = new cv.Mat();
  let D: Float32Array;
  try {
    const EM = em.data32F as Float32Array;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const f = fstep ? j : 0;
      const e0 = W[j] - (a0 * G[j] + b0 + F[f]), e1 = W[j + 1] - (a1 * G[j + 1] + b1 + F[f + 1]), e2 = W[j + 2] - (a2 * G[j + 2] + b2 + F[f + 2]);
      E[j] = e0;
      E[j + 1] = e1;
      E[j + 2] = e2;
      EM[i] = (e0 + e1 + e2) / 3;
    }
    if (p.radius > 0) {
      const k = 2 * p.radius + 1;
      cv.blur(em, eb, new cv.Size(k, k), new cv.Point(-1, -1), cv.BORDER_REFLECT);
      D = new Float32Array(eb.data32F as Float32Array);
    } else D = new Float32Array(EM);
  } finally {
    em.delete();
    eb.delete();
  }
  for (let i = 0; i < n; i++) D[i] = Math.abs(D[i]);
  let tol: number;
  if (p.tolerance === 'auto') {
    const ds: number[] = [];
    for (let i = 0; i < n; i += 7) if (confidence[i] >= 0.99) ds.push(D[i]);
    ds.sort((a, b) => a - b);
    tol = Math.max(3, 2 * (ds.length ? ds[ds.length >> 1] : 1.5));
  } else tol = p.tolerance;
  // exp(-d^2 / 2 tol^2) tabulated in quarter levels: one lookup per pixel instead of Math.exp.
  const steps = 4 * 256;
  const lut = new Float32Array(steps + 1);
  const inv = 1 / (2 * tol * tol);
  for (let k = 0; k <= steps; k++) lut[k] = p.strength * Math.exp(-((k / 4) ** 2) * inv);
  let wsum = 0;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const f = fstep ? j : 0;
    const q = D[i] * 4;
    const wt = confidence[i] * lut[q < steps ? q | 0 : steps];
    wsum += wt;
    const v0 = G[j] + ka * (a0 * G[j] + b0 - G[j]) + kf * F[f] + wt * E[j] + 0.5;
    const v1 = G[j + 1] + ka * (a1 * G[j + 1] + b1 - G[j + 1]) + kf * F[f + 1] + wt * E[j + 1] + 0.5;
    const v2 = G[j + 2] + ka * (a2 * G[j + 2] + b2 - G[j + 2]) + kf * F[f + 2] + wt * E[j + 2] + 0.5;
    // Uint8Array stores modulo 256: clamp explicitly (truncation after +0.5 rounds).
    out[j] = v0 < 0 ? 0 : v0 > 255 ? 255 : v0;
    out[j + 1] = v1 < 0 ? 0 : v1 > 255 ? 255 : v1;
    out[j + 2] = v2 < 0 ? 0 : v2 > 255 ? 255 : v2;
  }
  return { data: out, meanWeight: wsum / n, tolerance: tol };
}

/** Gaussian blur of a gray image into floats, normalised to zero mean and unit spread (so gain and offset differences do not matter). */
async function normalisedBlur(gray: Uint8Array, w: number, h: number, sigma: number): Promise<Float32Array> {
  const cv = await loadOpenCV();
  const src = new cv.Mat(h, w, cv.CV_32FC1);
  const dst = new cv.Mat();
  try {
    (src.data32F as Float32Array).set(gray);
    cv.GaussianBlur(src, dst, new cv.Size(0, 0), sigma, sigma, cv.BORDER_REFLECT);
    const out = new Float32Array(dst.data32F as Float32Array);
    let m = 0, v = 0;
    for (let i = 0; i < out.length; i++) m += out[i];
    m /= out.length;
    for (let i = 0; i < out.length; i++) v += (out[i] - m) ** 2;
    const k = 1 / Math.sqrt(v / out.length + 1e-6);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] - m) * k;
    return out;
  } finally {
    src.delete();
    dst.delete();
  }
}

function sampleBilinear(img: Float32Array, w: number, h: number, x: number, y: number): number {
  const cx = x < 0 ? 0 : x > w - 1 ? w - 1 : x, cy = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
  const x0 = Math.min(cx | 0, w - 2), y0 = Math.min(cy | 0, h - 2);
  const ax = cx - x0, ay = cy - y0, i = y0 * w + x0;
  return (1 - ay) * ((1 - ax) * img[i] + ax * img[i + 1]) + ay * ((1 - ax) * img[i + w] + ax * img[i + w + 1]);
}

/**
 * Global translation p (px of the w x h grid) with G(x + p) ~ T(x), for two
 * gray images of the same scene: Gauss-Newton (Lucas-Kanade with one global
 * motion) on blurred copies normalised to zero mean and unit spread, from
 * p = 0. Used with T = the guide, so the generated frame is put back on the
 * guide's geometry (anchored: no drift through the recursion). Returns null
 * when the images are too flat to tell, the shift exceeds 3 px, or it removes
 * less than 1.5 % of the squared residual (SHIFT_MIN_GAIN: the images differ in
 * content, not by a shift).
 */
export async function globalShift(G: Uint8Array, T: Uint8Array, w: number, h: number, iterations = 3, minGain = SHIFT_MIN_GAIN): Promise<{ dx: number; dy: number; residual: number } | null> {
  if (w < 8 || h < 8) return null;
  const [g, t] = await Promise.all([normalisedBlur(G, w, h, 1), normalisedBlur(T, w, h, 1)]);
  // Inverse compositional: the gradients and the 2x2 normal matrix come from T once; each
  // iteration then samples G once per pixel (the forward form sampled it five times).
  // Every other pixel in each direction, away from the border: plenty of equations for two unknowns.
  const cap = Math.ceil((w - 8) / 2) * Math.ceil((h - 8) / 2);
  const xs = new Int32Array(cap), ys = new Int32Array(cap), gxs = new Float32Array(cap), gys = new Float32Array(cap);
  let n = 0, a11 = 0, a12 = 0, a22 = 0, gEnergy = 0;
  for (let y = 4; y < h - 4; y += 2) {
    for (let x = 4; x < w - 4; x += 2) {
      const i = y * w + x;
      const gx = (t[i + 1] - t[i - 1]) / 2, gy = (t[i + w] - t[i - w]) / 2;
      gEnergy += (g[i + 1] - g[i - 1]) ** 2 + (g[i + w] - g[i - w]) ** 2;
      xs[n] = x;
      ys[n] = y;
      gxs[n] = gx;
      gys[n] = gy;
      n++;
      a11 += gx * gx;
      a12 += gx * gy;
      a22 += gy * gy;
    }
  }
  const det = a11 * a22 - a12 * a12;
  // Both images need texture: T for the normal matrix, G (checked on its own gradients) to be matched at all.
  if (n < 64 || !(det > 1e-4 * (a11 + a22) ** 2) || a11 + a22 < n * 1e-3 || gEnergy < n * 4e-3) return null;
  let dx = 0, dy = 0;
  for (let it = 0; it < iterations; it++) {
    let b1 = 0, b2 = 0;
    for (let k = 0; k < n; k++) {
      const x = xs[k], y = ys[k];
      const r = sampleBilinear(g, w, h, x + dx, y + dy) - t[y * w + x];
      b1 += gxs[k] * r;
      b2 += gys[k] * r;
    }
    // T(x + s) ~ G(x + p) gives G(x + p - s) ~ T(x): the update is subtracted.
    const sx = (a22 * b1 - a12 * b2) / det, sy = (a11 * b2 - a12 * b1) / det;
    dx -= sx;
    dy -= sy;
    if (Math.abs(dx) > 3 || Math.abs(dy) > 3) return null;
    if (Math.abs(sx) < 0.005 && Math.abs(sy) < 0.005) break;
  }
  // A real whole-frame shift explains much of the difference; when G differs from T in content
  // (a style-transfer frame against its input), the estimate is spurious and resampling G by it
  // costs sharpness (measured: 38.0 -> 33.5 dB against the style output).
  let r0 = 0, r1 = 0;
  for (let k = 0; k < n; k++) {
    const x = xs[k], y = ys[k], tv = t[y * w + x];
    r0 += (g[y * w + x] - tv) ** 2;
    r1 += (sampleBilinear(g, w, h, x + dx, y + dy) - tv) ** 2;
  }
  const residual = r0 > 0 ? r1 / r0 : 1;
  if (residual > minGain) return null;
  return { dx, dy, residual };
}

/**
 * globalShift keeps a shift only if it leaves at most this fraction of the squared residual.
 * Measured at 192x144 (vtest, 20 frames): jittered frames of kind D (0.5 px jitter plus A+B+C
 * noise) left 0.72-0.977; 'matta' style-transfer frames against their input 0.992-0.996
 * (shifts of 0.1 px that are the network's, not jitter). A narrow gap: one clip, one style.
 */
export const SHIFT_MIN_GAIN = 0.985;

/** out(x) = f(x + (dx, dy)): a whole-frame sub-pixel shift (cv.warpAffine, bicubic, border replicate). */
export async function shiftFrame(f: Frame, dx: number, dy: number): Promise<Frame> {
  const cv = await loadOpenCV();
  const src = new cv.Mat(f.height, f.width, cv.CV_8UC3);
  const dst = new cv.Mat();
  const m = cv.matFromArray(2, 3, cv.CV_64FC1, [1, 0, dx, 0, 1, dy]);
  try {
    (src.data as Uint8Array).set(f.data);
    cv.warpAffine(src, dst, m, new cv.Size(f.width, f.height), cv.INTER_CUBIC | cv.WARP_INVERSE_MAP, cv.BORDER_REPLICATE, new cv.Scalar());
    return { width: f.width, height: f.height, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    src.delete();
    dst.delete();
    m.delete();
  }
}

/** Gaussian blur of an interleaved RGB buffer into floats (the colour statistics run on it: fine noise would inflate the spread). */
export async function blurRgb(rgb: Uint8Array, w: number, h: number, sigma: number): Promise<Float32Array> {
  const cv = await loadOpenCV();
  const src = new cv.Mat(h, w, cv.CV_8UC3);
  const dst = new cv.Mat();
  const f = new cv.Mat();
  try {
    (src.data as Uint8Array).set(rgb);
    src.convertTo(f, cv.CV_32FC3);
    cv.GaussianBlur(f, dst, new cv.Size(0, 0), sigma, sigma, cv.BORDER_REFLECT);
    return new Float32Array(dst.data32F as Float32Array);
  } finally {
    src.delete();
    dst.delete();
    f.delete();
  }
}

/**
 * The per-pixel detail weight of blendDetail, computed at the flow size
 * instead of the full size (the 5x5 box at full size becomes a 3x3 box on
 * the area-averaged half-size copies, which average the noise the same way):
 * w = strength x confidence x exp(-d^2 / 2 tol^2), d = |box mean over channels
 * of (W - M)|, M = affine(G) + field. `gs`, `ws` are the flow-size copies of
 * G and W (RGB), `field` the flow-size offset field (or undefined). Returns
 * w (w x h floats) and the tolerance used ('auto': 2 x the median d over
 * pixels with confidence >= 0.99, at least 3).
 */
export async function detailWeight(gs: Uint8Array, ws: Uint8Array, confidence: Float32Array, field: Float32Array | undefined, affine: ChannelAffine, w: number, h: number, p: Pick<DetailBlend, 'strength' | 'tolerance' | 'radius'>): Promise<{ weight: Float32Array; tolerance: number }> {
  const n = w * h;
  const cv = await loadOpenCV();
  const em = new cv.Mat(h, w, cv.CV_32FC1);
  const eb = new cv.Mat();
  const [a0, a1, a2] = affine.gain, [b0, b1, b2] = affine.offset;
  let D: Float32Array;
  try {
    const EM = em.data32F as Float32Array;
    if (field) {
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        EM[i] = (ws[j] + ws[j + 1] + ws[j + 2] - (a0 * gs[j] + a1 * gs[j + 1] + a2 * gs[j + 2]) - (b0 + b1 + b2) - (field[j] + field[j + 1] + field[j + 2])) / 3;
      }
    } else {
      for (let i = 0, j = 0; i < n; i++, j += 3) EM[i] = (ws[j] + ws[j + 1] + ws[j + 2] - (a0 * gs[j] + a1 * gs[j + 1] + a2 * gs[j + 2]) - (b0 + b1 + b2)) / 3;
    }
    // Radius in full-size px; on the half-size grid a box of about the same area.
    const r = Math.round(p.radius / 2);
    if (r > 0) {
      cv.blur(em, eb, new cv.Size(2 * r + 1, 2 * r + 1), new cv.Point(-1, -1), cv.BORDER_REFLECT);
      D = new Float32Array(eb.data32F as Float32Array);
    } else D = new Float32Array(EM);
  } finally {
    em.delete();
    eb.delete();
  }
  // |d| in quarter levels, once: the median comes from a histogram and the Gaussian from a table
  // (a sort and a Math.exp per pixel cost more than everything else in this function).
  const steps = 4 * 256;
  const q = new Uint16Array(n);
  const hist = new Uint32Array(steps + 1);
  let reliable = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.abs(D[i]) * 4;
    const k = v < steps ? v | 0 : steps;
    q[i] = k;
    if (confidence[i] >= 0.99) {
      hist[k]++;
      reliable++;
    }
  }
  let tol: number;
  if (p.tolerance === 'auto') {
    let k = 0;
    for (let acc = 0; k < steps && (acc += hist[k]) <= reliable / 2; k++);
    tol = Math.max(3, 2 * (reliable ? (k + 0.5) / 4 : 1.5));
  } else tol = p.tolerance;
  const lut = new Float32Array(steps + 1);
  const inv = 1 / (2 * tol * tol);
  for (let k = 0; k <= steps; k++) lut[k] = p.strength * Math.exp(-(((k + 0.5) / 4) ** 2) * inv);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) weight[i] = confidence[i] * lut[q[i]];
  return { weight, tolerance: tol };
}

/**
 * The full-size pass of the fast path, one loop: with M = affine(G) + F,
 * out = G + colorStrength (affine(G) - G) + fieldStrength F + w (W - M),
 * where F and w are the offset field and detail weight upsampled to the
 * full size (cv.resize, bilinear). Same formula as blendDetail.
 */
export function fusedBlend(G: Uint8Array, W: Uint8Array, weight: Float32Array, field: Float32Array | undefined, affine: ChannelAffine, colorStrength: number, fieldStrength: number): Uint8Array {
  const n = weight.length;
  const out = new Uint8Array(n * 3);
  const [a0, a1, a2] = affine.gain, [b0, b1, b2] = affine.offset;
  const ka = colorStrength, kf = field ? fieldStrength : 0;
  // out_c = G (1 + ka (a_c - 1)) + ka b_c + kf F_c + w (W_c - a_c G - b_c - F_c)
  const p0 = 1 + ka * (a0 - 1), p1 = 1 + ka * (a1 - 1), p2 = 1 + ka * (a2 - 1);
  const q0 = ka * b0 + 0.5, q1 = ka * b1 + 0.5, q2 = ka * b2 + 0.5;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const wt = weight[i];
    const g0 = G[j], g1 = G[j + 1], g2 = G[j + 2];
    let f0 = 0, f1 = 0, f2 = 0;
    if (field) {
      f0 = field[j];
      f1 = field[j + 1];
      f2 = field[j + 2];
    }
    const v0 = p0 * g0 + q0 + kf * f0 + wt * (W[j] - a0 * g0 - b0 - f0);
    const v1 = p1 * g1 + q1 + kf * f1 + wt * (W[j + 1] - a1 * g1 - b1 - f1);
    const v2 = p2 * g2 + q2 + kf * f2 + wt * (W[j + 2] - a2 * g2 - b2 - f2);
    // Uint8Array stores modulo 256: clamp explicitly (truncation after +0.5 rounds).
    out[j] = v0 < 0 ? 0 : v0 > 255 ? 255 : v0;
    out[j + 1] = v1 < 0 ? 0 : v1 > 255 ? 255 : v1;
    out[j + 2] = v2 < 0 ? 0 : v2 > 255 ? 255 : v2;
  }
  return out;
}


/** Parameters of restoreContrast. */
export interface ContrastRestore {
  /** Largest gain of the detail layer (>= 1): a <= maxGain - 1. */
  maxGain: number;
  /** Gaussian sigma (px) separating the detail layer: detail = frame - blur(frame). */
  detailSigma: number;
  /** Gaussian sigma (px) of the local averages of gradient magnitude whose ratio sets the gain. */
  mapSigma: number;
}

/**
 * Local contrast restoration of a filtered frame against the generated one:
 * with the detail layer D = F - blur_detailSigma(F) and Gaussian averages
 * (sigma mapSigma) of luma gradient magnitudes bG, bF, bD of G, F and D,
 * out = F + a D, a = clamp((bG - bF) / bD, 0, maxGain - 1) per pixel (adding
 * a D raises |grad| by about a |grad D|; the earlier ratio form
 * a = bG / bF - 1 fell short where F's gradient lies mostly below the
 * detail layer: on 'mathura' 0.938 against 0.942 at the same gain). Why: texture propagated along
 * the flow through a chain of warps loses contrast (resampling, and strokes
 * that are slightly misaligned average out), while its positions stay
 * consistent; amplifying that consistent detail back to the generator's local
 * gradient energy keeps the texture's strength without bringing back the
 * generator's frame-to-frame redraws. It never lowers contrast (k >= 1). Meant
 * for the emitted frame only: fed back into the recursion, each frame would
 * amplify the previous frame's amplified detail again.
 */
export async function restoreContrast(F: Frame, G: Frame, p: ContrastRestore): Promise<Frame> {
  const { width: w, height: h } = F;
  if (G.width !== w || G.height !== h) throw new ReshootError(`restoreContrast: filtered frame is ${w}x${h}, generated ${G.width}x${G.height}`);
  const n = w * h;
  const BF = await blurPlane(gradientMagnitude(F), w, h, p.mapSigma);
  const BG = await blurPlane(gradientMagnitude(G), w, h, p.mapSigma);
  const LOW = await blurRgb(F.data, w, h, p.detailSigma);
  const D = F.data;
  // Gradient of the detail layer alone, same averaging: out = F + a detail raises |grad| by about
  // a |grad detail|, so a = (target - current) / |grad detail| hits the target even where F's
  // gradient is mostly below the detail layer (a ratio k = target / current would fall short there).
  const detailRgb = new Uint8Array(n * 3);
  for (let j = 0; j < n * 3; j++) {
    const v = D[j] - LOW[j] + 128;
    detailRgb[j] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const BD = await blurPlane(gradientMagnitude({ width: w, height: h, data: detailRgb }), w, h, p.mapSigma);
  const out = new Uint8Array(n * 3);
  const amax = p.maxGain - 1;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = BD[i] > 1e-3 ? (BG[i] - BF[i]) / BD[i] : 0;
    const a = r < 0 ? 0 : r > amax ? amax : r;
    const v0 = D[j] + a * (D[j] - LOW[j]) + 0.5, v1 = D[j + 1] + a * (D[j + 1] - LOW[j + 1]) + 0.5, v2 = D[j + 2] + a * (D[j + 2] - LOW[j + 2]) + 0.5;
    out[j] = v0 < 0 ? 0 : v0 > 255 ? 255 : v0;
    out[j + 1] = v1 < 0 ? 0 : v1 > 255 ? 255 : v1;
    out[j + 2] = v2 < 0 ? 0 : v2 > 255 ? 255 : v2;
  }
  return { width: w, height: h, data: out };
}

/** Gaussian blur (sigma px, reflected border) of one float plane. */
async function blurPlane(values: Float32Array, w: number, h: number, sigma: number): Promise<Float32Array> {
  const cv = await loadOpenCV();
  const src = new cv.Mat(h, w, cv.CV_32FC1);
  const dst = new cv.Mat();
  try {
    (src.data32F as Float32Array).set(values);
    cv.GaussianBlur(src, dst, new cv.Size(0, 0), sigma, sigma, cv.BORDER_REFLECT);
    return new Float32Array(dst.data32F as Float32Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

/**
 * fusedBlend with the detail split into two bands: E = W - M (M = affine(G)
 * + F as in fusedBlend), E_low = Gaussian blur of E (sigma px), and
 * out = G + colorStrength (affine(G) - G) + fieldStrength F + wLow E_low + wHigh (E - E_low).
 * With wHigh = wLow it is fusedBlend up to rounding. Why two weights: a
 * misaligned or occluded warp shows in the low band (the previous position
 * of a walking person, a dark halo), which must fall back to the generated
 * frame, while the style's frame-to-frame redraws live mostly in the high
 * band (vtest/Megamind, 'matta': 59 % / 73 % of E_warp above a sigma-2
 * blur), which can follow the flow more firmly without a visible halo.
 */
export async function fusedBlendBands(G: Uint8Array, W: Uint8Array, wLow: Float32Array, wHigh: Float32Array, field: Float32Array | undefined, affine: ChannelAffine, colorStrength: number, fieldStrength: number, width: number, height: number, sigma: number): Promise<Uint8Array> {
  const n = wLow.length;
  const [a0, a1, a2] = affine.gain, [b0, b1, b2] = affine.offset;
  const ka = colorStrength, kf = field ? fieldStrength : 0;
  const cv = await loadOpenCV();
  const em = new cv.Mat(height, width, cv.CV_32FC3);
  const eb = new cv.Mat();
  try {
    const E = em.data32F as Float32Array;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const f0 = field ? field[j] : 0, f1 = field ? field[j + 1] : 0, f2 = field ? field[j + 2] : 0;
      E[j] = W[j] - a0 * G[j] - b0 - f0;
      E[j + 1] = W[j + 1] - a1 * G[j + 1] - b1 - f1;
      E[j + 2] = W[j + 2] - a2 * G[j + 2] - b2 - f2;
    }
    cv.GaussianBlur(em, eb, new cv.Size(0, 0), sigma, sigma, cv.BORDER_REFLECT);
    const L = eb.data32F as Float32Array;
    const out = new Uint8Array(n * 3);
    const p0 = 1 + ka * (a0 - 1), p1 = 1 + ka * (a1 - 1), p2 = 1 + ka * (a2 - 1);
    const q0 = ka * b0 + 0.5, q1 = ka * b1 + 0.5, q2 = ka * b2 + 0.5;
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const wl = wLow[i], wh = wHigh[i];
      const f0 = field ? field[j] : 0, f1 = field ? field[j + 1] : 0, f2 = field ? field[j + 2] : 0;
      const v0 = p0 * G[j] + q0 + kf * f0 + wl * L[j] + wh * (E[j] - L[j]);
      const v1 = p1 * G[j + 1] + q1 + kf * f1 + wl * L[j + 1] + wh * (E[j + 1] - L[j + 1]);
      const v2 = p2 * G[j + 2] + q2 + kf * f2 + wl * L[j + 2] + wh * (E[j + 2] - L[j + 2]);
      out[j] = v0 < 0 ? 0 : v0 > 255 ? 255 : v0;
      out[j + 1] = v1 < 0 ? 0 : v1 > 255 ? 255 : v1;
      out[j + 2] = v2 < 0 ? 0 : v2 > 255 ? 255 : v2;
    }
    return out;
  } finally {
    em.delete();
    eb.delete();
  }
}

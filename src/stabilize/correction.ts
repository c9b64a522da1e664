/**
 * Phase 3: corrections, border policy and the warp.
 *
 * With P_t the raw path (frame 0 -> frame t) and S_t the smoothed path, a
 * scene point at p in frame t sits at S_t(P_t^-1(p)) in the stabilized frame:
 *
 *   correction C_t = S_t ∘ P_t^-1      (source frame t px -> stabilized px)
 *   output     F_t = Z(z_t) ∘ C_t      (Z = uniform scale z about the frame centre)
 *
 * F_t is what stabilizeFrame (apply.ts) warps with (output(F_t(p)) = source(p)).
 * Corrections are stored WITHOUT the zoom; the zoom is one number for the
 * clip ('zoom'), one per frame ('adaptive') or 1 ('fill').
 *
 * Coverage geometry uses the pixel-centre rectangle [0, W-1] x [0, H-1]:
 * an output pixel is "covered" when its source position lies inside it, so
 * bilinear sampling never reads outside the source.
 */
import type { CV } from '../cv/opencv.js';
import type { Frame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { gaussianKernel, pathMatrices } from './smooth.js';
import { applyPoint, compose, frameCentre, invert, scaleAbout, type Mat2x3, type PathParams } from './similarity.js';
import { applyPoint3, compose3, invert3, toMat3, type Mat3x3 } from '../geometry/homography.js';

export type BorderPolicy = 'zoom' | 'adaptive' | 'fill';
/** How uncovered pixels are filled: black, or the nearest edge pixel repeated. */
export type FillMode = 'black' | 'replicate';

export interface PlanOptions {
  width: number;
  height: number;
  /** Default 'zoom'. */
  border?: BorderPolicy;
  /** Force this zoom for the whole clip instead of computing it ('zoom' policy only). */
  zoom?: number;
  /** Never zoom more than this (default 2); frames that would need more keep some border. */
  maxZoom?: number;
  /** 'adaptive': sigma in frames of the zoom smoothing (default 15). */
  adaptiveSigma?: number;
  /**
   * 'zoom' policy: the least share of every output frame that must come from the
   * source (default 1: none of the border shows). Below 1 the clip's zoom is the
   * smallest that keeps every frame's coverage at or above it (the rest repeats
   * the edge pixels), e.g. 0.97 trades a sliver of repeated edge for less crop.
   */
  minCoverage?: number;
  /**
   * Per frame, a 3x3 correction that replaces C_t (homography corrections,
   * plan.ts homographyCorrections), undefined where C_t stays the similarity one.
   * The zoom and the coverage are then computed with it.
   */
  homographies?: (Mat3x3 | undefined)[];
}

export interface CorrectionPlan {
  /** C_t per frame (without zoom): source frame t px -> stabilized px. */
  corrections: Mat2x3[];
  border: BorderPolicy;
  /** The zoom applied: one number ('zoom', 'fill') or one per frame ('adaptive'). */
  zoom: number | number[];
  /** Per frame, the least zoom (>= 1) that makes the output fully covered (Infinity when impossible). */
  minimalZoom: number[];
  /** True when maxZoom capped the zoom, so some output pixels lie outside the source. */
  limited: boolean;
  /** Per frame, the 3x3 correction used instead of corrections[t] (homography frames), when any. */
  homographies?: (Mat3x3 | undefined)[];
}

export function outputTransform(correction: Mat2x3, zoom: number, width: number, height: number): Mat2x3 {
  const [cx, cy] = frameCentre(width, height);
  return compose(scaleAbout(zoom, cx, cy), correction);
}

/** Z(zoom) ∘ correction for a 2x3 or a 3x3 correction (a 3x3 result for a 3x3 one). */
export function outputTransformAny(correction: Mat2x3 | Mat3x3, zoom: number, width: number, height: number): Mat2x3 | Mat3x3 {
  if (correction.length !== 9) return outputTransform(correction, zoom, width, height);
  const [cx, cy] = frameCentre(width, height);
  return compose3(toMat3(scaleAbout(zoom, cx, cy)), correction);
}

/** Where (x, y) goes under a 2x3 affine or a 3x3 homography. */
export function applyAny(m: Mat2x3 | Mat3x3, x: number, y: number): [number, number] {
  return m.length === 9 ? applyPoint3(m, x, y) : applyPoint(m, x, y);
}

/** Inverse of a 2x3 affine or a 3x3 homography. */
export function invertAny(m: Mat2x3 | Mat3x3): Mat2x3 | Mat3x3 {
  return m.length === 9 ? invert3(m) : invert(m);
}

/**
 * minimalZoom for a 3x3 correction: the least z >= 1 whose output window's
 * preimage (the four corners mapped back; a homography keeps lines straight
 * and the preimage of a convex window convex) lies inside the source
 * rectangle, by bisection (zooming in about the centre shrinks the preimage
 * onto an inner point, so the test is monotone in z). Infinity when even
 * zoom 1000 does not fit.
 */
export function minimalZoomH(correction: Mat3x3, width: number, height: number): number {
  const inv = invert3(correction);
  const [cx, cy] = frameCentre(width, height);
  const eps = 1e-9;
  const fits = (z: number) => [[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]].every(([qx, qy]) => {
    const [x, y] = applyPoint3(inv, cx + (qx - cx) / z, cy + (qy - cy) / z);
    return x >= -eps && y >= -eps && x <= width - 1 + eps && y <= height - 1 + eps;
  });
  if (fits(1)) return 1;
  let lo = 1, hi = 1000;
  if (!fits(hi)) return Infinity;
  for (let i = 0; i < 60 && hi - lo > 1e-9; i++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Zoom of frame t in a plan. */
export function zoomAt(plan: Pick<CorrectionPlan, 'zoom'>, t: number): number {
  return typeof plan.zoom === 'number' ? plan.zoom : plan.zoom[t];
}

/**
 * Least zoom z >= 1 (about the centre) such that every output pixel of
 * Z(z) ∘ correction maps back inside the source frame. Closed form: the
 * output window's preimage is c' + u * A (q - c) for the window corners q,
 * u = 1/z, A the linear part of correction^-1, c' = correction^-1(c); each
 * corner and each source bound gives a linear limit on u. Infinity when even
 * an infinite zoom cannot help (the centre itself maps outside the source).
 */
export function minimalZoom(correction: Mat2x3, width: number, height: number): number {
  const inv = invert(correction);
  const [cx, cy] = frameCentre(width, height);
  const [ox, oy] = applyPoint(inv, cx, cy);
  const hi = [width - 1, height - 1];
  const o = [ox, oy];
  const eps = 1e-9;
  if (ox < -eps || oy < -eps || ox > hi[0] + eps || oy > hi[1] + eps) return Infinity;
  let uMax = Infinity;
  for (const [qx, qy] of [[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]]) {
    const dx = qx - cx, dy = qy - cy;
    const d = [inv[0] * dx + inv[1] * dy, inv[3] * dx + inv[4] * dy];
    for (let k = 0; k < 2; k++) {
      if (d[k] > 0) uMax = Math.min(uMax, (hi[k] - o[k]) / d[k]);
      else if (d[k] < 0) uMax = Math.min(uMax, (0 - o[k]) / d[k]);
    }
  }
  if (!(uMax > 0)) return Infinity;
  return Math.max(1, 1 / uMax);
}

/**
 * Corrections C_t = S_t ∘ P_t^-1 and the zoom for a border policy.
 * 'zoom': one zoom for the clip, the max over frames of minimalZoom (so every
 *   frame is fully covered and no smaller zoom would do).
 * 'adaptive': per-frame minimal zoom, max-filtered over ±3 sigma then
 *   Gaussian-smoothed (same truncated window, edges replicated), which keeps
 *   every frame at or above its own minimal zoom while avoiding zoom pumping.
 * 'fill': zoom 1; uncovered pixels are filled black (see stabilizeFrame).
 */
export function planCorrections(raw: PathParams[], smoothed: PathParams[], opts: PlanOptions): CorrectionPlan {
  const { width, height } = opts;
  if (raw.length !== smoothed.length) {
    throw new ReshootError(`raw path has ${raw.length} frames but the smoothed path has ${smoothed.length}`);
  }
  const border = opts.border ?? 'zoom';
  if (!['zoom', 'adaptive', 'fill'].includes(border)) throw new ReshootError(`border must be zoom, adaptive or fill, got '${border}'`);
  const maxZoom = opts.maxZoom ?? 2;
  const P = pathMatrices(raw, width, height);
  const S = pathMatrices(smoothed, width, height);
  const corrections = P.map((p, t) => compose(S[t], invert(p)));
  const hs = opts.homographies;
  if (hs && hs.length !== corrections.length) throw new ReshootError(`${hs.length} homography corrections for ${corrections.length} frames`);
  // the correction each frame is warped with: its 3x3 one where there is one
  const exact: (Mat2x3 | Mat3x3)[] = corrections.map((c, t) => hs?.[t] ?? c);
  const minimal = exact.map((c) => (c.length === 9 ? minimalZoomH(c, width, height) : minimalZoom(c, width, height)));
  const extra = hs ? { homographies: hs } : {};
  const n = corrections.length;
  if (border === 'fill') return { corrections, border, zoom: 1, minimalZoom: minimal, limited: minimal.some((z) => z > 1 + 1e-9), ...extra };
  if (border === 'zoom') {
    if (opts.zoom !== undefined) {
      if (!(opts.zoom > 0 && Number.isFinite(opts.zoom))) throw new ReshootError(`zoom must be a positive number, got ${opts.zoom}`);
      return { corrections, border, zoom: opts.zoom, minimalZoom: minimal, limited: minimal.some((z) => z > opts.zoom! + 1e-9), ...extra };
    }
    const need = n ? Math.max(...minimal) : 1;
    const minCoverage = opts.minCoverage ?? 1;
    if (!(minCoverage > 0 && minCoverage <= 1)) throw new ReshootError(`minCoverage must be in (0, 1], got ${minCoverage}`);
    let z = Math.min(need, maxZoom);
    if (minCoverage < 1 && z > 1) z = smallestZoomCovering(exact, minCoverage, z, width, height);
    return { corrections, border, zoom: z, minimalZoom: minimal, limited: need > maxZoom, ...extra };
  }
  const sigma = opts.adaptiveSigma ?? 15;
  const capped = minimal.map((z) => Math.min(z, maxZoom));
  const r = Math.ceil(3 * sigma);
  const clampIdx = (i: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);
  const maxed = capped.map((_, t) => {
    let m = 1;
    for (let k = -r; k <= r; k++) m = Math.max(m, capped[clampIdx(t + k)]);
    return m;
  });
  const kern = sigma > 0 ? gaussianKernel(sigma, r) : Float64Array.of(1);
  const kr = (kern.length - 1) / 2;
  const zoom = maxed.map((_, t) => {
    let s = 0;
    for (let k = -kr; k <= kr; k++) s += kern[k + kr] * maxed[clampIdx(t + k)];
    return Math.max(s, capped[t]); // guards rounding
  });
  return { corrections, border, zoom, minimalZoom: minimal, limited: minimal.some((z) => z > maxZoom), ...extra };
}

/**
 * Smallest zoom in [1, hi] whose output frames are all covered at least
 * `minCoverage` (bisection: zooming about the centre shrinks each frame's
 * preimage towards an interior point of the convex source rectangle, so
 * coverage never decreases with the zoom). hi itself is taken to qualify.
 */
function smallestZoomCovering(corrections: (Mat2x3 | Mat3x3)[], minCoverage: number, hi: number, width: number, height: number): number {
  const ok = (z: number) => corrections.every((c) => coverage(outputTransformAny(c, z, width, height), width, height) >= minCoverage);
  if (ok(1)) return 1;
  let lo = 1;
  for (let i = 0; i < 40 && hi - lo > 1e-6; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

// ---------------------------------------------------------------- geometry: coverage

type Pt = [number, number];

function clipHalfPlane(poly: Pt[], inside: (p: Pt) => boolean, cut: (a: Pt, b: Pt) => Pt): Pt[] {
  const out: Pt[] = [];
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i], b = poly[(i + 1) % poly.length];
    const ia = inside(a), ib = inside(b);
    if (ia) out.push(a);
    if (ia !== ib) out.push(cut(a, b));
  }
  return out;
}

/**
 * area(window [0,winW-1]x[0,winH-1] ∩ m([0,srcW-1]x[0,srcH-1])) / area(window)
 * (Sutherland-Hodgman; m of a rectangle is a convex quadrilateral: also
 * for a 3x3 homography that keeps the rectangle in front of the camera).
 */
export function rectCoverage(m: Mat2x3 | Mat3x3, srcW: number, srcH: number, winW: number, winH: number): number {
  const X = winW - 1, Y = winH - 1;
  let poly: Pt[] = ([[0, 0], [srcW - 1, 0], [srcW - 1, srcH - 1], [0, srcH - 1]] as Pt[]).map(([x, y]) => applyAny(m, x, y));
  const cutX = (x0: number) => (a: Pt, b: Pt): Pt => [x0, a[1] + ((x0 - a[0]) / (b[0] - a[0])) * (b[1] - a[1])];
  const cutY = (y0: number) => (a: Pt, b: Pt): Pt => [a[0] + ((y0 - a[1]) / (b[1] - a[1])) * (b[0] - a[0]), y0];
  poly = clipHalfPlane(poly, (p) => p[0] >= 0, cutX(0));
  if (poly.length) poly = clipHalfPlane(poly, (p) => p[0] <= X, cutX(X));
  if (poly.length) poly = clipHalfPlane(poly, (p) => p[1] >= 0, cutY(0));
  if (poly.length) poly = clipHalfPlane(poly, (p) => p[1] <= Y, cutY(Y));
  if (poly.length < 3) return 0;
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i], b = poly[(i + 1) % poly.length];
    s += a[0] * b[1] - b[0] * a[1];
  }
  return Math.min(1, Math.abs(s) / 2 / (X * Y));
}

/**
 * Fraction of the output window [0,W-1]x[0,H-1] whose source position (under
 * the output transform F, source -> output) lies inside the source frame:
 * area(window ∩ F(source rect)) / area(window), by exact polygon clipping.
 */
export function coverage(outputTransformMatrix: Mat2x3 | Mat3x3, width: number, height: number): number {
  return rectCoverage(outputTransformMatrix, width, height, width, height);
}

// ---------------------------------------------------------------- warping

/**
 * Warps an RGB or gray frame so that out(M(p)) = frame(p) (bilinear); the output has `size` (default the frame's).
 * M is a 2x3 affine (cv.warpAffine) or a 3x3 homography (cv.warpPerspective).
 */
export function warpFrameSync<F extends Frame>(cv: CV, frame: F, m: Mat2x3 | Mat3x3, fill: FillMode = 'black', size?: { width: number; height: number }): F {
  const channels = frame.data.length / (frame.width * frame.height);
  if (channels !== 3 && channels !== 1) {
    throw new ReshootError(`frame data has ${frame.data.length} bytes, expected ${frame.width}x${frame.height}x3`);
  }
  const src = cv.matFromArray(frame.height, frame.width, channels === 3 ? cv.CV_8UC3 : cv.CV_8UC1, frame.data as unknown as number[]);
  const dst = new cv.Mat();
  const perspective = m.length === 9;
  const M = cv.matFromArray(perspective ? 3 : 2, 3, cv.CV_64FC1, m);
  try {
    const W = size?.width ?? frame.width, H = size?.height ?? frame.height;
    const border = fill === 'replicate' ? cv.BORDER_REPLICATE : cv.BORDER_CONSTANT;
    if (perspective) cv.warpPerspective(src, dst, M, new cv.Size(W, H), cv.INTER_LINEAR, border, new cv.Scalar(0, 0, 0, 0));
    else cv.warpAffine(src, dst, M, new cv.Size(W, H), cv.INTER_LINEAR, border, new cv.Scalar(0, 0, 0, 0));
    return { width: W, height: H, data: new Uint8Array(dst.data as Uint8Array) } as F;
  } finally {
    src.delete();
    dst.delete();
    M.delete();
  }
}

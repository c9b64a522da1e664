/**
 * 3x3 homographies, row-major [h0..h8]: (x, y) -> ((h0 x + h1 y + h2) / w,
 * (h3 x + h4 y + h5) / w), w = h6 x + h7 y + h8. Same pixel convention as the
 * 2x3 maths (origin at the centre of the top-left pixel). A 2x3 affine is the
 * homography [a, b, c, d, e, f, 0, 0, 1] (`toMat3`).
 */
import type { Mat2x3 } from './index.js';

export type Mat3x3 = number[];

export function identity3(): Mat3x3 {
  return [1, 0, 0, 0, 1, 0, 0, 0, 1];
}

/** The 2x3 affine as a homography. */
export function toMat3(m: Mat2x3): Mat3x3 {
  return [m[0], m[1], m[2], m[3], m[4], m[5], 0, 0, 1];
}

/** Scaled so that h8 = 1 (every homography here keeps the frame in front of the camera, so h8 is far from 0). */
export function normalize3(m: Mat3x3): Mat3x3 {
  const s = m[8];
  if (!Number.isFinite(s) || Math.abs(s) < 1e-12) throw new Error('homography with h8 = 0 cannot be normalised');
  return m.map((v) => v / s);
}

/** compose3(a, b) = a ∘ b: apply b first, then a (normalised, h8 = 1). */
export function compose3(a: Mat3x3, b: Mat3x3): Mat3x3 {
  const r = new Array<number>(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
  return normalize3(r);
}

/** Inverse (normalised); throws on a singular one. */
export function invert3(m: Mat3x3): Mat3x3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-15) throw new Error('singular homography');
  return normalize3([A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det));
}

export function applyPoint3(m: Mat3x3, x: number, y: number): [number, number] {
  const w = m[6] * x + m[7] * y + m[8];
  return [(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w];
}

/** The denominator w at (x, y): positive on every point in front of the camera. */
export function depthAt(m: Mat3x3, x: number, y: number): number {
  return m[6] * x + m[7] * y + m[8];
}

/** True when m is 9 finite numbers. */
export function isFiniteMatrix3(m: unknown): m is Mat3x3 {
  return Array.isArray(m) && m.length === 9 && m.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/**
 * The homography taking the four points `src` to `dst` (flattened x, y pairs),
 * h8 = 1: the 8x8 linear system of the direct linear transform, solved by
 * Gaussian elimination with partial pivoting. Throws when three points are
 * collinear (singular system).
 */
export function homographyFrom4(src: ArrayLike<number>, dst: ArrayLike<number>): Mat3x3 {
  const A: number[][] = [];
  for (let k = 0; k < 4; k++) {
    const x = src[2 * k], y = src[2 * k + 1], u = dst[2 * k], v = dst[2 * k + 1];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    if (Math.abs(A[p][c]) < 1e-12) throw new Error('degenerate points: no homography through them');
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      if (f !== 0) for (let k = c; k < 9; k++) A[r][k] -= f * A[c][k];
    }
  }
  const h = A.map((row, r) => row[8] / row[r]);
  return [...h, 1];
}

/** Where the four frame corners (0,0), (W-1,0), (W-1,H-1), (0,H-1) go under m, flattened. */
export function cornersOf(m: Mat3x3, width: number, height: number): number[] {
  const out: number[] = [];
  for (const [x, y] of [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]) out.push(...applyPoint3(m, x, y));
  return out;
}

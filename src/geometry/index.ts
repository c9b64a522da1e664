/**
 * Geometry shared by the stages (stabilize, footlock, metrics): 2x3 affine
 * matrices, row-major: [a, b, c, d, e, f] maps (x, y) to
 * (a*x + b*y + c, d*x + e*y + f). Pixel coordinates have their origin at the
 * CENTRE of the top-left pixel (OpenCV's convention), x to the right, y down.
 */
export type Mat2x3 = number[];

/** A camera-path sample: a similarity expressed about the frame centre. */
export interface PathParams {
  /** Displacement of the frame centre, px. */
  x: number;
  y: number;
  /** Rotation, radians (positive = clockwise on screen, since y points down). */
  angle: number;
  /** Uniform scale factor (1 = none). */
  scale: number;
}

/** Frozen (mutating it throws); use identity() for a fresh one. */
export const IDENTITY: Mat2x3 = Object.freeze([1, 0, 0, 0, 1, 0]) as Mat2x3;

/** Where the point (x, y) goes under m (alias of applyPoint). */
export const apply = (m: Mat2x3, x: number, y: number): [number, number] => applyPoint(m, x, y);

export function identity(): Mat2x3 {
  return [1, 0, 0, 0, 1, 0];
}

/** compose(a, b) = a ∘ b: apply b first, then a. */
export function compose(a: Mat2x3, b: Mat2x3): Mat2x3 {
  return [
    a[0] * b[0] + a[1] * b[3],
    a[0] * b[1] + a[1] * b[4],
    a[0] * b[2] + a[1] * b[5] + a[2],
    a[3] * b[0] + a[4] * b[3],
    a[3] * b[1] + a[4] * b[4],
    a[3] * b[2] + a[4] * b[5] + a[5],
  ];
}

/** Inverse of an affine map; throws on a singular one. */
export function invert(m: Mat2x3): Mat2x3 {
  const det = m[0] * m[4] - m[1] * m[3];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error('singular affine matrix');
  const ia = m[4] / det;
  const ib = -m[1] / det;
  const id = -m[3] / det;
  const ie = m[0] / det;
  return [ia, ib, -(ia * m[2] + ib * m[5]), id, ie, -(id * m[2] + ie * m[5])];
}

export function applyPoint(m: Mat2x3, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

export function translation(tx: number, ty: number): Mat2x3 {
  return [1, 0, tx, 0, 1, ty];
}

/** Uniform scale by s about the point (cx, cy). */
export function scaleAbout(s: number, cx: number, cy: number): Mat2x3 {
  return [s, 0, cx - s * cx, 0, s, cy - s * cy];
}

/** Similarity about the origin: x' = s R(angle) x + (tx, ty). */
export function similarity(tx: number, ty: number, angle: number, scale: number): Mat2x3 {
  const c = Math.cos(angle) * scale;
  const s = Math.sin(angle) * scale;
  return [c, -s, tx, s, c, ty];
}

/** Centre (cx, cy) of a width x height frame in pixel-centre coordinates. */
export function frameCentre(width: number, height: number): [number, number] {
  return [(width - 1) / 2, (height - 1) / 2];
}

/**
 * The matrix (in pixel coordinates) of the similarity whose centred form is
 * `p`: m(q) = c + s R(angle) (q - c) + (x, y), c the frame centre.
 */
export function fromParams(p: PathParams, width: number, height: number): Mat2x3 {
  const [cx, cy] = frameCentre(width, height);
  const r = similarity(0, 0, p.angle, p.scale);
  return [r[0], r[1], cx + p.x - (r[0] * cx + r[1] * cy), r[3], r[4], cy + p.y - (r[3] * cx + r[4] * cy)];
}

/**
 * Inverse of fromParams for a similarity; for a general affine matrix it takes
 * the closest similarity's angle and scale (from the rotation-symmetric part)
 * and the exact displacement of the frame centre.
 */
export function toParams(m: Mat2x3, width: number, height: number): PathParams {
  const [cx, cy] = frameCentre(width, height);
  const a = (m[0] + m[4]) / 2;
  const b = (m[3] - m[1]) / 2;
  const [mx, my] = applyPoint(m, cx, cy);
  return { x: mx - cx, y: my - cy, angle: Math.atan2(b, a), scale: Math.hypot(a, b) };
}

/** Decompose about the origin: translation (c, f), angle and scale of the similarity part. */
export function decompose(m: Mat2x3): { x: number; y: number; angle: number; scale: number } {
  const a = (m[0] + m[4]) / 2;
  const b = (m[3] - m[1]) / 2;
  return { x: m[2], y: m[5], angle: Math.atan2(b, a), scale: Math.hypot(a, b) };
}

/** Singular values (largest first) of the 2x2 linear part. */
export function singularValues(m: Mat2x3): [number, number] {
  const [a, b, , c, d] = m;
  // σ1,2 = sqrt((S ± sqrt(S² - 4 det²)) / 2), S = a²+b²+c²+d²
  const s = a * a + b * b + c * c + d * d;
  const det = a * d - b * c;
  const disc = Math.sqrt(Math.max(0, s * s - 4 * det * det));
  return [Math.sqrt((s + disc) / 2), Math.sqrt(Math.max(0, (s - disc) / 2))];
}

export function isFiniteMatrix(m: unknown): m is Mat2x3 {
  return Array.isArray(m) && m.length === 6 && m.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** Wraps an angle to (-π, π]. */
export function wrapAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}
export * from './homography.js';

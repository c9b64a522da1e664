/**
 * Foot locking: per frame, one correction of the person layer (a similarity,
 * source px -> output px) that holds each planted ankle at its anchor.
 *
 * 1. Ankle track during each contact: a local linear fit (half-window
 *    `fitWindow`, clipped to the contact) of the ankle source's positions, so
 *    keypoint jitter is not copied into the correction while slow sliding
 *    (drift) is followed.
 * 2. Anchors are chained: when a foot touches down, its anchor is where the
 *    current correction puts it, so a touch-down never moves the layer; a
 *    slide accumulated under one foot stays removed under the next.
 * 3. Each frame: x' = A (x - c) + c + t about the planted feet's centre c.
 *    With both feet planted, A is the similarity taking both fitted ankles
 *    onto both anchors (bounded to 10 % scale and 5 degrees), faded in by
 *    the smaller foot weight; with one foot A = identity (translation only).
 *    t is the weighted mean of what each planted foot asks for given A.
 *    A foot that hands over to the other fades its weight in and out over
 *    `ease` seconds (smoothstep), so the correction never jumps.
 * 4. With no foot planted the correction is held; after `hold` seconds
 *    without contact it returns to identity at most `returnSpeed` body
 *    heights per second.
 * 5. The correction sequence is smoothed over time (Gaussian, `smoothing`
 *    seconds): each contact's fitted slope carries keypoint noise, and a
 *    slow drift does not need frame-accurate following.
 * 6. The applied correction blends the full one with identity by `strength`
 *    (0.7 by default: 70 % locked, 30 % unlocked).
 */
import { unswapLegs } from './legs.js';
import type { PoseTrack } from '../pose/types.js';
import { ReshootError } from '../util/errors.js';
import { fpsOf, interpolateKeypoint, type Contacts, type ContactSpan, type Point } from './contacts.js';
import { planFootLockGlobal } from './lock-global.js';

import { IDENTITY, type Mat2x3 } from '../geometry/index.js';

// One Mat2x3 for the whole codebase (src/geometry); re-exported for footlock's callers.
export { IDENTITY, type Mat2x3 };

export interface LockOptions {
  /** Share of the full correction applied, 0..1 (1 = fully locked). Default 0.7. */
  strength?: number;
  /** Fade-in/out of a foot's weight at a hand-over, seconds. Default 0.1. */
  ease?: number;
  /** Allow scale and rotation when both feet are planted. Default false: measured to amplify keypoint jitter (README.md). */
  similarity?: boolean;
  /** Half-window of the local linear fit of the ankle during a contact, seconds. Default 0.5. */
  fitWindow?: number;
  /** Keep the correction this long after the last contact before returning to identity, seconds. Default 1. */
  hold?: number;
  /** Speed of that return, body heights per second. Default 0.05. */
  returnSpeed?: number;
  /** Invalid ankles of the ankle source are interpolated across gaps up to this, seconds. Default 0.2. */
  maxInterpolate?: number;
  /** Gaussian sigma (seconds) over the per-frame correction, against the slope noise of per-contact fits. Default 0.2. */
  smoothing?: number;
  /**
   * 'chain': per-contact fits with chained anchors (this file); 'global': one least-squares problem over the
   * clip with a smoothness prior (lock-global.ts; translation only). Default 'global' ('chain' when similarity is asked for).
   */
  method?: 'chain' | 'global';
  /** 'global': smoothness of the correction, seconds (lambda = (stiffness * fps)^4). Default 0.5. */
  stiffness?: number;
}

export const DEFAULT_LOCK_OPTIONS: Required<LockOptions> = {
  strength: 0.7,
  ease: 0.1,
  similarity: false,
  fitWindow: 0.5,
  hold: 1,
  returnSpeed: 0.05,
  maxInterpolate: 0.2,
  smoothing: 0.2,
  method: 'global',
  stiffness: 0.5,
};

export interface LockPlan {
  /** Applied correction per frame (strength included): source px -> output px. */
  matrices: Mat2x3[];
  /** Full (strength 1) correction per frame. */
  full: Mat2x3[];
  /** Weight of each foot per frame (0 when not planted). */
  weights: { left: number[]; right: number[] };
  /** Chained anchors per frame (null when not planted), px. */
  anchors: { left: (Point | null)[]; right: (Point | null)[] };
  /** The fitted ankle track the lock held (NaN outside contacts), px. */
  fitted: { left: Point[]; right: Point[] };
  params: Required<LockOptions>;
}

export function resolveLockOptions(opts: LockOptions = {}): Required<LockOptions> {
  const o = { ...DEFAULT_LOCK_OPTIONS };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  // Scale and rotation exist only in the chained method.
  if (opts.similarity && opts.method === undefined) o.method = 'chain';
  if (o.similarity && o.method === 'global') throw new ReshootError('similarity (scale and rotation) needs the chain lock method; the global method is translation only');
  if (!(o.strength >= 0 && o.strength <= 1)) throw new ReshootError(`lock strength must be between 0 and 1, got ${o.strength}`);
  if (o.method !== 'chain' && o.method !== 'global') throw new ReshootError(`lock method must be chain or global, got "${String(o.method)}"`);
  for (const k of ['ease', 'fitWindow', 'hold', 'returnSpeed', 'maxInterpolate', 'smoothing', 'stiffness'] as const) {
    if (!(Number.isFinite(o[k]) && o[k] >= 0)) throw new ReshootError(`lock option ${k} must be a number >= 0, got ${o[k]}`);
  }
  return o;
}

export function applyMat(m: Mat2x3, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] };
}

/** Linear blend of two affines (of similarities: still a similarity). */
export function blendMat(a: Mat2x3, b: Mat2x3, u: number): Mat2x3 {
  return a.map((v, i) => v + u * (b[i] - v)) as Mat2x3;
}

/**
 * Robust line through (u_k, v_k) evaluated at u = 0: iteratively reweighted
 * least squares with Huber weights (k = 1.345 sigma, sigma from the MAD,
 * at least `floor`), so a lifted-foot sample at a contact's boundary or an
 * outlier keypoint does not tilt the line.
 */
function robustLineAt0(u: number[], v: number[], floor: number): number {
  const n = u.length;
  const w = new Array<number>(n).fill(1);
  let c0 = 0, c1 = 0;
  for (let iter = 0; iter < 4; iter++) {
    let sw = 0, su = 0, sv = 0, suu = 0, suv = 0;
    for (let k = 0; k < n; k++) {
      sw += w[k];
      su += w[k] * u[k];
      sv += w[k] * v[k];
      suu += w[k] * u[k] * u[k];
      suv += w[k] * u[k] * v[k];
    }
    const den = sw * suu - su * su;
    if (n < 3 || Math.abs(den) < 1e-9 * Math.max(1, sw * suu)) {
      c1 = 0;
      c0 = sv / sw;
    } else {
      c1 = (sw * suv - su * sv) / den;
      c0 = (sv - c1 * su) / sw;
    }
    const res = u.map((x, k) => Math.abs(v[k] - (c0 + c1 * x)));
    const sorted = res.slice().sort((x, y) => x - y);
    const sigma = Math.max(floor, 1.4826 * sorted[sorted.length >> 1]);
    const kh = 1.345 * sigma;
    for (let k = 0; k < n; k++) w[k] = res[k] <= kh ? 1 : kh / res[k];
  }
  return c0;
}

/**
 * The ankle over a contact: one robust line when the contact is at most two
 * half-windows long (its correction then changes at a constant rate, with
 * no jitter), else a sliding robust local line of half-window r.
 */
function fitSpan(pos: Point[], span: ContactSpan, r: number, floor: number): Point[] {
  const out: Point[] = [];
  const whole = span.end - span.start <= 2 * r;
  for (let t = span.start; t <= span.end; t++) {
    const lo = whole ? span.start : Math.max(span.start, t - r), hi = whole ? span.end : Math.min(span.end, t + r);
    const u: number[] = [], xs: number[] = [], ys: number[] = [];
    for (let k = lo; k <= hi; k++) {
      const p = pos[k];
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      u.push(k - t);
      xs.push(p.x);
      ys.push(p.y);
    }
    out.push(u.length ? { x: robustLineAt0(u, xs, floor), y: robustLineAt0(u, ys, floor) } : { x: NaN, y: NaN });
  }
  return out;
}

/**
 * Gaussian smoothing of each matrix entry over time; sigma in frames, 0 =
 * none. The ends are padded by point reflection (2 m_0 - m_k), so a
 * correction that changes at a constant rate (a steady drift) is kept exactly.
 */
function smoothMatrices(ms: Mat2x3[], sigma: number): Mat2x3[] {
  if (!(sigma > 0) || ms.length < 2) return ms;
  const r = Math.ceil(3 * sigma);
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ws = w.reduce((a, b) => a + b, 0);
  const n = ms.length;
  const at = (j: number, i: number): number => {
    if (j < 0) return 2 * ms[0][i] - ms[Math.min(n - 1, -j)][i];
    if (j >= n) return 2 * ms[n - 1][i] - ms[Math.max(0, 2 * (n - 1) - j)][i];
    return ms[j][i];
  };
  return ms.map((_, t) => {
    const out = [0, 0, 0, 0, 0, 0] as Mat2x3;
    for (let k = -r; k <= r; k++) for (let i = 0; i < 6; i++) out[i] += (w[k + r] / ws) * at(t + k, i);
    return out;
  });
}

/** Bounds of the two-foot similarity: scale factor and angle (radians). */
const MAX_SCALE = 1.1;
const MAX_ANGLE = (5 * Math.PI) / 180;

const smoothstep = (u: number) => {
  const v = Math.min(1, Math.max(0, u));
  return v * v * (3 - 2 * v);
};

/**
 * The per-frame corrections for a track. `contacts` says when each foot is
 * planted (usually detected on the driving pose); `ankles` is the pose track
 * whose ankles the lock holds (the driving pose, or poses re-detected on the
 * generated frames); both must have the same number of frames.
 */
export function planFootLock(contacts: Contacts, ankles: PoseTrack, options: LockOptions = {}): LockPlan {
  const o = resolveLockOptions(options);
  const n = contacts.frames;
  // Hold the feet the contacts were decided on: undo the same left/right ankle swaps (contacts.json before legSwap: none).
  const swapCost = contacts.params?.legSwap ?? 0;
  if (swapCost > 0 && ankles.frames.length === n) ankles = unswapLegs(ankles, { swapCost }).track;
  if (ankles.frames.length !== n) {
    throw new ReshootError(`the ankle track has ${ankles.frames.length} frames but the contacts cover ${n}`);
  }
  if (o.method === 'global') return { ...planFootLockGlobal(contacts, ankles, o), params: o };
  const fps = fpsOf(ankles);
  const F = (s: number) => Math.round(s * fps);
  const feet = [contacts.feet.left, contacts.feet.right];
  const pos = feet.map((f) => interpolateKeypoint(ankles, f.keypoint, F(o.maxInterpolate)));
  const fitted = feet.map(() => Array.from({ length: n }, () => ({ x: NaN, y: NaN })));
  feet.forEach((f, fi) => {
    for (const span of f.spans) fitSpan(pos[fi], span, Math.max(1, F(o.fitWindow)), 0.5).forEach((p, k) => (fitted[fi][span.start + k] = p));
  });
  const planted = (fi: number, t: number) => t >= 0 && t < n && Number.isFinite(fitted[fi][t].x) && feet[fi].contact[t] === true;
  const spanOf = feet.map((f) => {
    const idx = new Array<ContactSpan | null>(n).fill(null);
    for (const s of f.spans) for (let t = s.start; t <= s.end; t++) idx[t] = s;
    return idx;
  });
  // Weights: fade only where the other foot is planted to take over.
  const E = Math.max(0, F(o.ease));
  const weights = feet.map((_, fi) =>
    Array.from({ length: n }, (_, t) => {
      if (!planted(fi, t)) return 0;
      const s = spanOf[fi][t]!;
      const other = 1 - fi;
      let w = 1;
      // Fade in only when the other foot was planted first, fade out only when it stays planted after.
      if (E > 0 && planted(other, s.start - 1) && planted(other, t)) w = Math.min(w, smoothstep((t - s.start + 1) / (E + 1)));
      if (E > 0 && planted(other, s.end + 1) && planted(other, t)) w = Math.min(w, smoothstep((s.end - t + 1) / (E + 1)));
      return w;
    }),
  );
  const hs = contacts.bodyHeight.map((v) => (v && v > 0 ? v : NaN));
  const hAll = hs.filter(Number.isFinite);
  const hMedian = hAll.length ? hAll.sort((a, b) => a - b)[hAll.length >> 1] : Math.max(1, ankles.source.height / 3);
  const full: Mat2x3[] = [];
  const anchors = feet.map(() => new Array<Point | null>(n).fill(null));
  let prev: Mat2x3 = [...IDENTITY];
  let lastContact = -Infinity;
  let lastCentre: Point = { x: ankles.source.width / 2, y: ankles.source.height / 2 };
  const current = feet.map(() => null as Point | null);
  /** The correction that takes each fitted ankle onto its anchor (weighted), with A from both feet when allowed. */
  const solveFrame = (active: { q: Point; a: Point; w: number }[], h: number): Mat2x3 => {
    const wsum = active.reduce((sum, f) => sum + f.w, 0);
    // Centre: weighted mean of the planted ankles, so A acts about the feet.
    const c = { x: active.reduce((sum, f) => sum + f.w * f.q.x, 0) / wsum, y: active.reduce((sum, f) => sum + f.w * f.q.y, 0) / wsum };
    let a = 1, b = 0;
    if (o.similarity && active.length === 2) {
      // The similarity taking both fitted ankles onto both anchors (complex ratio), faded in by the
      // smaller weight so it appears and disappears smoothly at hand-overs; bounded against bad fits.
      const [f1, f2] = active;
      const qx = f2.q.x - f1.q.x, qy = f2.q.y - f1.q.y;
      const ax = f2.a.x - f1.a.x, ay = f2.a.y - f1.a.y;
      const q2 = qx * qx + qy * qy;
      if (q2 > (0.05 * h) ** 2) {
        let sa = (ax * qx + ay * qy) / q2, sb = (ay * qx - ax * qy) / q2;
        const scale = Math.hypot(sa, sb), angle = Math.atan2(sb, sa);
        const sc = Math.min(MAX_SCALE, Math.max(1 / MAX_SCALE, scale)), an = Math.min(MAX_ANGLE, Math.max(-MAX_ANGLE, angle));
        sa = sc * Math.cos(an);
        sb = sc * Math.sin(an);
        const m = Math.min(f1.w, f2.w);
        a = 1 + m * (sa - 1);
        b = m * sb;
      }
    }
    // Translation: weighted mean of what each planted foot asks for, given A.
    let tx = 0, ty = 0;
    for (const f of active) {
      const ux = f.q.x - c.x, uy = f.q.y - c.y;
      tx += f.w * (f.a.x - c.x - (a * ux - b * uy));
      ty += f.w * (f.a.y - c.y - (b * ux + a * uy));
    }
    tx /= wsum;
    ty /= wsum;
    // x' = A (x - c) + c + t  ->  matrix form.
    return [a, -b, c.x + tx - (a * c.x - b * c.y), b, a, c.y + ty - (b * c.x + a * c.y)];
  };
  for (let t = 0; t < n; t++) {
    const h = Number.isFinite(hs[t]) ? hs[t] : hMedian;
    // Feet already planted keep their anchors; the correction they ask for places the feet touching down now.
    const held: { q: Point; a: Point; w: number }[] = [];
    feet.forEach((_, fi) => {
      if (planted(fi, t) && planted(fi, t - 1) && current[fi] && weights[fi][t] > 0) held.push({ q: fitted[fi][t], a: current[fi]!, w: weights[fi][t] });
    });
    const base = held.length ? solveFrame(held, h) : prev;
    const active: { q: Point; a: Point; w: number }[] = [];
    feet.forEach((_, fi) => {
      if (!planted(fi, t)) {
        current[fi] = null;
        return;
      }
      if (!current[fi] || !planted(fi, t - 1)) current[fi] = applyMat(base, fitted[fi][t]);
      anchors[fi][t] = current[fi];
      if (weights[fi][t] > 0) active.push({ q: fitted[fi][t], a: current[fi]!, w: weights[fi][t] });
    });
    if (!active.length) {
      let m: Mat2x3 = [...prev];
      if (t - lastContact > F(o.hold)) {
        // Return towards identity at a bounded speed, measured where the feet last were.
        const p = applyMat(m, lastCentre);
        const d = Math.hypot(p.x - lastCentre.x, p.y - lastCentre.y) + h * Math.hypot(m[0] - 1, m[3]);
        const step = (o.returnSpeed * h) / fps;
        m = d <= step ? [...IDENTITY] : blendMat(m, IDENTITY, step / d);
      }
      full.push(m);
      prev = m;
      continue;
    }
    lastContact = t;
    const wsum = active.reduce((sum, f) => sum + f.w, 0);
    lastCentre = { x: active.reduce((sum, f) => sum + f.w * f.q.x, 0) / wsum, y: active.reduce((sum, f) => sum + f.w * f.q.y, 0) / wsum };
    const m = solveFrame(active, h);
    full.push(m);
    prev = m;
  }
  const smoothed = smoothMatrices(full, o.smoothing * fps);
  const matrices = smoothed.map((m) => blendMat(IDENTITY, m, o.strength));
  return {
    matrices,
    full: smoothed,
    weights: { left: weights[0], right: weights[1] },
    anchors: { left: anchors[0], right: anchors[1] },
    fitted: { left: fitted[0], right: fitted[1] },
    params: o,
  };
}

/**
 * Foot locking as one least-squares problem over the whole clip (translation
 * only): find the per-frame layer offset C_t that makes every planted ankle
 * stand still, each contact's anchor being a free unknown, with a smoothness
 * prior on C:
 *
 *   min_C,a  sum_contacts sum_{t in contact} w_t |q_t + C_t - a_contact|^2
 *            + lambda sum_t |C_{t-1} - 2 C_t + C_{t+1}|^2 + mu sum_t |C_t|^2
 *
 * q are the ankle-source positions (valid or briefly interpolated samples).
 * Eliminating the anchors (each is the weighted mean of q + C over its
 * contact) leaves a sparse symmetric positive-definite system in C, solved by
 * Jacobi-preconditioned conjugate gradients per axis (its right-hand side has
 * no constant component, the only direction the tiny mu alone pins down).
 * Huber weights (three passes) keep keypoint outliers from pulling the layer.
 * lambda = (stiffness * fps)^4 sets how many frames of evidence are pooled:
 * the chained per-contact method (lock.ts) estimates each contact's slide from
 * that contact alone, which is too little on short, noisy contacts (10 fps,
 * small people). (A variant whose data term is the squared frame-to-frame
 * sliding itself was tried and measured worse: differences of white keypoint
 * jitter carry less information about a slow slide than deviations from an
 * anchor.) The free constant is fixed by C = 0 at the first planted frame.
 * Before the first and after the last planted frame the offset is held for
 * `hold`, then returns to zero at `returnSpeed`.
 */
import type { PoseTrack } from '../pose/types.js';
import { fpsOf, interpolateKeypoint, type Contacts, type Point } from './contacts.js';
import type { LockPlan, Mat2x3 } from './lock.js';

export interface GlobalLockParams {
  strength: number;
  stiffness: number;
  hold: number;
  returnSpeed: number;
  maxInterpolate: number;
}

interface Span {
  idx: number[];
  q: number[];
}

/** out = A x for the eliminated system of one axis. */
function applyA(x: Float64Array, spans: Span[], w: Float64Array[], lambda: number, mu: number, out: Float64Array): void {
  const n = x.length;
  for (let t = 0; t < n; t++) out[t] = mu * x[t];
  spans.forEach((s, k) => {
    const ws = w[k];
    let sw = 0, sx = 0;
    for (let i = 0; i < s.idx.length; i++) {
      sw += ws[i];
      sx += ws[i] * x[s.idx[i]];
    }
    const m = sx / sw;
    for (let i = 0; i < s.idx.length; i++) out[s.idx[i]] += ws[i] * (x[s.idx[i]] - m);
  });
  if (lambda > 0) {
    for (let t = 1; t < n - 1; t++) {
      const d = lambda * (x[t - 1] - 2 * x[t] + x[t + 1]);
      out[t - 1] += d;
      out[t] -= 2 * d;
      out[t + 1] += d;
    }
  }
}

/** Solves A x = b by Jacobi-preconditioned conjugate gradients, starting from x0. */
function solveCG(spans: Span[], w: Float64Array[], lambda: number, mu: number, b: Float64Array, x0: Float64Array): Float64Array {
  const n = b.length;
  const diag = new Float64Array(n).fill(mu);
  spans.forEach((s, k) => {
    let sw = 0;
    for (const v of w[k]) sw += v;
    s.idx.forEach((t, i) => (diag[t] += w[k][i] * (1 - w[k][i] / sw)));
  });
  for (let t = 1; t < n - 1; t++) {
    diag[t - 1] += lambda;
    diag[t] += 4 * lambda;
    diag[t + 1] += lambda;
  }
  const x = Float64Array.from(x0);
  const Ax = new Float64Array(n);
  applyA(x, spans, w, lambda, mu, Ax);
  const r = b.map((v, t) => v - Ax[t]);
  const z = r.map((v, t) => v / (diag[t] || 1));
  const p = Float64Array.from(z);
  const Ap = new Float64Array(n);
  let rz = r.reduce((s, v, t) => s + v * z[t], 0);
  const bnorm = Math.sqrt(b.reduce((s, v) => s + v * v, 0)) || 1;
  for (let iter = 0; iter < 2000; iter++) {
    applyA(p, spans, w, lambda, mu, Ap);
    const pAp = p.reduce((s, v, t) => s + v * Ap[t], 0);
    if (!(pAp > 0)) break;
    const alpha = rz / pAp;
    let rr = 0;
    for (let t = 0; t < n; t++) {
      x[t] += alpha * p[t];
      r[t] -= alpha * Ap[t];
      rr += r[t] * r[t];
    }
    if (Math.sqrt(rr) < 1e-9 * bnorm) break;
    let rzNew = 0;
    for (let t = 0; t < n; t++) {
      z[t] = r[t] / (diag[t] || 1);
      rzNew += r[t] * z[t];
    }
    const beta = rzNew / rz;
    rz = rzNew;
    for (let t = 0; t < n; t++) p[t] = z[t] + beta * p[t];
  }
  return x;
}

/** One axis with Huber re-weighting (scale from the MAD of the residuals, at least 0.25 px). */
function solveAxis(n: number, spans: Span[], lambda: number, mu: number): { c: Float64Array; w: Float64Array[] } {
  let w = spans.map((s) => new Float64Array(s.idx.length).fill(1));
  let c: Float64Array = new Float64Array(n);
  for (let pass = 0; pass < 3; pass++) {
    const b = new Float64Array(n);
    spans.forEach((s, k) => {
      let sw = 0, sq = 0;
      for (let i = 0; i < s.idx.length; i++) {
        sw += w[k][i];
        sq += w[k][i] * s.q[i];
      }
      const m = sq / sw;
      for (let i = 0; i < s.idx.length; i++) b[s.idx[i]] -= w[k][i] * (s.q[i] - m);
    });
    c = solveCG(spans, w, lambda, mu, b, c);
    const res = spans.map((s, k) => {
      let sw = 0, sv = 0;
      s.idx.forEach((t, i) => {
        sw += w[k][i];
        sv += w[k][i] * (s.q[i] + c[t]);
      });
      const m = sv / sw;
      return s.idx.map((t, i) => Math.abs(s.q[i] + c[t] - m));
    });
    const all = res.flat().sort((x, y) => x - y);
    const sigma = Math.max(0.25, 1.4826 * (all[all.length >> 1] ?? 0));
    const kh = 1.345 * sigma;
    w = res.map((r) => Float64Array.from(r, (x) => (x <= kh ? 1 : kh / x)));
  }
  return { c, w };
}

/** Per-frame translation that holds planted ankles; see the file comment. */
export function planFootLockGlobal(contacts: Contacts, ankles: PoseTrack, o: GlobalLockParams): LockPlan {
  const n = contacts.frames;
  const fps = fpsOf(ankles);
  const feet = [contacts.feet.left, contacts.feet.right];
  const pos = feet.map((f) => interpolateKeypoint(ankles, f.keypoint, Math.round(o.maxInterpolate * fps)));
  const spansX: Span[] = [], spansY: Span[] = [];
  const planted = new Array<boolean>(n).fill(false);
  feet.forEach((f, fi) => {
    for (const span of f.spans) {
      const idx: number[] = [], qx: number[] = [], qy: number[] = [];
      for (let t = span.start; t <= span.end; t++) {
        if (f.contact[t] !== true || !Number.isFinite(pos[fi][t].x)) continue;
        idx.push(t);
        qx.push(pos[fi][t].x);
        qy.push(pos[fi][t].y);
      }
      if (idx.length < 2) continue;
      spansX.push({ idx, q: qx });
      spansY.push({ idx, q: qy });
      for (const t of idx) planted[t] = true;
    }
  });
  const lambda = (o.stiffness * fps) ** 4;
  const mu = 1e-6;
  const sx = solveAxis(n, spansX, lambda, mu);
  const sy = solveAxis(n, spansY, lambda, mu);
  // Outside the planted range: hold, then return to zero at a bounded speed.
  const first = planted.indexOf(true), last = planted.lastIndexOf(true);
  // The solution is free up to a constant (where the layer sits): the layer stays in place at the first planted
  // frame, as a drift starts from the driving pose (a zero-mean offset would move the first frames instead).
  const x0 = first >= 0 ? sx.c[first] : 0, y0 = first >= 0 ? sy.c[first] : 0;
  const cx = Array.from(sx.c, (v) => v - x0), cy = Array.from(sy.c, (v) => v - y0);
  const hs = contacts.bodyHeight.filter((v): v is number => !!v && v > 0).sort((a, b) => a - b);
  const h = hs.length ? hs[hs.length >> 1] : ankles.source.height / 3;
  const step = (o.returnSpeed * h) / fps;
  const holdFrames = Math.round(o.hold * fps);
  const ease = (from: number, to: number, dir: 1 | -1) => {
    let vx = cx[from], vy = cy[from];
    for (let t = from + dir, k = 1; dir > 0 ? t <= to : t >= to; t += dir, k++) {
      if (k > holdFrames) {
        const d = Math.hypot(vx, vy);
        const u = d <= step ? 0 : (d - step) / d;
        vx *= u;
        vy *= u;
      }
      cx[t] = vx;
      cy[t] = vy;
    }
  };
  if (first < 0) {
    cx.fill(0);
    cy.fill(0);
  } else {
    ease(last, n - 1, 1);
    ease(first, 0, -1);
  }
  const full: Mat2x3[] = cx.map((x, t) => [1, 0, x, 0, 1, cy[t]]);
  const matrices: Mat2x3[] = cx.map((x, t) => [1, 0, o.strength * x, 0, 1, o.strength * cy[t]]);
  const weights = { left: new Array<number>(n).fill(0), right: new Array<number>(n).fill(0) };
  const anchors = { left: new Array<Point | null>(n).fill(null), right: new Array<Point | null>(n).fill(null) };
  const fitted = { left: Array.from({ length: n }, () => ({ x: NaN, y: NaN })), right: Array.from({ length: n }, () => ({ x: NaN, y: NaN })) };
  feet.forEach((f, fi) => {
    const side = fi === 0 ? 'left' : 'right';
    for (const span of f.spans) {
      // The anchor: where the corrected ankle stands on average over the contact.
      let k = 0, ax = 0, ay = 0;
      for (let t = span.start; t <= span.end; t++) {
        if (f.contact[t] !== true || !Number.isFinite(pos[fi][t].x)) continue;
        fitted[side][t] = pos[fi][t];
        weights[side][t] = 1;
        ax += pos[fi][t].x + cx[t];
        ay += pos[fi][t].y + cy[t];
        k++;
      }
      if (!k) continue;
      for (let t = span.start; t <= span.end; t++) anchors[side][t] = { x: ax / k, y: ay / k };
    }
  });
  return { matrices, full, weights, anchors, fitted, params: o as unknown as LockPlan['params'] };
}

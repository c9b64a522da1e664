/**
 * Ankle contact detection on a pose track (COCO-17 ankles 15 and 16).
 *
 * Per foot and frame, from two signals normalised by body size h (so near and
 * far people use the same settings):
 *   speed  = ankle speed in body heights per second, the smaller of the
 *            backward and forward differences of the lightly smoothed track
 *            (a foot is planted at t when it is still either arriving at or
 *            leaving t, which keeps touch-down and lift-off frames sharp);
 *   height = height above the local ground line in body heights: the lowest
 *            ankle (largest y) of either foot within a window, after removing
 *            the ground's slope in the image (fitted on slow ankle samples).
 * A foot enters contact when both are under the "on" thresholds and leaves
 * when either exceeds the "off" thresholds (hysteresis). Short gaps between
 * contacts are filled (contact extension, against flicker), then contacts
 * shorter than the minimum are dropped.
 *
 * Low-confidence ankles (valid=false) are linearly interpolated across gaps
 * up to `maxInterpolate`; longer gaps are "no decision" (null), and so are
 * frames where no body size is known.
 */
import { LEFT_ANKLE, LEFT_HIP, NOSE, RIGHT_ANKLE, RIGHT_HIP, type PoseTrack } from '../pose/types.js';
import type { Rational } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { unswapLegs } from './legs.js';

export interface Point {
  x: number;
  y: number;
}

export interface ContactOptions {
  /** Enter contact below this speed, body heights per second. */
  speedOn?: number;
  /** Leave contact above this speed, h/s. */
  speedOff?: number;
  /** Enter contact below this height above the ground line, body heights. */
  heightOn?: number;
  /** Leave contact above this height, h. */
  heightOff?: number;
  /** Gaussian sigma of the position smoothing before differentiating, seconds. */
  smoothing?: number;
  /** ...but at least this many frames (keypoint jitter is per frame, whatever the frame rate). */
  minSmoothingFrames?: number;
  /** Half-width of the ground-line window, seconds. */
  groundWindow?: number;
  /** Contacts shorter than this are dropped, seconds. */
  minContact?: number;
  /** Gaps between contacts up to this long are filled, seconds. */
  fillGap?: number;
  /** Invalid ankles are interpolated across gaps up to this long, seconds; longer gaps give no decision. */
  maxInterpolate?: number;
  /** Half-width of the running median that smooths body size h, seconds. */
  bodyWindow?: number;
  /** Left/right ankle swaps undone by continuity (legs.ts): the cost of one swapped frame, body heights of foot motion; 0 = off. */
  legSwap?: number;
  /**
   * Speed thresholds relative to the body's own speed (hips, else box centre):
   * enter below max(speedOn, bodySpeedOn x body speed), leave above
   * max(speedOff, bodySpeedOff x body speed); 0 = off. A swing foot moves at
   * about twice the body's speed and a planted one not at all, in any view:
   * walking away from the camera both shrink together in the image.
   */
  bodySpeedOn?: number;
  bodySpeedOff?: number;
}

/** Defaults: tuned on the hand-labelled vtest walkers and the synthetic sets together (bench/contacts-tune.ts, src/footlock/README.md). */
export const DEFAULT_CONTACT_OPTIONS: Required<ContactOptions> = {
  speedOn: 0.25,
  speedOff: 0.4,
  heightOn: 0.3,
  heightOff: 0.4,
  smoothing: 0.05,
  minSmoothingFrames: 0,
  groundWindow: 0.3,
  minContact: 0.1,
  fillGap: 0.1,
  maxInterpolate: 0.4,
  bodyWindow: 0.5,
  legSwap: 0.2,
  bodySpeedOn: 0.5,
  bodySpeedOff: 0.6,
};

export interface ContactSpan {
  /** First and last frame of the contact (inclusive). */
  start: number;
  end: number;
  /** Where the ankle is planted: median of its (interpolated) positions over the span, px. */
  anchor: Point;
}

export interface FootContacts {
  /** COCO-17 keypoint index of the ankle (15 left, 16 right). */
  keypoint: number;
  /** Per frame: in contact, not in contact, or null (no decision: ankle unknown too long). */
  contact: (boolean | null)[];
  /** Per frame: the anchor of the contact the frame belongs to, else null. */
  anchor: (Point | null)[];
  spans: ContactSpan[];
}

export interface Contacts {
  schema: 'reshoot.contacts/1';
  source: PoseTrack['source'];
  fps: Rational;
  frames: number;
  /** The options used, every default filled in. */
  params: Required<ContactOptions>;
  /** Smoothed body size h per frame, px (null where unknown). */
  bodyHeight: (number | null)[];
  feet: { left: FootContacts; right: FootContacts };
}

/** The signals contacts are decided from (for notebooks and tuning). NaN where undecided. */
export interface FootSignals {
  /** Ankle after interpolation of short invalid gaps (NaN beyond). */
  position: Point[];
  /** Smoothed position used for speed and height. */
  smoothed: Point[];
  /** h/s. */
  speed: number[];
  /** Body heights above the ground line. */
  height: number[];
}

export interface ContactSignals {
  fps: number;
  bodyHeight: number[];
  /** Speed of the body centre (hips, else box centre), h/s, running median; NaN where unknown. */
  bodySpeed: number[];
  /** Ground line y (px) at each foot's x is groundY + slope * (x - groundX). */
  groundSlope: number;
  left: FootSignals;
  right: FootSignals;
}

export function resolveContactOptions(opts: ContactOptions = {}): Required<ContactOptions> {
  const o = { ...DEFAULT_CONTACT_OPTIONS };
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw new ReshootError(`contact option ${k} must be a number >= 0, got ${String(v)}`);
    }
    (o as Record<string, number>)[k] = v;
  }
  if (o.speedOff < o.speedOn) throw new ReshootError(`speedOff (${o.speedOff}) must be >= speedOn (${o.speedOn})`);
  if (o.heightOff < o.heightOn) throw new ReshootError(`heightOff (${o.heightOff}) must be >= heightOn (${o.heightOn})`);
  return o;
}

export function fpsOf(track: Pick<PoseTrack, 'source'>): number {
  const f = track.source?.fps;
  const v = f ? f.num / f.den : NaN;
  if (!(v > 0 && Number.isFinite(v))) throw new ReshootError('pose track has no valid fps (source.fps)');
  return v;
}

/**
 * Ankle positions of keypoint k: valid points as they are, invalid gaps of at
 * most maxGap frames linearly interpolated between the valid neighbours, NaN
 * elsewhere (also at the ends, where there is nothing to interpolate from).
 */
export function interpolateKeypoint(track: PoseTrack, k: number, maxGap: number): Point[] {
  const n = track.frames.length;
  const out: Point[] = new Array(n);
  let last = -1;
  for (let i = 0; i < n; i++) {
    const kp = track.frames[i].keypoints[k];
    if (track.frames[i].found && kp?.valid && Number.isFinite(kp.x) && Number.isFinite(kp.y)) {
      out[i] = { x: kp.x, y: kp.y };
      const gap = i - last - 1;
      if (last >= 0 && gap > 0 && gap <= maxGap) {
        const a = out[last];
        for (let j = last + 1; j < i; j++) {
          const u = (j - last) / (i - last);
          out[j] = { x: a.x + u * (kp.x - a.x), y: a.y + u * (kp.y - a.y) };
        }
      }
      last = i;
    } else {
      out[i] = { x: NaN, y: NaN };
    }
  }
  return out;
}

/** Gaussian smoothing that skips NaN samples (normalised convolution); NaN stays NaN. */
export function smoothNaN(v: number[], sigma: number): number[] {
  if (!(sigma > 0)) return v.slice();
  const r = Math.max(1, Math.ceil(3 * sigma));
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  return v.map((x, i) => {
    if (!Number.isFinite(x)) return NaN;
    let s = 0, ws = 0;
    for (let k = -r; k <= r; k++) {
      const y = v[i + k];
      if (y === undefined || !Number.isFinite(y)) continue;
      s += w[k + r] * y;
      ws += w[k + r];
    }
    return s / ws;
  });
}

function median(a: number[]): number {
  if (!a.length) return NaN;
  const s = a.slice().sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Body size h per frame: nose to the lower ankle (vertical), else the pose
 * box height, then a running median over +-window frames (ignoring unknown
 * frames); NaN where the window holds no measurement.
 */
export function bodyHeights(track: PoseTrack, window: number): number[] {
  const raw = track.frames.map((f) => {
    if (!f.found) return NaN;
    const nose = f.keypoints[NOSE];
    const ankles = [f.keypoints[LEFT_ANKLE], f.keypoints[RIGHT_ANKLE]].filter((k) => k?.valid);
    if (nose?.valid && ankles.length) {
      const d = Math.max(...ankles.map((k) => k.y)) - nose.y;
      if (d > 0) return d;
    }
    return f.box && f.box.height > 0 ? f.box.height : NaN;
  });
  return raw.map((_, i) => {
    const w: number[] = [];
    for (let k = Math.max(0, i - window); k <= Math.min(raw.length - 1, i + window); k++) if (Number.isFinite(raw[k])) w.push(raw[k]);
    return median(w);
  });
}

/** Least-squares slope of y on x; 0 when x spans less than `minSpan` or too few samples. */
function groundSlope(xs: number[], ys: number[], minSpan: number): number {
  if (xs.length < 4) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  const span = Math.max(...xs) - Math.min(...xs);
  if (span < minSpan || sxx === 0) return 0;
  return sxy / sxx;
}

/**
 * Body speed, h/s: the hip centre (else the box centre), central differences
 * over +-`step` frames, then a running median over +-`window` frames (a stride
 * has one step per foot, so the median is the walking speed, not the bounce).
 */
export function bodySpeeds(track: PoseTrack, h: number[], fps: number, step: number, window: number): number[] {
  const c = track.frames.map((f) => {
    if (!f.found) return null;
    const hips = [f.keypoints[LEFT_HIP], f.keypoints[RIGHT_HIP]].filter((k) => k?.valid);
    if (hips.length) return { x: hips.reduce((a, k) => a + k.x, 0) / hips.length, y: hips.reduce((a, k) => a + k.y, 0) / hips.length };
    return f.box ? { x: f.box.x + f.box.width / 2, y: f.box.y + f.box.height / 2 } : null;
  });
  const n = c.length;
  const raw = c.map((_, i) => {
    const a = c[Math.max(0, i - step)], b = c[Math.min(n - 1, i + step)];
    const dt = Math.min(n - 1, i + step) - Math.max(0, i - step);
    return a && b && dt > 0 ? (Math.hypot(b.x - a.x, b.y - a.y) * fps) / dt / h[i] : NaN;
  });
  return raw.map((_, i) => {
    const w: number[] = [];
    for (let k = Math.max(0, i - window); k <= Math.min(n - 1, i + window); k++) if (Number.isFinite(raw[k])) w.push(raw[k]);
    return median(w);
  });
}

/** Speed and height signals of both ankles. */
export function contactSignals(track: PoseTrack, options: ContactOptions = {}): ContactSignals {
  const o = resolveContactOptions(options);
  if (o.legSwap > 0) track = unswapLegs(track, { swapCost: o.legSwap }).track;
  const fps = fpsOf(track);
  const n = track.frames.length;
  const frames = (s: number) => Math.round(s * fps);
  const h = bodyHeights(track, Math.max(1, frames(o.bodyWindow)));
  const sigma = Math.max(o.smoothing * fps, o.minSmoothingFrames);
  const feet = [LEFT_ANKLE, RIGHT_ANKLE].map((k) => {
    const position = interpolateKeypoint(track, k, frames(o.maxInterpolate));
    const sx = smoothNaN(position.map((p) => p.x), sigma);
    const sy = smoothNaN(position.map((p) => p.y), sigma);
    const smoothed = sx.map((x, i) => ({ x, y: sy[i] }));
    const step = (i: number, j: number) => Math.hypot(smoothed[j].x - smoothed[i].x, smoothed[j].y - smoothed[i].y);
    const speed = smoothed.map((_, i) => {
      const back = i > 0 ? step(i - 1, i) : NaN;
      const fwd = i < n - 1 ? step(i, i + 1) : NaN;
      const m = Number.isFinite(back) && Number.isFinite(fwd) ? Math.min(back, fwd) : Number.isFinite(back) ? back : fwd;
      return (m * fps) / h[i];
    });
    return { position, smoothed, speed };
  });
  // Ground slope in the image from slow samples of both feet.
  const xs: number[] = [], ys: number[] = [];
  for (const f of feet) {
    f.smoothed.forEach((p, i) => {
      if (Number.isFinite(p.x) && Number.isFinite(f.speed[i]) && f.speed[i] < o.speedOn) {
        xs.push(p.x);
        ys.push(p.y);
      }
    });
  }
  const medH = median(h.filter(Number.isFinite));
  const slope = Math.max(-0.5, Math.min(0.5, groundSlope(xs, ys, Number.isFinite(medH) ? medH : 1)));
  // Detrended y: the ground is flat in (x, y - slope x).
  const yd = feet.map((f) => f.smoothed.map((p) => p.y - slope * p.x));
  const gw = Math.max(1, frames(o.groundWindow));
  const ground = new Array<number>(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    let g = -Infinity;
    for (let k = Math.max(0, i - gw); k <= Math.min(n - 1, i + gw); k++) {
      for (const y of yd) if (Number.isFinite(y[k]) && y[k] > g) g = y[k];
    }
    if (g > -Infinity) ground[i] = g;
  }
  const out = feet.map((f, fi) => ({
    position: f.position,
    smoothed: f.smoothed,
    speed: f.speed,
    height: yd[fi].map((y, i) => (ground[i] - y) / h[i]),
  }));
  const bodySpeed = bodySpeeds(track, h, fps, Math.max(1, frames(0.15)), Math.max(1, frames(o.bodyWindow)));
  return { fps, bodyHeight: h, bodySpeed, groundSlope: slope, left: out[0], right: out[1] };
}

/** Hysteresis, gap filling and minimum length on one foot's signals. */
export function decideContacts(sig: Pick<FootSignals, 'speed' | 'height'>, o: Required<ContactOptions>, fps: number, bodySpeed?: number[]): (boolean | null)[] {
  const n = sig.speed.length;
  const out: (boolean | null)[] = new Array(n);
  let state = false;
  for (let i = 0; i < n; i++) {
    const v = sig.speed[i], hh = sig.height[i];
    if (!Number.isFinite(v) || !Number.isFinite(hh)) {
      out[i] = null;
      state = false;
      continue;
    }
    const vb = bodySpeed && Number.isFinite(bodySpeed[i]) ? bodySpeed[i] : 0;
    const on = Math.max(o.speedOn, o.bodySpeedOn * vb), off = Math.max(o.speedOff, o.bodySpeedOff * vb, on);
    state = state ? !(v > off || hh > o.heightOff) : v < on && hh < o.heightOn;
    out[i] = state;
  }
  // Contact extension: false runs of at most fillGap frames between two contacts.
  const gap = Math.round(o.fillGap * fps);
  forEachRun(out, false, (s, e) => {
    if (e - s + 1 <= gap && s > 0 && e < n - 1 && out[s - 1] === true && out[e + 1] === true) for (let i = s; i <= e; i++) out[i] = true;
  });
  const minLen = Math.max(1, Math.round(o.minContact * fps));
  forEachRun(out, true, (s, e) => {
    if (e - s + 1 < minLen) for (let i = s; i <= e; i++) out[i] = false;
  });
  return out;
}

/** Calls fn(start, end) for each maximal run of `value` (collected first, so fn may edit). */
export function forEachRun<T>(a: T[], value: T, fn: (start: number, end: number) => void): void {
  const runs: [number, number][] = [];
  let s = -1;
  for (let i = 0; i <= a.length; i++) {
    if (i < a.length && a[i] === value) {
      if (s < 0) s = i;
    } else if (s >= 0) {
      runs.push([s, i - 1]);
      s = -1;
    }
  }
  for (const [a0, b0] of runs) fn(a0, b0);
}

function footContacts(keypoint: number, contact: (boolean | null)[], position: Point[]): FootContacts {
  const spans: ContactSpan[] = [];
  const anchor: (Point | null)[] = new Array(contact.length).fill(null);
  forEachRun(contact, true, (start, end) => {
    const xs: number[] = [], ys: number[] = [];
    for (let i = start; i <= end; i++) {
      if (Number.isFinite(position[i].x)) {
        xs.push(position[i].x);
        ys.push(position[i].y);
      }
    }
    const a = { x: median(xs), y: median(ys) };
    spans.push({ start, end, anchor: a });
    for (let i = start; i <= end; i++) anchor[i] = a;
  });
  return { keypoint, contact, anchor, spans };
}

/** Contacts of both feet of a pose track. */
export function detectContacts(track: PoseTrack, options: ContactOptions = {}): Contacts {
  if (!track || !Array.isArray(track.frames)) throw new ReshootError('detectContacts: not a pose track');
  const o = resolveContactOptions(options);
  const sig = contactSignals(track, o);
  const left = decideContacts(sig.left, o, sig.fps, sig.bodySpeed);
  const right = decideContacts(sig.right, o, sig.fps, sig.bodySpeed);
  return {
    schema: 'reshoot.contacts/1',
    source: track.source,
    fps: track.source.fps,
    frames: track.frames.length,
    params: o,
    bodyHeight: sig.bodyHeight.map((v) => (Number.isFinite(v) ? v : null)),
    feet: {
      left: footContacts(LEFT_ANKLE, left, sig.left.position),
      right: footContacts(RIGHT_ANKLE, right, sig.right.position),
    },
  };
}

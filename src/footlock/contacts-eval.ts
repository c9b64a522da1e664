/**
 * Scoring contacts and ankles against hand labels (datasets/labels/*.json,
 * schema reshoot.contact-labels/1): contact F1 per walker, confusion at the
 * stance/swing boundaries, ankle error in original pixels.
 *
 * Labels name feet "a" and "b" (the physical foot followed by eye; which one
 * is the person's left is often not visible at 60-145 px). Each labelled foot
 * is matched to the pose track's left or right ankle by majority of nearest
 * positions over the labelled ankle frames, once per walker, so a model that
 * swaps left and right from frame to frame is still penalised.
 */
import { readFileSync } from 'node:fs';
import { ReshootError } from '../util/errors.js';
import { LEFT_ANKLE, RIGHT_ANKLE, type PoseTrack } from '../pose/types.js';
import type { Contacts } from './contacts.js';

/** Per frame: c contact, s swing, u unsure (not scored), - not visible (not scored). */
export type ContactLabel = 'c' | 's' | 'u' | '-';

export interface LabelledFoot {
  /** One character per frame of the walker's range (ContactLabel). */
  contact: string;
  /** Ankle centre by eye, original pixels (pixel centres at integers), keyed by frame index. */
  ankles: Record<string, [number, number]>;
}

export interface LabelledWalker {
  name: string;
  /** First and last frame (inclusive) labelled. */
  frames: [number, number];
  /** A point on the walker in the first frame (for `--subject x,y`). */
  at: [number, number];
  /** Approximate height of the person, px (head top to sole) at the start and end. */
  heightPx: [number, number];
  notes?: string;
  feet: { a: LabelledFoot; b: LabelledFoot };
}

export interface ContactLabels {
  schema: 'reshoot.contact-labels/1';
  clip: string;
  fps: number;
  /** Frame ranges never labelled (kept for an independent check). */
  heldOut: [number, number][];
  method: string;
  walkers: LabelledWalker[];
}

export function readContactLabels(path: string): ContactLabels {
  let v: ContactLabels;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as ContactLabels;
  } catch (err) {
    throw new ReshootError(`cannot read contact labels ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (v?.schema !== 'reshoot.contact-labels/1' || !Array.isArray(v.walkers)) throw new ReshootError(`${path} is not reshoot.contact-labels/1`);
  for (const w of v.walkers) {
    const n = w.frames[1] - w.frames[0] + 1;
    for (const k of ['a', 'b'] as const) {
      const f = w.feet[k];
      if (f.contact.length !== n || /[^csu-]/.test(f.contact)) throw new ReshootError(`${path}: walker ${w.name} foot ${k}: contact needs ${n} characters of c/s/u/-`);
      for (const key of Object.keys(f.ankles)) {
        const i = Number(key);
        if (!(i >= w.frames[0] && i <= w.frames[1])) throw new ReshootError(`${path}: walker ${w.name} foot ${k}: ankle at frame ${key} is outside ${w.frames.join('-')}`);
      }
    }
    for (const [a, b] of v.heldOut) {
      if (w.frames[0] <= b && w.frames[1] >= a) throw new ReshootError(`${path}: walker ${w.name} (${w.frames.join('-')}) overlaps the held-out frames ${a}-${b}`);
    }
  }
  return v;
}

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function f1(c: Confusion): number {
  return c.tp === 0 ? (c.fp + c.fn === 0 ? 1 : 0) : (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
}

export function addConfusion(a: Confusion, b: Confusion): Confusion {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

export interface WalkerScore {
  name: string;
  /** Labelled foot -> ankle keypoint (15 left, 16 right) it was matched to. */
  match: { a: number; b: number };
  all: Confusion;
  /** Frames next to a labelled stance/swing change (a neighbour has the other label, or is 'u'). */
  boundary: Confusion;
  interior: Confusion;
  /** Scored frames where the detector gave no decision (counted as not-contact in `all`). */
  undecided: number;
  /** Ankle error vs the labels where both exist and the ankle was valid, px (sorted). */
  ankleErrors: number[];
  /** Labelled ankle frames where the track had no valid ankle there. */
  ankleMissing: number;
}

function nearestAnkle(track: PoseTrack, index: number, p: [number, number]): { k: number; d: number } | null {
  const f = track.frames.find((q) => q.index === index);
  if (!f?.found) return null;
  let best: { k: number; d: number } | null = null;
  for (const k of [LEFT_ANKLE, RIGHT_ANKLE]) {
    const q = f.keypoints[k];
    if (!q.valid) continue;
    const d = Math.hypot(q.x - p[0], q.y - p[1]);
    if (!best || d < best.d) best = { k, d };
  }
  return best;
}

/**
 * Scores one walker: `track` is the subject's pose track (frame indices as in
 * the video) and `contacts` its detected contacts (same frames).
 */
export function scoreWalker(w: LabelledWalker, track: PoseTrack, contacts: Contacts): WalkerScore {
  const pos = new Map(track.frames.map((f, i) => [f.index, i]));
  // Majority matching of labelled feet to ankle keypoints.
  const votes = { a: 0, b: 0 }; // > 0: foot a is the left ankle
  for (const key of ['a', 'b'] as const) {
    for (const [i, p] of Object.entries(w.feet[key].ankles)) {
      const n = nearestAnkle(track, Number(i), p);
      if (n) votes[key] += n.k === LEFT_ANKLE ? 1 : -1;
    }
  }
  const aLeft = votes.a - votes.b >= 0;
  const match = { a: aLeft ? LEFT_ANKLE : RIGHT_ANKLE, b: aLeft ? RIGHT_ANKLE : LEFT_ANKLE };
  const zero = (): Confusion => ({ tp: 0, fp: 0, fn: 0, tn: 0 });
  let all = zero(), boundary = zero(), interior = zero();
  let undecided = 0;
  const errs: number[] = [];
  let missing = 0;
  for (const key of ['a', 'b'] as const) {
    const foot = w.feet[key];
    const det = match[key] === LEFT_ANKLE ? contacts.feet.left.contact : contacts.feet.right.contact;
    const lab = foot.contact;
    for (let j = 0; j < lab.length; j++) {
      const c = lab[j];
      if (c !== 'c' && c !== 's') continue;
      const idx = w.frames[0] + j;
      const i = pos.get(idx);
      const d = i === undefined ? null : det[i];
      if (d === null || d === undefined) undecided++;
      const truth = c === 'c';
      const said = d === true;
      const cell: keyof Confusion = truth ? (said ? 'tp' : 'fn') : said ? 'fp' : 'tn';
      all[cell]++;
      // At a boundary: a neighbour is the other state, or 'u' (a touch-down / lift-off frame the labeller left open).
      const near = [lab[j - 1], lab[j + 1]].some((n) => n === 'u' || ((n === 'c' || n === 's') && n !== c));
      (near ? boundary : interior)[cell]++;
    }
    for (const [i, p] of Object.entries(foot.ankles)) {
      const ti = pos.get(Number(i));
      const q = ti === undefined ? undefined : track.frames[ti];
      const k = q?.found ? q.keypoints[match[key]] : undefined;
      if (!k?.valid) {
        missing++;
        continue;
      }
      errs.push(Math.hypot(k.x - p[0], k.y - p[1]));
    }
  }
  errs.sort((x, y) => x - y);
  return { name: w.name, match, all, boundary, interior, undecided, ankleErrors: errs, ankleMissing: missing };
}

export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const p = (sorted.length - 1) * q;
  const lo = Math.floor(p), hi = Math.ceil(p);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - lo);
}

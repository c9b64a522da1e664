/**
 * Segment planning: split a video into N overlapping segments a model can
 * afford. Boundaries come from the subject's motion energy (snapped to
 * low-motion frames, where a context change is least visible), with a uniform
 * split as the fallback. See README.md for the plan format.
 */
import type { PoseTrack } from '../pose/types.js';
import { ReshootError } from '../util/errors.js';

export type MotionEnergySource = 'pose-box-speed' | 'flow-residual' | 'none';

export interface Segment {
  index: number;
  label: string;
  /** First frame (inclusive). */
  start: number;
  /** One past the last frame; includes the overlap shared with the next segment. */
  end: number;
  /** Frames shared with the NEXT segment: [end - overlap, end) = the next segment's first frames. 0 for the last. */
  overlap: number;
}

export interface SegmentPlan {
  schema: 'reshoot.segments/1';
  frameCount: number;
  /** Segments asked for and segments planned (fewer when the video is too short; see reason). */
  requestedCount: number;
  count: number;
  overlap: number;
  minLength: number;
  /** How the boundaries were chosen. */
  method: 'motion' | 'uniform';
  /** Why (one sentence: the fallback's cause, fewer segments, ...). */
  reason: string;
  energySource: MotionEnergySource;
  /** Cut points: segment k+1 starts at boundaries[k] (the first frame of the overlap). */
  boundaries: number[];
  segments: Segment[];
  /** Motion energy per frame that the boundaries were chosen from (empty when none). */
  energy: number[];
  /** The video the plan was made for (written by the CLI). */
  source?: { path: string; width: number; height: number; fps: { num: number; den: number } };
}

export interface PlanOptions {
  /** Segments. Default 3. */
  count?: number;
  /** Frames shared by neighbouring segments. Default 5. */
  overlap?: number;
  /** Shortest segment, frames, counted without the overlap into the next one. Default max(2 * overlap + 1, 8). */
  minLength?: number;
  /** When the video is shorter than count * minLength: 'fewer' plans as many as fit (default), 'error' throws. */
  onShort?: 'fewer' | 'error';
  /** Boundaries move at most this fraction of the uniform segment length towards a quieter frame. Default 0.35. */
  snapWindow?: number;
  /** A boundary moves only to a frame whose smoothed energy is at most the median divided by this. Default 1.5. */
  minContrast?: number;
  /** Force the uniform split. */
  uniform?: boolean;
}

/** Labels for the documented counts; other counts get seg-0, seg-1, ... */
export const SEGMENT_LABELS: Readonly<Record<number, readonly string[]>> = Object.freeze({
  1: ['whole'],
  3: ['approach', 'hold', 'exit'],
  5: ['approach', 'arrive', 'hold', 'depart', 'exit'],
  7: ['approach', 'near', 'arrive', 'hold', 'depart', 'away', 'exit'],
});

export function segmentLabels(count: number): string[] {
  const known = SEGMENT_LABELS[count];
  return known ? [...known] : Array.from({ length: count }, (_, k) => `seg-${k}`);
}

/** Motion energy from a pose track: box-centre speed per frame in box heights per frame (gaps interpolated, 0 when nothing is found). */
export function poseMotionEnergy(track: PoseTrack, frameCount = track.frames.length): number[] {
  const centre: (null | { x: number; y: number; h: number })[] = Array.from({ length: frameCount }, () => null);
  for (const f of track.frames) {
    if (f.index >= 0 && f.index < frameCount && f.found && f.box && f.box.height > 0) {
      centre[f.index] = { x: f.box.x + f.box.width / 2, y: f.box.y + f.box.height / 2, h: f.box.height };
    }
  }
  const known = centre.map((c, i) => (c ? i : -1)).filter((i) => i >= 0);
  if (known.length < 2) return Array.from({ length: frameCount }, () => 0);
  // Fill gaps linearly (ends held), so a missed detection is not read as a jump.
  const filled = centre.map((c, i) => {
    if (c) return c;
    const after = known.find((k) => k > i);
    const before = [...known].reverse().find((k) => k < i);
    if (before === undefined) return centre[after!]!;
    if (after === undefined) return centre[before]!;
    const a = centre[before]!, b = centre[after]!, t = (i - before) / (after - before);
    return { x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y), h: a.h + t * (b.h - a.h) };
  });
  const e = filled.map((c, i) => (i === 0 ? 0 : Math.hypot(c.x - filled[i - 1].x, c.y - filled[i - 1].y) / ((c.h + filled[i - 1].h) / 2)));
  if (frameCount > 1) e[0] = e[1];
  return e;
}

/** Centred moving average (window 2r+1, shrinking at the ends). */
export function smoothEnergy(e: number[], radius: number): number[] {
  return e.map((_, i) => {
    let s = 0, n = 0;
    for (let j = Math.max(0, i - radius); j <= Math.min(e.length - 1, i + radius); j++) {
      s += e[j];
      n++;
    }
    return s / n;
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const p = q * (s.length - 1);
  const lo = Math.floor(p), hi = Math.ceil(p);
  return s[lo] + (s[hi] - s[lo]) * (p - lo);
}

function build(frameCount: number, boundaries: number[], overlap: number): Segment[] {
  const labels = segmentLabels(boundaries.length + 1);
  const starts = [0, ...boundaries];
  return starts.map((start, k) => {
    const last = k === starts.length - 1;
    const ov = last ? 0 : overlap;
    return { index: k, label: labels[k], start, end: last ? frameCount : starts[k + 1] + ov, overlap: ov };
  });
}

/**
 * Plans segments for a video of `frameCount` frames. `energy` (one value per
 * frame, e.g. poseMotionEnergy or flowMotionEnergy) drives the boundaries;
 * without it, or when it shows no clear contrast, the split is uniform.
 * Each boundary starts at the uniform cut and moves to the quietest frame
 * (smoothed energy) within +-snapWindow of a uniform segment, keeping every
 * segment at least minLength frames long (without its trailing overlap).
 */
export function planSegments(
  frameCount: number,
  energy: number[] | undefined,
  opts: PlanOptions & { energySource?: MotionEnergySource } = {},
): SegmentPlan {
  const requested = opts.count ?? 3;
  const overlap = opts.overlap ?? 5;
  const minLength = opts.minLength ?? Math.max(2 * overlap + 1, 8);
  const snapWindow = opts.snapWindow ?? 0.35;
  const minContrast = opts.minContrast ?? 1.5;
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new ReshootError(`cannot plan segments for ${frameCount} frames`);
  if (!Number.isInteger(requested) || requested < 1) throw new ReshootError(`segment count must be a whole number >= 1, got ${requested}`);
  if (!Number.isInteger(overlap) || overlap < 0) throw new ReshootError(`overlap must be a whole number >= 0, got ${overlap}`);
  if (!Number.isInteger(minLength) || minLength < 1) throw new ReshootError(`minimum segment length must be a whole number >= 1, got ${minLength}`);
  if (overlap >= minLength) throw new ReshootError(`overlap (${overlap}) must be shorter than the minimum segment length (${minLength})`);
  if (energy && energy.length !== frameCount) throw new ReshootError(`motion energy has ${energy.length} values for ${frameCount} frames`);

  const reasons: string[] = [];
  let count = requested;
  // The last segment carries no trailing overlap, the others do: N segments need N*minLength + overlap... frames
  // counting each segment's own frames; the shared overlap frames are counted once in the next segment.
  const fits = Math.max(1, Math.floor(frameCount / minLength));
  if (fits < requested) {
    if (opts.onShort === 'error') {
      throw new ReshootError(`${frameCount} frames are too few for ${requested} segments of at least ${minLength} frames (at most ${fits} fit)`);
    }
    count = fits;
    reasons.push(`${frameCount} frames fit only ${fits} segment(s) of at least ${minLength} frames, not ${requested}`);
  }
  const source = energy ? opts.energySource ?? 'none' : 'none';
  const uniform = Array.from({ length: count - 1 }, (_, k) => Math.round(((k + 1) * frameCount) / count));
  const done = (method: 'motion' | 'uniform', boundaries: number[], why: string): SegmentPlan => ({
    schema: 'reshoot.segments/1',
    frameCount,
    requestedCount: requested,
    count,
    overlap,
    minLength,
    method,
    reason: [why, ...reasons].join('; '),
    energySource: source,
    boundaries,
    segments: build(frameCount, boundaries, overlap),
    energy: energy ? energy.map((v) => Math.round(v * 1e6) / 1e6) : [],
  });
  if (count === 1) return done('uniform', [], 'one segment: no boundaries');
  if (opts.uniform) return done('uniform', uniform, 'uniform split asked for');
  if (!energy) return done('uniform', uniform, 'uniform fallback: no motion energy given');
  const seg = frameCount / count;
  const smooth = smoothEnergy(energy, Math.max(1, Math.round(seg / 20)));
  if (!(Math.max(...smooth) > 0)) return done('uniform', uniform, 'uniform fallback: no motion measured');
  // Mostly-still clips have median 0: then only frames with no motion at all count as quiet.
  const quiet = quantile(smooth, 0.5) / minContrast;
  const reach = Math.max(0, Math.floor(snapWindow * seg));
  const boundaries: number[] = [];
  let snapped = 0;
  for (let k = 0; k < count - 1; k++) {
    const prev = k === 0 ? 0 : boundaries[k - 1];
    // Room: this segment >= minLength after prev, and the remaining (count-1-k) segments after it.
    const lowest = Math.max(prev + minLength, uniform[k] - reach);
    const highest = Math.min(frameCount - (count - 1 - k) * minLength, uniform[k] + reach);
    const fallback = Math.min(Math.max(uniform[k], lowest), highest);
    let best = fallback;
    for (let b = lowest; b <= highest; b++) {
      // Quietest frame; ties go to the one nearer the uniform cut.
      if (smooth[b] < smooth[best] - 1e-12 || (Math.abs(smooth[b] - smooth[best]) <= 1e-12 && Math.abs(b - uniform[k]) < Math.abs(best - uniform[k]))) best = b;
    }
    // Only a clearly quiet frame is worth moving the cut for.
    if (smooth[best] <= quiet) snapped++;
    else best = fallback;
    boundaries.push(best);
  }
  if (snapped === 0) {
    return done('uniform', uniform, `uniform fallback: no clearly quiet frame (smoothed energy <= median / ${minContrast}) within +-${reach} frames of any uniform cut`);
  }
  return done(
    'motion',
    boundaries,
    `motion-based: ${snapped} of ${count - 1} boundaries snapped to the quietest frame within +-${reach} frames of a uniform cut${snapped < count - 1 ? ' (the others had no clearly quiet frame and stay uniform)' : ''}`,
  );
}

/** Checks a plan read from a file (shape and consistency); returns it typed. */
export function validatePlan(value: unknown, what = 'segment plan'): SegmentPlan {
  const p = value as SegmentPlan;
  if (!p || typeof p !== 'object' || p.schema !== 'reshoot.segments/1' || !Array.isArray(p.segments) || p.segments.length < 1) {
    throw new ReshootError(`${what} is not a reshoot segment plan (schema reshoot.segments/1 with a segments list)`);
  }
  let next = 0;
  p.segments.forEach((s, k) => {
    if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || !Number.isInteger(s.overlap) || s.end <= s.start || s.overlap < 0) {
      throw new ReshootError(`${what}: segment ${k} has a bad range`);
    }
    if (s.start !== next) throw new ReshootError(`${what}: segment ${k} starts at ${s.start}, expected ${next} (previous end minus its overlap)`);
    if (s.overlap > s.end - s.start) throw new ReshootError(`${what}: segment ${k} overlap ${s.overlap} is longer than the segment`);
    next = s.end - s.overlap;
  });
  const last = p.segments[p.segments.length - 1];
  if (last.overlap !== 0) throw new ReshootError(`${what}: the last segment must have overlap 0`);
  if (last.end !== p.frameCount) throw new ReshootError(`${what}: segments end at ${last.end} but the plan says ${p.frameCount} frames`);
  return p;
}

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
  /** Shots (hard cuts split the video): boundaries fall on cuts and do not overlap there. Absent = one shot. */
  shots?: { start: number; end: number }[];
  /** Cuts that fall inside a segment because their shots were too short to stand alone (see reason). */
  cutsInsideSegments?: number[];
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

/** The most segments a plan may have (a generator call each; a guard against all-cut clips). */
export const MAX_SEGMENTS = 64;

/**
 * Plans segments that never span a hard cut: every cut is a segment boundary
 * with no overlap (a cross-fade across a cut would mix two shots). Shots
 * shorter than minLength cannot be a segment of their own; they join the
 * previous shot (the next, for the first) and the cuts inside are listed in
 * `cutsInsideSegments` and the reason. Within each group of shots the usual
 * motion-based plan runs; the requested count is spread over groups in
 * proportion to their length (each group gets at least one).
 */
export function planShotSegments(
  frameCount: number,
  energy: number[] | undefined,
  shots: { start: number; end: number }[],
  opts: PlanOptions & { energySource?: MotionEnergySource } = {},
): SegmentPlan {
  if (shots.length <= 1) return planSegments(frameCount, energy, opts);
  const overlap = opts.overlap ?? 5;
  const minLength = opts.minLength ?? Math.max(2 * overlap + 1, 8);
  const requested = opts.count ?? 3;
  let at = 0;
  for (const sh of shots) {
    if (sh.start !== at || sh.end <= sh.start) throw new ReshootError(`shots must tile the video: a shot starts at ${sh.start}, expected ${at}`);
    at = sh.end;
  }
  if (at !== frameCount) throw new ReshootError(`shots end at ${at} but the video has ${frameCount} frames`);
  // Groups of consecutive shots, each at least minLength long.
  let groups: { start: number; end: number; cuts: number[] }[] = [];
  for (const sh of shots) {
    const last = groups[groups.length - 1];
    if (last && (last.end - last.start < minLength || sh.end - sh.start < minLength)) {
      last.cuts.push(sh.start);
      last.end = sh.end;
    } else groups.push({ start: sh.start, end: sh.end, cuts: [] });
  }
  // A short last group joins the one before it.
  while (groups.length > 1 && groups[groups.length - 1].end - groups[groups.length - 1].start < minLength) {
    const g = groups.pop()!;
    const prev = groups[groups.length - 1];
    prev.cuts.push(g.start, ...g.cuts);
    prev.end = g.end;
  }
  const reasons: string[] = [];
  if (groups.length > MAX_SEGMENTS) {
    reasons.push(`${groups.length} shots are more than ${MAX_SEGMENTS} segments: the shortest neighbours were joined`);
    while (groups.length > MAX_SEGMENTS) {
      let k = 0;
      for (let i = 1; i < groups.length - 1; i++) if (groups[i].end - groups[i - 1].start < groups[k + 1].end - groups[k].start) k = i - 1;
      const [a, b] = [groups[k], groups[k + 1]];
      groups.splice(k, 2, { start: a.start, end: b.end, cuts: [...a.cuts, b.start, ...b.cuts] });
    }
  }
  // Spread the requested count over the groups by length (largest remainder), at least one each.
  const total = Math.min(MAX_SEGMENTS, Math.max(requested, groups.length));
  const lengths = groups.map((g) => g.end - g.start);
  const fits = lengths.map((l) => Math.max(1, Math.floor(l / minLength)));
  const counts = groups.map(() => 1);
  for (let extra = total - groups.length; extra > 0; extra--) {
    let best = -1;
    for (let i = 0; i < groups.length; i++) {
      if (counts[i] >= fits[i]) continue;
      if (best < 0 || lengths[i] / (counts[i] + 1) > lengths[best] / (counts[best] + 1)) best = i;
    }
    if (best < 0) break;
    counts[best]++;
  }
  const segments: Segment[] = [];
  const boundaries: number[] = [];
  let motion = false;
  groups.forEach((g, i) => {
    const sub = planSegments(g.end - g.start, energy?.slice(g.start, g.end), { ...opts, count: counts[i], overlap, minLength });
    if (sub.method === 'motion') motion = true;
    if (i > 0) boundaries.push(g.start);
    boundaries.push(...sub.boundaries.map((b) => b + g.start));
    sub.segments.forEach((sg, j) => {
      const lastInGroup = j === sub.segments.length - 1;
      segments.push({ index: segments.length, label: '', start: sg.start + g.start, end: sg.end + g.start, overlap: lastInGroup ? 0 : sg.overlap });
    });
  });
  const labels = segmentLabels(segments.length);
  segments.forEach((sg, k) => (sg.label = labels[k]));
  const inside = groups.flatMap((g) => g.cuts);
  const planned = segments.length;
  return {
    schema: 'reshoot.segments/1',
    frameCount,
    requestedCount: requested,
    count: planned,
    overlap,
    minLength,
    method: motion ? 'motion' : 'uniform',
    reason: [
      `${shots.length} shots: every cut is a segment boundary without overlap`,
      ...(inside.length ? [`shots shorter than ${minLength} frames were joined, so cuts at ${inside.join(', ')} fall inside segments`] : []),
      ...(planned !== requested ? [`${planned} segments instead of ${requested}`] : []),
      ...reasons,
    ].join('; '),
    energySource: energy ? opts.energySource ?? 'none' : 'none',
    boundaries,
    segments,
    energy: energy ? energy.map((v) => Math.round(v * 1e6) / 1e6) : [],
    shots: shots.map((sh) => ({ start: sh.start, end: sh.end })),
    cutsInsideSegments: inside,
  };
}

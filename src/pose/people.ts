/**
 * Every person in a video, each with a stable id, from the single-pose MoveNet:
 * each known person is followed by a crop around where they are predicted to
 * be (the PoseTracker rule), and new people are found by a detection sweep
 * (the letterboxed frame plus half-size tiles, each answer confirmed by a
 * close-up), repeated with the people already known blacked out so the model
 * shows the next most prominent one. A crop answer belongs to its track only
 * if it looks like the predicted pose (keypoint distance in torso lengths, box
 * overlap): when the subject is occluded and the crop shows a neighbour, the
 * track is marked missed instead of jumping. A track missed for a short time
 * (default 1 s) is re-acquired by a sweep detection near its predicted place
 * with a similar size; after that a new id starts.
 */
import type { Frame, Rational } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { letterboxRegion, type SquareRegion } from './crop.js';
import type { PoseEstimator } from './estimator.js';
import { boxOfValid } from './keypoints.js';
import { OneEuroFilter, type OneEuroParams } from './one-euro.js';
import { cropRegionFromPose, searchTiles } from './track.js';
import type { Box, PoseFrame, PoseTrack } from './types.js';
import { DEFAULT_PLAUSIBILITY, implausibleReason, type PlausibilityRule } from './plausible.js';

export { DEFAULT_PLAUSIBILITY, implausibleReason, type PlausibilityRule };

const LEFT_SHOULDER = 5;
const RIGHT_SHOULDER = 6;
const LEFT_HIP = 11;
const RIGHT_HIP = 12;

/** A person's pose in one frame, with their track id. */
export interface PersonPose extends PoseFrame {
  id: number;
}

export interface PeopleFrame {
  /** Frame index (0-based, in the video). */
  index: number;
  /** Time, s (the `t` passed to next(), else index / fps). */
  t: number;
  /** Confirmed people seen in this frame (a new person appears once confirmed; see `confirmFrames`). */
  people: PersonPose[];
  /** People seen but not yet confirmed (for drawing; they enter `people` and result() once confirmed, this frame included). */
  tentative: PersonPose[];
}

/** One person: the frames where they were seen (found), in order. */
export interface PersonTrack {
  id: number;
  frames: PoseFrame[];
}

export interface PeopleTracks {
  /** Index of the first frame given to the tracker and how many frames it saw. */
  startIndex: number;
  frameCount: number;
  fps: number;
  width: number;
  height: number;
  tracks: PersonTrack[];
  /** Frame indices where reset() was called (hard cuts): ids never continue across them. */
  cuts: number[];
}

/**
 * How the decompose pass (and `reshoot pose --subject`, so that ids agree) tracks everyone: follow crops and sweeps on every 2nd frame with the
 * fast model (lightning) at 30 fps, a miss re-searched only in the regions around the missed person, the frames in
 * between interpolated; decompose then reads the subject again on every frame with the configured model
 * (SubjectRefiner). On the 720p bench clip (vtest, 90 frames, 1 thread) this costs 105 ms CPU per frame
 * against 352 ms for following everyone on every frame with thunder, and finds 85 % of that pass's
 * person boxes (src/pose README "Cost").
 */
export const PEOPLE_PASS = {
  /** Key frames about 1/15 s apart: every 2nd frame at 30 fps, every frame at 10 fps (walkers move too far in 0.2 s for the crop rule). */
  followEvery: (fps: number) => Math.max(1, Math.round(fps / 15)),
  sweepOnMiss: 'local' as const,
  // The model that follows people between detections. Lightning (about 3x cheaper per call) lost the
  // animated characters of Megamind.avi: the subject was found in 23 of 270 frames against 77 with thunder
  // (whole `process` 84 s against 94 s), so the default model follows too.
  fastModel: 'thunder' as 'thunder' | 'lightning',
};

export interface PeopleTrackerOptions {
  fps: number;
  /** One Euro parameters for x/y (per track), or null/undefined for none. */
  smoothing?: OneEuroParams | null;
  /** Index of the first frame passed to next(). Default 0. */
  startIndex?: number;
  /** A crop answer below this mean score counts as a miss. Default 0.2. */
  lostScore?: number;
  /** Run the detection sweep every this many frames (also whenever a track was missed). Default: about every 0.3 s. */
  detectEvery?: number;
  /** Keep a missed track re-acquirable for this long, s. Default 1. */
  maxGap?: number;
  /** A new person is reported after being seen in this many consecutive frames. Default 2 (1 for a single image). */
  confirmFrames?: number;
  /** Plausibility rule for new people. */
  plausibility?: PlausibilityRule;
  /** At most this many people followed at once. Default 12. */
  maxPeople?: number;
  /**
   * Follow and sweep only on every this many frames (key frames; 1 = every frame, the default). Frames in
   * between return no people, and result() fills them by linear interpolation between a track's key frames.
   * The cost is one crop per person per key frame: on a crowd it was most of the decompose pass.
   */
  followEvery?: number;
  /**
   * A miss brings the next sweep forward: true (default) sweeps every region, 'local' only the regions
   * around where the missed people were predicted (a fraction of the calls), false waits for the next
   * periodic sweep (every `detectEvery` frames).
   */
  sweepOnMiss?: boolean | 'local';
  /**
   * A cheaper model for the follow crops and the sweep's first look (e.g. lightning beside thunder); the
   * close-up that confirms a new person still uses the main estimator. Default: the main estimator.
   */
  fastEstimator?: PoseEstimator;
  /**
   * A person detector (PersonDetector, NanoDet) for the sweep: one call on the whole frame instead of the
   * letterbox + 6 tiles in two passes of the pose model; each new box is confirmed by one close-up of the
   * pose model and must pass the plausibility rule, as a sweep answer. Default: none (the pose-model sweep).
   */
  detector?: { detect(frame: Frame): Promise<Box[]> };
}

interface Anchor {
  x: number;
  y: number;
  torso: number;
}

/** Hip centre (else the torso points' mean) and torso length (shoulder-hip midpoints, else box height / 3). */
export function poseAnchor(p: PoseFrame): Anchor | null {
  if (!p.found) return null;
  const k = p.keypoints;
  const mid = (i: number, j: number) =>
    k[i].valid && k[j].valid ? { x: (k[i].x + k[j].x) / 2, y: (k[i].y + k[j].y) / 2 } : k[i].valid ? { x: k[i].x, y: k[i].y } : k[j].valid ? { x: k[j].x, y: k[j].y } : null;
  const hips = mid(LEFT_HIP, RIGHT_HIP);
  const shoulders = mid(LEFT_SHOULDER, RIGHT_SHOULDER);
  const c = hips ?? shoulders;
  if (!c) return null;
  const fromBox = (p.box?.height ?? 0) / 3;
  const torso = hips && shoulders ? Math.max(Math.hypot(hips.x - shoulders.x, hips.y - shoulders.y), fromBox * 0.5) : fromBox;
  return torso > 0 ? { x: c.x, y: c.y, torso } : null;
}

export function boxIoU(a: Box | null, b: Box | null): number {
  if (!a || !b) return 0;
  const x0 = Math.max(a.x, b.x), y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width), y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Median distance between the keypoints valid in both poses, in torso lengths
 * of `a` (Infinity when fewer than 3 are shared). Identity is judged on this
 * and on box overlap: two people side by side have overlapping boxes but
 * keypoints a torso apart.
 */
export function poseDistance(a: PoseFrame, b: PoseFrame): number {
  const an = poseAnchor(a);
  if (!an) return Infinity;
  const d: number[] = [];
  for (let i = 0; i < 17; i++) {
    const p = a.keypoints[i], q = b.keypoints[i];
    if (p.valid && q.valid) d.push(Math.hypot(p.x - q.x, p.y - q.y));
  }
  if (d.length < 3) return Infinity;
  d.sort((x, y) => x - y);
  return d[d.length >> 1] / an.torso;
}

function shifted(p: PoseFrame, dx: number, dy: number): PoseFrame {
  const keypoints = p.keypoints.map((k) => ({ ...k, x: k.x + dx, y: k.y + dy }));
  return { ...p, keypoints, box: p.box ? { ...p.box, x: p.box.x + dx, y: p.box.y + dy } : null };
}

interface TrackState {
  id: number;
  /** Raw poses where seen. */
  frames: PoseFrame[];
  last: PoseFrame;
  lastIndex: number;
  /** Anchor velocity, px per frame. */
  vx: number;
  vy: number;
  /** Consecutive frames seen (for confirmation). */
  streak: number;
  confirmed: boolean;
  filters: OneEuroFilter[] | null;
  smoothed: PoseFrame[];
}

/** A black-out copy of the frame (people already known hidden) so the model shows someone else. */
function blackOut(frame: Frame, boxes: Box[]): Frame {
  const data = frame.data.length === frame.width * frame.height * 3 ? new Uint8Array(frame.data) : frame.data;
  if (data === frame.data) return frame;
  for (const b of boxes) {
    // Valid-keypoint boxes miss the head top and feet soles: widen them.
    const mx = Math.max(0.25 * b.width, 0.1 * b.height), my = 0.12 * b.height;
    const x0 = Math.max(0, Math.floor(b.x - mx)), x1 = Math.min(frame.width - 1, Math.ceil(b.x + b.width + mx));
    const y0 = Math.max(0, Math.floor(b.y - my)), y1 = Math.min(frame.height - 1, Math.ceil(b.y + b.height + my));
    for (let y = y0; y <= y1; y++) data.fill(0, (y * frame.width + x0) * 3, (y * frame.width + x1 + 1) * 3);
  }
  return { width: frame.width, height: frame.height, data };
}

/** Counts of the work done (estimator calls by purpose). */
export interface PeopleTrackerStats {
  cropCalls: number;
  sweepCalls: number;
  closeUpCalls: number;
  /** Sweep detections refused by the plausibility rule or not confirmed by the close-up. */
  rejected: number;
  /** Tracks continued after a gap. */
  reacquired: number;
  /** Crop answers refused because they looked like someone else. */
  refusedSwitch: number;
}

export class PeopleTracker {
  readonly stats: PeopleTrackerStats = { cropCalls: 0, sweepCalls: 0, closeUpCalls: 0, rejected: 0, reacquired: 0, refusedSwitch: 0 };
  private tracks: TrackState[] = [];
  private done: TrackState[] = [];
  private nextId = 1;
  private index: number;
  private readonly startIndex: number;
  private seen = 0;
  private width = 0;
  private height = 0;
  private sinceSweep = Infinity;
  private readonly cuts: number[] = [];
  private readonly lostScore: number;
  private readonly detectEvery: number;
  private readonly maxGapFrames: number;
  private readonly rule: PlausibilityRule;
  private readonly every: number;
  private readonly fast: PoseEstimator;

  constructor(
    private readonly estimator: PoseEstimator,
    private readonly opts: PeopleTrackerOptions,
  ) {
    if (!(opts.fps > 0)) throw new ReshootError(`PeopleTracker needs fps > 0 (got ${opts.fps})`);
    this.index = this.startIndex = opts.startIndex ?? 0;
    this.lostScore = opts.lostScore ?? 0.2;
    this.detectEvery = Math.max(1, Math.round(opts.detectEvery ?? Math.max(1, 0.3 * opts.fps)));
    this.maxGapFrames = Math.max(1, Math.round((opts.maxGap ?? 1) * opts.fps));
    this.rule = opts.plausibility ?? DEFAULT_PLAUSIBILITY;
    this.every = Math.max(1, Math.round(opts.followEvery ?? 1));
    this.fast = opts.fastEstimator ?? estimator;
  }

  /** Forget every track (a hard cut): people after it get new ids. */
  reset(): void {
    this.done.push(...this.tracks);
    this.tracks = [];
    this.sinceSweep = Infinity;
    this.cuts.push(this.index);
  }

  async next(frame: Frame, t?: number): Promise<PeopleFrame> {
    const index = this.index++;
    this.seen++;
    this.width = frame.width;
    this.height = frame.height;
    if (this.every > 1 && (index - this.startIndex) % this.every !== 0) return { index, t: t ?? index / this.opts.fps, people: [], tentative: [] };
    const accepted = new Map<TrackState, PoseFrame>();

    // 1. Follow every known person with a crop around their predicted pose.
    for (const tr of this.tracks) {
      const gap = index - tr.lastIndex;
      const predicted = shifted(tr.last, tr.vx * gap, tr.vy * gap);
      const region = cropRegionFromPose(predicted, frame.width, frame.height) ?? letterboxRegion(frame.width, frame.height);
      this.stats.cropCalls++;
      const p = await this.fast.estimate(frame, { region, index });
      if (!(p.found && p.score >= this.lostScore)) continue;
      if (!this.sameOne(predicted, p, gap / this.every)) {
        this.stats.refusedSwitch++;
        continue;
      }
      accepted.set(tr, p);
    }
    // Two tracks on one person (one was occluded and its crop shows the other): the closer one keeps it.
    const entries = [...accepted.entries()];
    for (let i = 0; i < entries.length; i++) {
      for (let j = i + 1; j < entries.length; j++) {
        const [ta, pa] = entries[i], [tb, pb] = entries[j];
        if (!accepted.has(ta) || !accepted.has(tb)) continue;
        if (boxIoU(pa.box, pb.box) < 0.5 && poseDistance(pa, pb) > 0.3) continue;
        const da = poseDistance(ta.last, pa), db = poseDistance(tb.last, pb);
        accepted.delete(da <= db ? tb : ta);
      }
    }

    // 2. Detection sweep: periodically, and whenever someone was missed.
    const missed = this.tracks.filter((tr) => !accepted.has(tr));
    this.sinceSweep += this.every;
    // A miss brings the sweep forward, but not to every frame (a person who left would cost a sweep per frame).
    const missRule = this.opts.sweepOnMiss ?? true;
    const onMiss = missed.length > 0 && missRule !== false && this.sinceSweep >= Math.min(2, this.detectEvery);
    const periodic = this.sinceSweep >= this.detectEvery;
    if (periodic || onMiss) {
      this.sinceSweep = 0;
      // 'local': only the regions that contain a missed person's predicted hips.
      const near = periodic || missRule !== 'local' ? null : missed.map((tr) => {
        const a = poseAnchor(tr.last);
        const gap = index - tr.lastIndex;
        return a ? { x: a.x + tr.vx * gap, y: a.y + tr.vy * gap } : null;
      }).filter((q): q is { x: number; y: number } => q !== null);
      const found = await this.sweep(frame, index, [...accepted.values()], near);
      for (const p of found) {
        const tr = this.reacquire(p, index, accepted);
        if (tr) {
          accepted.set(tr, p);
          this.stats.reacquired++;
        } else if (this.tracks.length < (this.opts.maxPeople ?? 12)) {
          const nt = this.newTrack(p, index);
          accepted.set(nt, p);
        }
      }
    }

    // 3. Update states; end tracks missed for too long.
    const confirmFrames = this.opts.confirmFrames ?? 2;
    const people: PersonPose[] = [];
    const tentative: PersonPose[] = [];
    for (const tr of this.tracks) {
      const p = accepted.get(tr);
      if (!p) {
        tr.streak = 0;
        continue;
      }
      const a = poseAnchor(tr.last), b = poseAnchor(p);
      const gap = index - tr.lastIndex;
      if (a && b && gap > 0 && tr.frames.length > 0) {
        // Damped velocity: MoveNet's hip jitter would otherwise throw the next crop around.
        tr.vx = 0.5 * tr.vx + 0.5 * ((b.x - a.x) / gap);
        tr.vy = 0.5 * tr.vy + 0.5 * ((b.y - a.y) / gap);
      }
      tr.last = p;
      tr.lastIndex = index;
      tr.frames.push(p);
      tr.streak++;
      tr.smoothed.push(this.smooth(tr, p, index, gap));
      if (!tr.confirmed && tr.streak >= confirmFrames) tr.confirmed = true;
      (tr.confirmed ? people : tentative).push({ ...tr.smoothed[tr.smoothed.length - 1], id: tr.id });
    }
    const keep: TrackState[] = [];
    for (const tr of this.tracks) {
      const alive = index - tr.lastIndex <= this.maxGapFrames && (tr.confirmed || tr.streak > 0);
      if (alive) keep.push(tr);
      else if (tr.confirmed) this.done.push(tr);
    }
    this.tracks = keep;
    people.sort((x, y) => x.id - y.id);
    return { index, t: t ?? index / this.opts.fps, people, tentative };
  }

  /**
   * Is `p` (the crop's answer) the person predicted? Keypoints within 0.6
   * torso lengths (median; more after a gap) and boxes overlapping.
   */
  private sameOne(predicted: PoseFrame, p: PoseFrame, gap: number): boolean {
    const d = poseDistance(predicted, p);
    const iou = boxIoU(predicted.box, p.box);
    return d <= 0.6 + 0.2 * (gap - 1) && iou >= 0.2;
  }

  private async sweep(frame: Frame, index: number, known: PoseFrame[], near: { x: number; y: number }[] | null = null): Promise<PoseFrame[]> {
    if (this.opts.detector) return this.detectorSweep(frame, index, known);
    const { width, height } = frame;
    let regions: SquareRegion[] = [letterboxRegion(width, height), ...searchTiles(width, height)];
    if (near) regions = searchTiles(width, height).filter((r) => near.some((q) => q.x >= r.x && q.x < r.x + r.size && q.y >= r.y && q.y < r.y + r.size));
    const found: PoseFrame[] = [];
    // Regions worth a second look with people hidden: those where the first pass saw someone.
    let busy = regions.map(() => true);
    const isKnown = (p: PoseFrame) => [...known, ...found].some((q) => boxIoU(p.box, q.box) >= 0.3 || poseDistance(q, p) <= 0.5);
    // Pass 1 on the frame; pass 2 with everyone found so far blacked out (MoveNet shows one person per region).
    for (let pass = 0; pass < 2; pass++) {
      const hidden = [...known, ...found].map((q) => q.box).filter((b): b is Box => b !== null);
      if (pass === 1 && hidden.length === 0) break;
      const view = pass === 0 ? frame : blackOut(frame, hidden);
      const seen = regions.map(() => false);
      for (let r = 0; r < regions.length; r++) {
        if (!busy[r]) continue;
        const region = regions[r];
        this.stats.sweepCalls++;
        const p = await this.fast.estimate(view, { region, index });
        seen[r] = p.found;
        if (!p.found || isKnown(p)) continue;
        // Close-up on the candidate (in the real frame): small people get better keypoints, false ones fade.
        const crop = cropRegionFromPose(p, width, height);
        let best = p;
        if (crop) {
          this.stats.closeUpCalls++;
          const q = await this.estimator.estimate(frame, { region: crop, index });
          if (!q.found || q.score < this.lostScore || poseDistance(p, q) > 1) {
            this.stats.rejected++;
            continue;
          }
          if (q.score >= p.score) best = q;
        }
        if (implausibleReason(best, height, this.rule) !== null || isKnown(best)) {
          this.stats.rejected++;
          continue;
        }
        found.push(best);
      }
      busy = seen;
    }
    return found;
  }

  /**
   * The sweep with a person detector: its boxes not already followed, each read by the pose model on a
   * square around the box (the PoseTracker's crop is about 2x the body; 1.5x the box's longer side gives the
   * same margin to a box that already holds the whole body).
   */
  private async detectorSweep(frame: Frame, index: number, known: PoseFrame[]): Promise<PoseFrame[]> {
    const { height } = frame;
    this.stats.sweepCalls++;
    const boxes = await this.opts.detector!.detect(frame);
    const found: PoseFrame[] = [];
    // The detector has already said "person": the keypoint rule only has to confirm a body is there. Its mean
    // score 0.4 and 8 keypoints (set against MoveNet's "people" in windows) refused most people in groups
    // (scores 0.3-0.4 with a neighbour in the crop): 0.25 and 6 here.
    const rule = { ...this.rule, minScore: Math.min(this.rule.minScore, 0.25), minValid: Math.min(this.rule.minValid, 6) };
    const isKnown = (b: Box | null, p?: PoseFrame) => [...known, ...found].some((q) => boxIoU(b, q.box) >= 0.3 || (p !== undefined && poseDistance(q, p) <= 0.5));
    for (const b of boxes) {
      if (b.height < Math.max(this.rule.minBoxPx, this.rule.minBoxFraction * height) || isKnown(b)) continue;
      const size = 1.5 * Math.max(b.width, b.height);
      const region = { x: b.x + b.width / 2 - size / 2, y: b.y + b.height / 2 - size / 2, size };
      this.stats.closeUpCalls++;
      const p = await this.estimator.estimate(frame, { region, index });
      // The pose must be the detected person: its box inside the detection's (not a neighbour in the square).
      if (!p.found || p.score < this.lostScore || implausibleReason(p, height, rule) !== null || boxIoU(p.box, b) < 0.3 || isKnown(p.box, p)) {
        this.stats.rejected++;
        continue;
      }
      found.push(p);
    }
    return found;
  }

  /** A missed track whose predicted pose is near p with a similar size, else null. */
  private reacquire(p: PoseFrame, index: number, taken: Map<TrackState, PoseFrame>): TrackState | null {
    const b = poseAnchor(p);
    if (!b) return null;
    let best: TrackState | null = null;
    let bestD = Infinity;
    for (const tr of this.tracks) {
      if (taken.has(tr) || !tr.confirmed) continue;
      const gap = index - tr.lastIndex;
      const a = poseAnchor(tr.last);
      if (!a) continue;
      const px = a.x + tr.vx * gap, py = a.y + tr.vy * gap;
      const d = Math.hypot(b.x - px, b.y - py) / a.torso;
      const ratio = b.torso / a.torso;
      if (d <= 1 + 0.25 * (gap / this.every) && ratio > 0.6 && ratio < 1.6 && d < bestD) {
        best = tr;
        bestD = d;
      }
    }
    return best;
  }

  private newTrack(p: PoseFrame, index: number): TrackState {
    const tr: TrackState = {
      id: this.nextId++,
      frames: [],
      last: p,
      lastIndex: index,
      vx: 0,
      vy: 0,
      streak: 0,
      confirmed: false,
      filters: this.opts.smoothing ? Array.from({ length: 34 }, () => new OneEuroFilter(this.opts.smoothing!)) : null,
      smoothed: [],
    };
    this.tracks.push(tr);
    return tr;
  }

  private smooth(tr: TrackState, raw: PoseFrame, index: number, gap: number): PoseFrame {
    if (!tr.filters) return raw;
    const t = index / this.opts.fps;
    const keypoints = raw.keypoints.map((k, i) => {
      const fx = tr.filters![2 * i], fy = tr.filters![2 * i + 1];
      if (!k.valid || gap > this.every) {
        // Nothing is invented across a gap or an invalid point: the filter restarts.
        fx.reset();
        fy.reset();
      }
      return k.valid ? { ...k, x: fx.filter(k.x, t), y: fy.filter(k.y, t) } : { ...k };
    });
    return { ...raw, keypoints, box: boxOfValid(keypoints) };
  }

  /** Key frames interpolated; a person seen on the last key frame is held over the frames after it (the video's tail). */
  private filled(frames: PoseFrame[]): PoseFrame[] {
    const out = fillBetweenKeys(frames, this.every);
    const lastSeen = this.startIndex + this.seen - 1;
    const lastKey = lastSeen - ((lastSeen - this.startIndex) % this.every);
    const tail = out[out.length - 1];
    if (tail && tail.index === lastKey) for (let index = lastKey + 1; index <= lastSeen; index++) out.push({ ...tail, index });
    return out;
  }

  /** Every confirmed person so far (ids in order of appearance, renumbered 1..n without gaps). */
  result(): PeopleTracks {
    const all = [...this.done, ...this.tracks].filter((t) => t.confirmed).sort((a, b) => a.id - b.id);
    return {
      startIndex: this.startIndex,
      frameCount: this.seen,
      fps: this.opts.fps,
      width: this.width,
      height: this.height,
      tracks: all.map((t) => ({ id: t.id, frames: this.every > 1 ? this.filled(t.smoothed) : t.smoothed.map((f) => ({ ...f })) })),
      cuts: [...this.cuts],
    };
  }
}

/**
 * The subject read again on every frame with the main model after a coarse people pass (PeopleTracker with
 * `followEvery` > 1 and/or a fast model): a crop around the coarse pose (a key-frame answer or an
 * interpolation between two), accepted when it looks like it (the tracker's rule: keypoints within 0.6 torso
 * lengths, boxes overlapping), else the coarse pose is kept. One Euro smoothing (optional) restarts after a
 * frame without the subject and at a cut. One model call per frame the subject is in.
 */
export class SubjectRefiner {
  readonly stats = { refined: 0, keptCoarse: 0 };
  private filters: OneEuroFilter[] | null;
  private lastFound = -2;
  private readonly cuts: Set<number>;

  constructor(
    private readonly estimator: PoseEstimator,
    private readonly opts: { fps: number; smoothing?: OneEuroParams | null; cuts?: readonly number[]; lostScore?: number },
  ) {
    if (!(opts.fps > 0)) throw new ReshootError(`SubjectRefiner needs fps > 0 (got ${opts.fps})`);
    this.filters = opts.smoothing ? Array.from({ length: 34 }, () => new OneEuroFilter(opts.smoothing!)) : null;
    this.cuts = new Set(opts.cuts ?? []);
  }

  /** The subject in `frame`, given the coarse pose for the same frame (found=false: nobody, no model call). */
  async next(frame: Frame, coarse: PoseFrame): Promise<PoseFrame> {
    const index = coarse.index;
    if (!coarse.found) return { ...coarse };
    const region = cropRegionFromPose(coarse, frame.width, frame.height);
    let raw = coarse;
    if (region) {
      const p = await this.estimator.estimate(frame, { region, index });
      if (p.found && p.score >= (this.opts.lostScore ?? 0.2) && poseDistance(coarse, p) <= 0.6 && boxIoU(coarse.box, p.box) >= 0.2) raw = p;
    }
    if (raw === coarse) this.stats.keptCoarse++;
    else this.stats.refined++;
    const restart = this.lastFound !== index - 1 || this.cuts.has(index);
    this.lastFound = index;
    if (!this.filters) return { ...raw };
    const t = index / this.opts.fps;
    const keypoints = raw.keypoints.map((k, i) => {
      const fx = this.filters![2 * i], fy = this.filters![2 * i + 1];
      if (!k.valid || restart) {
        fx.reset();
        fy.reset();
      }
      return k.valid ? { ...k, x: fx.filter(k.x, t), y: fy.filter(k.y, t) } : { ...k };
    });
    return { ...raw, keypoints, box: boxOfValid(keypoints) };
  }
}

/**
 * A track seen on key frames `every` apart, with the frames in between filled by linear interpolation
 * (only between consecutive key frames: a miss stays a gap). A keypoint is valid where it is valid at both
 * ends; the box is the valid keypoints' box.
 */
export function fillBetweenKeys(frames: readonly PoseFrame[], every: number): PoseFrame[] {
  const out: PoseFrame[] = [];
  for (let i = 0; i < frames.length; i++) {
    const a = frames[i];
    out.push({ ...a });
    const b = frames[i + 1];
    if (!b || b.index - a.index <= 1 || b.index - a.index > every) continue;
    for (let index = a.index + 1; index < b.index; index++) out.push(interpolatePose(a, b, index));
  }
  return out;
}

function interpolatePose(a: PoseFrame, b: PoseFrame, index: number): PoseFrame {
  const w = (index - a.index) / (b.index - a.index);
  const lerp = (x: number, y: number) => x + w * (y - x);
  const keypoints = a.keypoints.map((k, i) => {
    const q = b.keypoints[i];
    return { x: lerp(k.x, q.x), y: lerp(k.y, q.y), score: Math.min(k.score, q.score), valid: k.valid && q.valid };
  });
  return { index, found: true, box: boxOfValid(keypoints), score: lerp(a.score, b.score), keypoints };
}

/**
 * Splits every track at the hard cuts (first frames of new shots): the part
 * after a cut gets a new id (numbered on from the largest id), so ids never
 * continue across a cut even when the tracker ran without reset() (a cut is
 * only known once frames after it were seen). Tracks are sorted by id, as in
 * result(); `cuts` records the cuts.
 */
export function splitTracksAtCuts(people: PeopleTracks, cuts: readonly number[]): PeopleTracks {
  const sorted = [...new Set(cuts)].sort((a, b) => a - b);
  const shotOf = (index: number) => {
    let k = 0;
    while (k < sorted.length && sorted[k] <= index) k++;
    return k;
  };
  let nextId = people.tracks.reduce((m, t) => Math.max(m, t.id), 0) + 1;
  const parts: PersonTrack[] = [];
  for (const t of people.tracks) {
    let current: PersonTrack | null = null;
    let shot = -1;
    for (const f of t.frames) {
      const s = shotOf(f.index);
      if (!current || s !== shot) {
        current = { id: current ? nextId++ : t.id, frames: [] };
        parts.push(current);
        shot = s;
      }
      current.frames.push(f);
    }
  }
  parts.sort((a, b) => a.id - b.id);
  return { ...people, tracks: parts, cuts: [...new Set([...people.cuts, ...sorted])].sort((a, b) => a - b) };
}

export type SubjectRule = 'auto' | 'largest' | 'center' | { x: number; y: number } | { id: number };

function notFoundFrame(index: number): PoseFrame {
  return { index, found: false, box: null, score: 0, keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0, valid: false })) };
}

function describeTracks(people: PeopleTracks): string {
  if (people.tracks.length === 0) return 'no person was found';
  return people.tracks
    .map((t) => {
      const f = t.frames[0];
      const b = f.box;
      return `#${t.id} from frame ${f.index}${b ? ` box x=${b.x.toFixed(0)} y=${b.y.toFixed(0)} ${b.width.toFixed(0)}x${b.height.toFixed(0)}` : ''}`;
    })
    .join('; ');
}

/** Parses the CLI form of a subject rule: auto | largest | center | <x>,<y> | <id>. */
export function parseSubjectRule(s: string): SubjectRule {
  const v = s.trim();
  if (v === 'auto' || v === 'largest' || v === 'center') return v;
  const xy = /^(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)$/.exec(v);
  if (xy) return { x: Number(xy[1]), y: Number(xy[2]) };
  if (/^\d+$/.test(v)) return { id: Number(v) };
  throw new ReshootError(`--subject must be auto, largest, center, <x>,<y> (pixels) or a track id; got "${s}"`);
}

export function subjectRuleText(rule: SubjectRule): string {
  if (typeof rule === 'string') return rule;
  return 'id' in rule ? String(rule.id) : `${rule.x},${rule.y}`;
}

const medianOf = (a: number[]) => {
  const s = a.slice().sort((x, y) => x - y);
  return s.length ? s[s.length >> 1] : 0;
};

/**
 * The subject among the tracked people, as today's single-subject track
 * (one frame per frame the tracker saw, found=false where the subject is absent).
 * - auto: the largest, longest-visible person: frames seen x median box height.
 * - largest: the largest median box height.
 * - center: the person whose median box centre is nearest the frame centre.
 * - {x, y}: the person whose box (first frame where any box contains the point,
 *   else nearest median centre within one box height) contains the point.
 * - {id}: that track.
 * A rule pointing at nobody is a ReshootError listing the tracks with their
 * first-frame boxes. With no people at all, 'auto'/'largest'/'center' give
 * id -1 and a track with every frame not found.
 */
export function selectSubject(people: PeopleTracks, rule: SubjectRule): { id: number; track: PoseTrack } {
  const heights = (t: PersonTrack) => medianOf(t.frames.map((f) => f.box?.height ?? 0));
  const centre = (t: PersonTrack) => ({
    x: medianOf(t.frames.map((f) => (f.box ? f.box.x + f.box.width / 2 : NaN)).filter(Number.isFinite)),
    y: medianOf(t.frames.map((f) => (f.box ? f.box.y + f.box.height / 2 : NaN)).filter(Number.isFinite)),
  });
  let chosen: PersonTrack | undefined;
  const ts = people.tracks;
  if (typeof rule === 'string') {
    if (!['auto', 'largest', 'center'].includes(rule)) throw new ReshootError(`unknown subject rule "${rule}"`);
    if (ts.length) {
      const score =
        rule === 'auto' ? (t: PersonTrack) => t.frames.length * heights(t)
        : rule === 'largest' ? heights
        : (t: PersonTrack) => {
            const c = centre(t);
            return -Math.hypot(c.x - people.width / 2, c.y - people.height / 2);
          };
      chosen = ts.reduce((a, b) => (score(b) > score(a) ? b : a));
    }
  } else if ('id' in rule) {
    chosen = ts.find((t) => t.id === rule.id);
    if (!chosen) throw new ReshootError(`--subject ${rule.id}: no track has that id; tracks found: ${describeTracks(people)}`);
  } else {
    const inside = (b: Box | null) => !!b && rule.x >= b.x && rule.x <= b.x + b.width && rule.y >= b.y && rule.y <= b.y + b.height;
    let firstHit = Infinity;
    for (const t of ts) {
      const f = t.frames.find((q) => inside(q.box));
      if (f && f.index < firstHit) {
        firstHit = f.index;
        chosen = t;
      }
    }
    if (!chosen) {
      let best = Infinity;
      for (const t of ts) {
        const c = centre(t);
        const d = Math.hypot(c.x - rule.x, c.y - rule.y);
        if (d <= heights(t) && d < best) {
          best = d;
          chosen = t;
        }
      }
    }
    if (!chosen) throw new ReshootError(`--subject ${rule.x},${rule.y}: nobody is at that point; tracks found: ${describeTracks(people)}`);
  }
  const byIndex = new Map((chosen?.frames ?? []).map((f) => [f.index, f]));
  const frames: PoseFrame[] = [];
  for (let i = 0; i < people.frameCount; i++) {
    const index = people.startIndex + i;
    frames.push(byIndex.get(index) ?? notFoundFrame(index));
  }
  const fps = rationalOf(people.fps);
  return {
    id: chosen?.id ?? -1,
    track: {
      schema: 'reshoot.poses/1',
      source: { path: '', width: people.width, height: people.height, fps, frameCount: people.frameCount },
      model: { id: '', inputSize: 0, provider: '' },
      minScore: 0,
      smoothing: null,
      frames,
    },
  };
}

/** fps as a rational (exact for integers and the NTSC rates). */
export function rationalOf(fps: number): Rational {
  for (const den of [1, 1001, 100, 1000]) {
    const num = Math.round(fps * den);
    if (Math.abs(num / den - fps) < 1e-9) return { num, den };
  }
  return { num: Math.round(fps * 1000), den: 1000 };
}
